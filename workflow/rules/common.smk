import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The justeval package lives next to the rules: importable here, and in every
# job's `python -m justeval` (installed or not, under --sdm conda too).
PROJECT_DIR = Path(workflow.basedir)
PACKAGE_DIR = PROJECT_DIR / "workflow"
sys.path.insert(0, str(PACKAGE_DIR))
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={shlex.quote(str(PACKAGE_DIR))}"
    "${{PYTHONPATH:+:$PYTHONPATH}}; "
)

from justeval.config import ConfigError, build_plan, check_schema
from justeval.hashing import canonical_json, source_hash

RULE_NAMES = {
    "all",
    "download_model",
    "build_tiny_model",
    "prepare_benchmark",
    "generate",
    "rule_grade",
    "model_grade",
    "aggregate",
    "table",
}

# Short, one-line errors naming the key first; then the schema fills defaults.
try:
    check_schema(config, PACKAGE_DIR / "schemas" / "config.schema.yaml")
    validate(config, schema="../schemas/config.schema.yaml")
    PLAN = build_plan(config, PROJECT_DIR, RULE_NAMES)
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# Code versions of the stages whose code decides results. Editing a grader
# regrades; editing the engine wrapper never regenerates.
GRADER_VERSION = source_hash(PACKAGE_DIR / "justeval" / "grading")
VERDICT_PARSER_VERSION = source_hash(PACKAGE_DIR / "justeval" / "verdicts.py")
METRICS_VERSION = source_hash(
    PACKAGE_DIR / "justeval" / "metrics.py", PACKAGE_DIR / "justeval" / "table.py"
)

# Settings that do not change results reach the jobs as resources, which
# Snakemake does not track: changing them never reruns anything.
ENGINE_OPTIONS = canonical_json(config["engine"])
HUB_CACHE = config["hub_cache"] or "default"
VERIFIER_CACHE = config["model_grade"]["cache"]


# ---------------------------------------------------------------- paths

MANIFEST = "results/models/{model}/manifest.json"
TINY_WEIGHTS = "results/models/{model}/weights"
BENCHMARK = "data/benchmarks/{benchmark}.parquet"
GENERATIONS = "results/{model}/{benchmark}/generations/shard-{shard}.parquet"
RULE_GRADES = "results/{model}/{benchmark}/rule_grades/shard-{shard}.parquet"
VERDICTS = "results/{model}/{benchmark}/verdicts.parquet"
AUDIT_MD = "results/{model}/{benchmark}/verifier_audit.md"
AUDIT_JSON = "results/{model}/{benchmark}/verifier_audit.json"
SCORES = "results/{model}/{benchmark}/scores.parquet"
TABLE = "results/tables/accuracy.{ext}"
SCORES_TABLE = "results/tables/scores.{ext}"
TABLE_FORMATS = ["parquet", "csv", "md"]
LOGS = "results/logs"
RUNTIME = "results/runtime"


def _alternation(names):
    """A regex matching exactly the given names (nothing if there are none)."""
    names = sorted(names, key=len, reverse=True)
    return "|".join(map(re.escape, names)) if names else "(?!x)x"


wildcard_constraints:
    model=_alternation(PLAN.all_models),
    benchmark=_alternation(PLAN.benchmarks),
    shard=r"0|[1-9]\d*",


HUB_OR_LOCAL_MODELS = _alternation(PLAN.aliases("hub") + PLAN.aliases("path"))
TINY_MODELS = _alternation(PLAN.aliases("tiny"))


# ---------------------------------------------------------------- params


def model_settings(wildcards):
    """What identifies a model's weights (revision, folder, tiny recipe)."""
    return canonical_json(PLAN.all_models[wildcards.model].identity())


def benchmark_settings(wildcards):
    bench = PLAN.benchmarks[wildcards.benchmark]
    return canonical_json(
        {"source": bench.source, "limit": bench.limit, "sha256": bench.sha256}
    )


def generation_settings(wildcards):
    return PLAN.shard_settings(
        wildcards.model, wildcards.benchmark, int(wildcards.shard)
    )


def rule_grade_settings(wildcards):
    return PLAN.rule_grade_settings(GRADER_VERSION)


def model_grade_settings(wildcards):
    return PLAN.model_grade_settings(VERDICT_PARSER_VERSION)


def aggregate_settings(wildcards):
    bench = PLAN.benchmarks[wildcards.benchmark]
    return canonical_json(
        {
            "n_samples": bench.n_samples,
            "pass_k": PLAN.pass_k(bench.name),
            "version": METRICS_VERSION,
        }
    )


def table_settings(wildcards):
    return canonical_json(
        {
            "models": list(PLAN.models),
            "benchmarks": list(PLAN.benchmarks),
            "version": METRICS_VERSION,
        }
    )


# ---------------------------------------------------------------- resources
# Cluster requests of the engine jobs; a retried job asks for more time and memory.


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


def _shards(pattern, wildcards):
    n = PLAN.benchmarks[wildcards.benchmark].n_shards
    return expand(
        pattern, model=wildcards.model, benchmark=wildcards.benchmark, shard=range(n)
    )


def generation_shards(wildcards):
    return _shards(GENERATIONS, wildcards)


def rule_grade_shards(wildcards):
    return _shards(RULE_GRADES, wildcards)


def verifier_manifest(wildcards):
    if PLAN.verifier is None:
        return []
    return ancient(MANIFEST.format(model=PLAN.verifier.alias))


def verifier_prompt(wildcards):
    return [] if PLAN.verifier is None else [str(PLAN.verifier_prompt_path())]


def all_scores(wildcards=None):
    return expand(SCORES, model=PLAN.models, benchmark=PLAN.benchmarks)


def benchmark_scores(benchmark):
    return expand(SCORES, model=PLAN.models, benchmark=benchmark)


def final_targets():
    return expand(TABLE, ext=TABLE_FORMATS) + expand(SCORES_TABLE, ext=TABLE_FORMATS)
