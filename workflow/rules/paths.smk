# Every path template of the pipeline (one place), and what each wildcard may match.
import re

MANIFEST_PATH = "results/models/{model}/manifest.json"
TINY_WEIGHTS_PATH = "results/models/{model}/weights"
BENCHMARK_PATH = "data/benchmarks/{benchmark}.parquet"
GENERATIONS_PATH = "results/{model}/{benchmark}/generations/shard-{shard}.parquet"
RULE_GRADES_PATH = (
    "results/{model}/{benchmark}/{variant}/rule_grades/shard-{shard}.parquet"
)
# an import's samples' origin and own verdicts, and what was matched (import_generations)
IMPORTED_PATH = "results/{model}/{benchmark}/imported.parquet"
IMPORT_REPORT_PATH = "results/{model}/{benchmark}/imported.md"
VERDICTS_PATH = "results/{model}/{benchmark}/{variant}/verdicts.parquet"
AUDIT_MD_PATH = "results/{model}/{benchmark}/{variant}/verifier_audit.md"
AUDIT_JSON_PATH = "results/{model}/{benchmark}/{variant}/verifier_audit.json"
METRICS_PATH = "results/{model}/{benchmark}/{variant}/metrics.parquet"
METRICS_JSON_PATH = "results/{model}/{benchmark}/{variant}/metrics.json"
SCORES_PATH = "results/{model}/{benchmark}/scores.parquet"
ACCURACY_TABLE_PATH = "results/tables/accuracy.{ext}"
SCORES_TABLE_PATH = "results/tables/scores.{ext}"
COMPARISON_PATH = "results/tables/{comparison}.{ext}"
PROBLEMS_PATH = "results/problems/{benchmark}.{ext}"
PLOT_PASS_AT_K_PATH = "results/plots/pass_at_k/{benchmark}.{ext}"
PLOT_LENGTHS_PATH = "results/plots/lengths/{model}.{ext}"
PLOT_STEPS_PATH = "results/plots/steps/{benchmark}.{ext}"
PROVENANCE_PATH = "results/provenance.json"
COST_PATH = "results/tables/cost.{ext}"
SWEEP_TABLE_PATH = "results/tables/sweep.{ext}"
OVERLAP_PATH = "results/tables/overlap.{ext}"
OVERLAP_SUMMARY_PATH = "results/tables/overlap_summary.csv"
OVERLAP_ACCURACY_PATH = "results/tables/overlap_accuracy.{ext}"
TRUNCATION_PATH = "results/tables/truncation.{ext}"
SAMPLES_NEEDED_PATH = "results/tables/samples_needed.{ext}"
COVERAGE_PATH = "results/tables/coverage.{ext}"
PLOT_COVERAGE_PATH = "results/plots/coverage/{benchmark}.{ext}"
CHECKPOINT_CHANGES_PATH = "results/tables/checkpoint_changes.{ext}"
# the budget curve: each sample cut at each budget and graded again, the cut texts the
# rule grader rejects as a benchmark of their own for the verifier, and its verdicts
BUDGET_GRADES_PATH = "results/{model}/{benchmark}/{variant}/budget/grades.parquet"
BUDGET_CUT_PATH = "results/{model}/{benchmark}/{variant}/budget/cut-{part}.parquet"
BUDGET_VERDICTS_PATH = (
    "results/{model}/{benchmark}/{variant}/budget/verifier_verdicts.parquet"
)
BUDGET_AUDIT_MD_PATH = "results/{model}/{benchmark}/{variant}/budget/verifier_audit.md"
BUDGET_AUDIT_JSON_PATH = (
    "results/{model}/{benchmark}/{variant}/budget/verifier_audit.json"
)
BUDGET_STATS_PATH = (
    "results/runtime/model_grade_budget/{model}/{benchmark}/{variant}.engine.json"
)
BUDGET_TABLE_PATH = "results/tables/budget.{ext}"
PLOT_BUDGET_PATH = "results/plots/budget/{benchmark}.{ext}"
# An engine job's Snakemake benchmark file (.tsv: wall time, memory) and what its
# engine spent (.engine.json), side by side: the cost table reads both.
GENERATE_BENCHMARK_PATH = (
    "results/runtime/generate/{model}/{benchmark}/shard-{shard}.tsv"
)
GENERATE_STATS_PATH = (
    "results/runtime/generate/{model}/{benchmark}/shard-{shard}.engine.json"
)
MODEL_GRADE_BENCHMARK_PATH = (
    "results/runtime/model_grade/{model}/{benchmark}/{variant}.tsv"
)
MODEL_GRADE_STATS_PATH = (
    "results/runtime/model_grade/{model}/{benchmark}/{variant}.engine.json"
)
# the results page: index.html, the headline table alone (the report's landing page
# shows it), and one folder per (model, benchmark) with its problems, sample by sample
PAGE_PATH = "results/index.html"
PAGE_HEADLINE_PATH = "results/page/headline.html"
PROBLEM_VIEW_PATH = "results/page/{model}/{benchmark}"
# what the experiment trackers (MLflow, W&B) were sent, where tracking is on
TRACKERS_RECEIPT_PATH = "results/trackers.json"
LOGS_DIR = "results/logs"
RUNTIME_DIR = "results/runtime"
# content hashes of local model folders, checked by size and mtime first
WEIGHTS_CACHE_DIR = "results/cache/weights"
# hashes of the rows local benchmark sources give, checked by size and mtime first
BENCHMARK_CACHE_DIR = "results/cache/benchmarks"

TABLE_FORMATS = ["md", "csv", "tex", "parquet"]
COMPARISON_NAMES = ["published", "paired", "variants"]
PLOT_FORMATS = ["png", "svg"]


def _project_file(relative):
    """A file shipped with the project, relative to the working directory when the
    run is inside the project (so a copied or moved run reruns nothing)."""
    path = (PROJECT_DIR / relative).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


PUBLISHED_PATH = _project_file("data/justrl_published.csv")


def _alternation(names):
    """A regex matching exactly the given names (nothing if there are none)."""
    names = sorted(names, key=len, reverse=True)
    return "|".join(map(re.escape, names)) if names else "(?!x)x"


wildcard_constraints:
    model=_alternation(PLAN.all_models),
    benchmark=_alternation(PLAN.benchmarks),
    variant=_alternation(PLAN.variants),
    shard=r"0|[1-9]\d*",


HUB_OR_LOCAL_MODELS = _alternation(PLAN.aliases("hub") + PLAN.aliases("path"))
TINY_MODELS = _alternation(PLAN.aliases("tiny"))
SAMPLED_MODELS = _alternation(m for m, s in PLAN.models.items() if s.generates)
IMPORTED_MODELS = _alternation(PLAN.aliases("import"))
GRADED_VARIANTS = _alternation(v.name for v in PLAN.variants.values() if not v.provided)
PROVIDED_VARIANTS = _alternation(v.name for v in PLAN.variants.values() if v.provided)
STEP_PLOTS = any(m.step is not None for m in PLAN.models.values())
COVERAGE_PAIRS = PLAN.coverage_pairs()
BUDGET_MODELS = [m for m in PLAN.models if PLAN.budgets(m)]
TRACKERS_ON = any(
    isinstance(t, dict) and t.get("enabled") for t in config["trackers"].values()
)
# variants whose verifier judges the budget's cut texts
VERIFIED_VARIANTS = _alternation(
    v.name for v in PLAN.variants.values() if v.verifier is not None
)
