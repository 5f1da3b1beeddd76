import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The justeval package lives next to the rules: importable here, and in every
# job's `python -m justeval` (installed or not, under --sdm conda too).
PROJECT_DIR = Path(workflow.basedir)
PACKAGE_DIR = PROJECT_DIR / "workflow"
sys.path.insert(0, str(PACKAGE_DIR))

from justeval.benchmarks import BenchmarkError, check_pin
from justeval.config import (
    ConfigError,
    build_plan,
    check_schema,
    check_writable,
    coerce_strings,
)
from justeval.hashing import canonical_json, settings_hash
from justeval.stage_code import code_version

RULE_NAMES = {
    "all",
    "download_model",
    "build_tiny_model",
    "prepare_benchmark",
    "generate",
    "import_generations",
    "rule_grade",
    "model_grade",
    "provided_verdicts",
    "aggregate",
    "collect_scores",
    "table",
    "compare",
    "drilldown",
    "plot_pass_at_k",
    "plot_lengths",
    "plot_steps",
    "provenance",
}

# Short, one-line errors naming the key first; then the schema fills defaults.
try:
    coerce_strings(config, PACKAGE_DIR / "schemas" / "config.schema.yaml")
    check_schema(config, PACKAGE_DIR / "schemas" / "config.schema.yaml")
    validate(config, schema="../schemas/config.schema.yaml")
    PLAN = build_plan(config, PROJECT_DIR, RULE_NAMES)
    if config["model_grade"]["cache"] and any(
        v.verifier is not None for v in PLAN.variants.values()
    ):
        check_writable(config["model_grade"]["cache"], "model_grade.cache")
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# Code versions of the stages whose code decides results (the table of which
# modules decide what is justeval.stage_code). Editing a grader regrades;
# editing the engine wrapper never regenerates.
PREPARE_VERSION = code_version("prepare_benchmark")
IMPORT_VERSION = code_version("import_generations")
GRADER_VERSION = code_version("rule_grade")
VERDICT_PARSER_VERSION = code_version("model_grade")
METRICS_VERSION = code_version("aggregate")
REPORT_VERSION = code_version("report") + code_version("plots")

# Settings that do not change results reach the jobs as resources, which
# Snakemake does not track: changing them never reruns anything.
ENGINE_OPTIONS = canonical_json(config["engine"])
HUB_CACHE = config["hub_cache"] or "default"
VERIFIER_CACHE = config["model_grade"]["cache"]


def _git_commit():
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(PROJECT_DIR),
                "describe",
                "--always",
                "--dirty",
                "--abbrev=40",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


# Provenance written into every file's metadata: the config and the commit that
# produced it. Handed to jobs through the environment, so it never reruns one.
PROVENANCE = canonical_json(
    {"config_sha256": settings_hash(config, length=64), "git_commit": _git_commit()}
)
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={shlex.quote(str(PACKAGE_DIR))}"
    "${{PYTHONPATH:+:$PYTHONPATH}}; "
    # the prefix is formatted like a shell command: braces are doubled
    f"export JUSTEVAL_PROVENANCE={shlex.quote(PROVENANCE).replace('{', '{{').replace('}', '}}')}; "
)


# ---------------------------------------------------------------- paths

