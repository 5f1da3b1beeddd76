"""Which package modules decide each stage's results.

The source hash of a stage's ``DECIDES`` modules is part of that rule's params
(see :mod:`justeval.config.params`), so upgrading code that changes a result
reruns exactly the stages it decides. Every other module a stage imports is
listed in ``NOT_DECIDING`` (for every stage) or in ``UNTRACKED`` (for one
stage), with the reason; ``tests/unit/test_stage_code.py`` walks each stage's
imports and fails on a module that is in none of them.

Names are module paths relative to the package (``grading`` is the whole
grading folder, ``grading.extract`` one file of it, ``io.__init__`` a folder's
``__init__.py``).
"""

from __future__ import annotations

from pathlib import Path

from justeval.io.hashing import source_hash

# stage -> (the module that runs it, the modules that decide its results)
DECIDES: dict[str, tuple[str, tuple[str, ...]]] = {
    # the canonical benchmark: problem text, gold unwrapping (last box), ids
    "prepare_benchmark": (
        "stages.prepare_benchmark",
        ("stages.prepare_benchmark", "sources.benchmarks", "grading.extract"),
    ),
    # samples are decided by vLLM and the sampling settings in params; see UNTRACKED
    "generate": ("stages.generate", ()),
    "import_generations": (
        "stages.import_generations",
        (
            "stages.import_generations",
            "sources.released",
            "analysis.problem_matching",
            "analysis.contamination",
            "grading.extract",
        ),
    ),
    "rule_grade": ("stages.rule_grade", ("stages.rule_grade", "grading", "sources.benchmarks")),
    "model_grade": ("stages.model_grade", ("stages.model_grade", "metrics.verifier")),
    # the file's own verdicts, as import_generations matched and wrote them (an input)
    "provided_verdicts": ("stages.import_generations", ("stages.import_generations",)),
    # maj@k groups answers with the variant's rule grader
    "aggregate": ("stages.aggregate", ("stages.aggregate", "metrics", "grading")),
    # the tables, comparisons and drill-down (which groups answers with the primary
    # variant's rule grader)
    "report": ("stages.tables", ("stages.tables", "metrics", "grading")),
    "plots": ("stages.plots", ("stages.plots", "metrics")),
    "cost": ("stages.cost", ("stages.cost", "metrics")),
    # reading the training sets, the pairs and their classes (the grader compares answers;
    # datasketch's version is in provenance)
    "overlap": (
        "stages.overlap",
        ("stages.overlap", "sources.training_sets", "analysis", "grading"),
    ),
    # accuracy with and without the copies (bootstrap and per-problem accuracy: metrics)
    "overlap_accuracy": ("stages.overlap", ("stages.overlap", "metrics")),
    # the analyses of the samples already drawn (docs/analyses.md)
    "truncation": (
        "stages.truncation",
        ("stages.truncation", "analysis.truncation", "grading.extract", "metrics"),
    ),
    "samples_needed": ("stages.samples_needed", ("stages.samples_needed", "analysis.samples", "metrics")),
    "coverage": ("stages.coverage", ("stages.coverage", "analysis.coverage", "metrics")),
    # the budget curve: texts cut and graded again (budget-grade), the table (budget-table)
    "budget_grade": ("stages.budget", ("stages.budget", "analysis.budget", "grading")),
    "budget_table": ("stages.budget", ("stages.budget", "analysis.budget", "metrics")),
    "problem_view": ("stages.problem_view", ("stages.problem_view", "page")),
    "results_page": ("stages.results_page", ("stages.results_page", "page", "metrics.formatting")),
    # logs what other stages computed to a tracker: changes no result
    "log_trackers": ("stages.trackers", ()),
    "checkpoint_changes": (
        "stages.checkpoint_changes",
        # analysis.coverage: the primary variant's verdicts, read as both analyses read them
        ("stages.checkpoint_changes", "analysis.checkpoints", "analysis.coverage", "metrics"),
    ),
}

# Modules that never decide a result, whichever stage imports them.
NOT_DECIDING: dict[str, str] = {
    # (grading's __init__ re-exports its public API: it is in the grading folder's hash)
    "__init__": "folder docstrings and __version__ (tests/unit/test_layering.py checks them)",
    "io": "reads and writes files, hashes settings, journals, provenance: what is written is the stage's",
    "command": "declares the stages' command lines",
    "sources.models": "reads and writes model manifests; which weights were used is an input",
    "sources.locations": "URL or local file, and the sha256 pin check: what is read is the input",
}

# Modules one stage imports without their code deciding its results.
UNTRACKED: dict[str, dict[str, str]] = {
    "generate": {
        "stages.generate": (
            "a refactor of the request path must never resample: the prompt and the seed "
            "derivation are pinned by tests (tests/unit/test_engine.py), the samples by vLLM"
        ),
        "engine": "vLLM wrapper, endpoint client, GPU slots, engine sessions: throughput only",
        "sources.benchmarks": "the problem text is decided by prepare_benchmark, an input",
        "grading": "imported through sources.benchmarks; generate grades nothing",
    },
    "model_grade": {
        "engine": "vLLM wrapper and GPU slots: throughput only (greedy decoding is in params)",
        "metrics.formatting": (
            "how the audit page writes text (escaping): never a verdict; a change there must not "
            "send every leftover to the verifier again"
        ),
    },
    "overlap": {
        "metrics": "imported by overlap-accuracy, the module's other command; the pairs use none of it",
    },
    "budget_grade": {"metrics": "used by budget-table only"},
    "log_trackers": {
        "stages.trackers": (
            "sends tables other stages wrote to MLflow / W&B; no file of the run depends on it, "
            "and a code change must not log a new tracker run"
        )
    },
    "budget_table": {"grading": "the cut texts are graded by budget-grade, an input"},
    "overlap_accuracy": {
        module: "the pairs and their classes are an input (the overlap rule's pairs file)"
        for module in ("analysis", "sources.training_sets", "grading")
    },
    **{
        stage: {"grading": "only grading.extract (listed) is used; the rest comes with the package import"}
        for stage in ("prepare_benchmark", "truncation")
    },
    **{
        stage: {
            "grading": "only grading.extract (listed) is used; the rest comes with the package import",
            "metrics.formatting": "how the import's report (imported.md) escapes text: never a sample",
        }
        for stage in ("import_generations",)
    },
    "provided_verdicts": {
        **{
            module: "reading and matching the files is import_generations' (imported.parquet is the input)"
            for module in ("sources", "analysis", "grading")
        },
        "metrics.formatting": "how the import's report escapes text: never a verdict",
    },
}


def _path(package_dir: Path, name: str) -> Path:
    folder = package_dir / name.replace(".", "/")
    return folder if folder.is_dir() else folder.with_suffix(".py")


def code_version(stage: str, package_dir: str | Path | None = None) -> str:
    """Hash of the sources that decide ``stage``'s results (16 hex digits)."""
    package_dir = Path(package_dir) if package_dir else Path(__file__).resolve().parents[1]
    _entry, modules = DECIDES[stage]
    if not modules:
        return "untracked"
    return source_hash(*(_path(package_dir, m) for m in modules))