MANIFEST = "results/models/{model}/manifest.json"
TINY_WEIGHTS = "results/models/{model}/weights"
BENCHMARK = "data/benchmarks/{benchmark}.parquet"
GENERATIONS = "results/{model}/{benchmark}/generations/shard-{shard}.parquet"
RULE_GRADES = "results/{model}/{benchmark}/{variant}/rule_grades/shard-{shard}.parquet"
VERDICTS = "results/{model}/{benchmark}/{variant}/verdicts.parquet"
AUDIT_MD = "results/{model}/{benchmark}/{variant}/verifier_audit.md"
AUDIT_JSON = "results/{model}/{benchmark}/{variant}/verifier_audit.json"
METRICS = "results/{model}/{benchmark}/{variant}/metrics.parquet"
METRICS_JSON = "results/{model}/{benchmark}/{variant}/metrics.json"
SCORES = "results/{model}/{benchmark}/scores.parquet"
TABLE = "results/tables/accuracy.{ext}"
SCORES_TABLE = "results/tables/scores.{ext}"
TABLE_FORMATS = ["md", "csv", "tex", "parquet"]
COMPARISONS = "results/tables/{comparison}.{ext}"
COMPARISON_NAMES = ["published", "paired", "variants"]
PROBLEMS = "results/problems/{benchmark}.{ext}"
PLOT_PASS_AT_K = "results/plots/pass_at_k/{benchmark}.{ext}"
PLOT_LENGTHS = "results/plots/lengths/{model}.{ext}"
PLOT_STEPS = "results/plots/steps/{benchmark}.{ext}"
PLOT_FORMATS = ["png", "svg"]
PROVENANCE_FILE = "results/provenance.json"


def _project_file(relative):
    """A file shipped with the project, relative to the working directory when the
    run is inside the project (so a copied or moved run reruns nothing)."""
    path = (PROJECT_DIR / relative).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


PUBLISHED = _project_file("data/justrl_published.csv")
LOGS = "results/logs"
RUNTIME = "results/runtime"


def _alternation(names):
    """A regex matching exactly the given names (nothing if there are none)."""
    names = sorted(names, key=len, reverse=True)
    return "|".join(map(re.escape, names)) if names else "(?!x)x"


# A local model folder changed in place (weights overwritten, a config fixed) is
# noticed: its content hash is part of the model's identity, so its manifest and
# everything sampled from it are redone. Sizes and mtimes are compared first.
for _model, _files in PLAN.fingerprint_local_models("results/cache/weights").items():
    print(
        f"justeval: model {_model}: {', '.join(_files[:5])} changed in place since the last run; "
        "its manifest and generations are redone",
        file=sys.stderr,
    )

# sha256 pins are checked before any job starts, and before anything is deleted
try:
    for _bench in PLAN.benchmarks.values():
        check_pin(
            _bench.name,
            _bench.source,
            _bench.sha256,
            BENCHMARK.format(benchmark=_bench.name),
        )
except BenchmarkError as error:
    raise WorkflowError(f"config error: {error}") from None


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


# ---------------------------------------------------------------- params


def model_settings(wildcards):
    """What identifies a model's weights (revision, folder, tiny recipe)."""
    return canonical_json(PLAN.all_models[wildcards.model].identity())


def benchmark_settings(wildcards):
    """What the prepared file depends on; a sha256 pin only checks (see check_pin)."""
    bench = PLAN.benchmarks[wildcards.benchmark]
    return canonical_json(
        {"source": bench.source, "limit": bench.limit, "version": PREPARE_VERSION}
    )


def benchmark_pin(wildcards):
    return PLAN.benchmarks[wildcards.benchmark].sha256 or "none"


def generation_settings(wildcards):
    return PLAN.shard_settings(
        wildcards.model, wildcards.benchmark, int(wildcards.shard)
    )


def import_settings(wildcards):
    spec = PLAN.models[wildcards.model]
    bench = PLAN.benchmarks[wildcards.benchmark]
    start, stop = bench.shard_samples(int(wildcards.shard))
    return canonical_json(
        {
            "format": spec.imported["format"],
            "tokenizer": spec.imported.get("tokenizer"),
            "samples": [start, stop],
            "n_samples": bench.n_samples,
            "version": IMPORT_VERSION,
        }
    )


def provided_settings(wildcards):
    return canonical_json({"version": IMPORT_VERSION})


def rule_grade_settings(wildcards):
    return PLAN.rule_grade_settings(wildcards.variant, GRADER_VERSION)


def model_grade_settings(wildcards):
    return PLAN.model_grade_settings(wildcards.variant, VERDICT_PARSER_VERSION)


def aggregate_settings(wildcards):
    bench = PLAN.benchmarks[wildcards.benchmark]
    agg = config["aggregate"]
    return canonical_json(
        {
            "n_samples": bench.n_samples,
            "pass_k": PLAN.pass_k(bench.name),
            "bootstrap_samples": agg["bootstrap_samples"],
            "seed": agg["seed"],
            "clustering": PLAN.clustering_grader(wildcards.variant),
            "version": METRICS_VERSION,
        }
    )


def drilldown_settings(wildcards):
    """The primary variant's rule grader groups each problem's answers."""
    return canonical_json(
        {**PLAN.clustering_grader(PLAN.primary.name), "version": GRADER_VERSION}
    )


def layout_settings(wildcards=None):
    """What the cross-model files show: models, benchmarks, variants, comparisons."""
    agg = config["aggregate"]
    return canonical_json(
        {
            "models": {
                m: {"step": s.step, "run": s.run, "published": s.published}
                for m, s in PLAN.models.items()
            },
            "benchmarks": {b: PLAN.benchmarks[b].n_samples for b in PLAN.benchmarks},
            # canonical JSON sorts keys: the config order is said separately
            "order": {"models": list(PLAN.models), "benchmarks": list(PLAN.benchmarks)},
            "variants": list(PLAN.variants),
            "compare": agg["compare"],
            "bootstrap_samples": agg["bootstrap_samples"],
            "seed": agg["seed"],
            "version": METRICS_VERSION,
            "report_version": REPORT_VERSION,
        }
    )


# ---------------------------------------------------------------- resources
# Cluster requests of the engine jobs; a retried job asks for more time and memory.


def engine_options(wildcards):
    """Throughput options of an engine job, with the server of an endpoint model."""
    spec = PLAN.all_models.get(wildcards.model)
    if spec is not None and spec.source == "endpoint":
        return canonical_json({**config["engine"], "endpoint": spec.endpoint})
    return ENGINE_OPTIONS


def engine_runtime_generate(wildcards, attempt):
    return 720 * attempt


def engine_runtime_model_grade(wildcards, attempt):
    return 120 * attempt


def engine_mem_mb(wildcards, attempt):
    return 32000 * attempt


# ---------------------------------------------------------------- inputs


def benchmark_source_file(wildcards):
    """The local source file of a benchmark (URL sources have no input file)."""
    bench = PLAN.benchmarks[wildcards.benchmark]
    return [] if bench.is_url() else [bench.source]


def _manifest_input(spec):
    """A model's manifest as an input. A re-download of a hub or tiny model never
    redoes what used it (ancient); a local folder's manifest is rewritten only when
    its files' content changed (its fingerprint is in download_model's params), and
    then everything that used the old weights is redone."""
    path = MANIFEST.format(model=spec.alias)
    return path if spec.source == "path" else ancient(path)


def model_manifest(wildcards):
    """The manifest of a model whose weights the pipeline loads (endpoints have none)."""
    spec = PLAN.models[wildcards.model]
    return _manifest_input(spec) if spec.local_weights else []


def import_file(wildcards):
    return PLAN.models[wildcards.model].imported["files"][wildcards.benchmark]


def _shards(pattern, wildcards):
    n = PLAN.benchmarks[wildcards.benchmark].n_shards
    return expand(
        pattern,
        model=wildcards.model,
        benchmark=wildcards.benchmark,
        variant=getattr(wildcards, "variant", ""),
        shard=range(n),
    )


def generation_shards(wildcards):
    return _shards(GENERATIONS, wildcards)


def rule_grade_shards(wildcards):
    return _shards(RULE_GRADES, wildcards)


def _verifier(wildcards):
    return PLAN.variants[wildcards.variant].verifier


def verifier_manifest(wildcards):
    verifier = _verifier(wildcards)
    return [] if verifier is None else _manifest_input(verifier)


def verifier_prompt(wildcards):
    if _verifier(wildcards) is None:
        return []
    return [str(PLAN.verifier_prompt_path(wildcards.variant))]


def model_metrics(wildcards):
    return [
        METRICS.format(model=wildcards.model, benchmark=wildcards.benchmark, variant=v)
        for v in PLAN.model_variants(wildcards.model)
    ]


def all_scores(wildcards=None):
    return [SCORES.format(model=m, benchmark=b) for m, b in PLAN.pairs()]


def all_metrics(wildcards=None):
    return [
        METRICS.format(model=m, benchmark=b, variant=v)
        for m, b in PLAN.pairs()
        for v in PLAN.model_variants(m)
    ]


def all_verdicts(wildcards=None):
    return [
        VERDICTS.format(model=m, benchmark=b, variant=v)
        for m, b in PLAN.pairs()
        for v in PLAN.model_variants(m)
    ]


def benchmark_verdicts(wildcards):
    """Primary-variant verdicts of every model on one benchmark (drill-down)."""
    primary = PLAN.primary.name
    return [
        VERDICTS.format(model=m, benchmark=wildcards.benchmark, variant=primary)
        for m, b in PLAN.pairs()
        if b == wildcards.benchmark
    ]


def model_primary_verdicts(wildcards):
    """Primary-variant verdicts of one model on each of its benchmarks (length plots)."""
    primary = PLAN.primary.name
    return [
        VERDICTS.format(model=wildcards.model, benchmark=b, variant=primary)
        for b in PLAN.model_benchmarks(wildcards.model)
    ]


def benchmark_metrics(wildcards):
    """Primary-variant metrics of every model on one benchmark (pass@k plots)."""
    primary = PLAN.primary.name
    return [
        METRICS.format(model=m, benchmark=wildcards.benchmark, variant=primary)
        for m, b in PLAN.pairs()
        if b == wildcards.benchmark
    ]


def primary_variant(wildcards=None):
    """Settings of the plots that show only the primary grading variant."""
    return canonical_json({"variants": [PLAN.primary.name], "version": REPORT_VERSION})


def all_manifests(wildcards=None):
    return [
        MANIFEST.format(model=m) for m, s in PLAN.all_models.items() if s.local_weights
    ]


def all_benchmarks(wildcards=None):
    return expand(BENCHMARK, benchmark=PLAN.benchmarks)


def benchmark_scores(benchmark):
    return [
        SCORES.format(model=m, benchmark=b) for m, b in PLAN.pairs() if b == benchmark
    ]


def plot_targets():
    out = expand(PLOT_PASS_AT_K, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS)
    out += expand(PLOT_LENGTHS, model=PLAN.models, ext=PLOT_FORMATS)
    if STEP_PLOTS:
        out += expand(PLOT_STEPS, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS)
    return out


def documented_outputs():
    """Every per-(model, benchmark) file the README documents, so that one that goes
    missing (a killed --forcerun, a deleted shard) is rebuilt by the next run."""
    out = []
    for m, b in PLAN.pairs():
        n = PLAN.benchmarks[b].n_shards
        out += expand(GENERATIONS, model=m, benchmark=b, shard=range(n))
        for v in PLAN.model_variants(m):
            if not PLAN.variants[v].provided:
                out += expand(
                    RULE_GRADES, model=m, benchmark=b, variant=v, shard=range(n)
                )
                out += [
                    p.format(model=m, benchmark=b, variant=v)
                    for p in (AUDIT_MD, AUDIT_JSON)
                ]
            out += [
                p.format(model=m, benchmark=b, variant=v)
                for p in (VERDICTS, METRICS, METRICS_JSON)
            ]
        out.append(SCORES.format(model=m, benchmark=b))
    return out + all_manifests() + all_benchmarks()


def final_targets():
    return (
        documented_outputs()
        + expand(TABLE, ext=TABLE_FORMATS)
        + expand(SCORES_TABLE, ext=["md", "csv", "parquet"])
        + expand(COMPARISONS, comparison=COMPARISON_NAMES, ext=["md", "csv"])
        + expand(PROBLEMS, benchmark=PLAN.benchmarks, ext=["md", "parquet"])
        + plot_targets()
        + [PROVENANCE_FILE]
    )
