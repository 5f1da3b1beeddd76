"""Which package modules decide each stage's results.

The source hash of a stage's ``DECIDES`` modules is part of that rule's params
(see ``workflow/rules/common.smk``), so upgrading code that changes a result
reruns exactly the stages it decides. Every other module a stage imports is
listed in ``NOT_DECIDING`` (for every stage) or in ``UNTRACKED`` (for one
stage), with the reason; ``tests/unit/test_stage_code.py`` walks each stage's
imports and fails on a module that is in none of them.

Names are module paths relative to the package (``grading`` is the whole
grading folder, ``grading.extract`` one file of it).
"""

from __future__ import annotations

from pathlib import Path

from .hashing import source_hash

# stage -> (the module that runs it, the modules that decide its results)
DECIDES: dict[str, tuple[str, tuple[str, ...]]] = {
    # the canonical benchmark: problem text, gold unwrapping (last box), ids
    "prepare_benchmark": ("benchmarks", ("benchmarks", "grading.extract")),
    # samples are decided by vLLM and the sampling settings in params; see UNTRACKED
    "generate": ("generate", ()),
    "import_generations": ("importers", ("importers", "benchmarks", "grading.extract")),
    "rule_grade": ("rule_grade", ("rule_grade", "grading", "benchmarks")),
    "model_grade": ("model_grade", ("model_grade", "verdicts")),
    "provided_verdicts": ("importers", ("importers", "benchmarks", "grading.extract")),
    # maj@k groups answers with the variant's rule grader
    "aggregate": ("aggregate", ("aggregate", "metrics", "table", "grading")),
    "table": ("aggregate", ("aggregate", "metrics", "table", "grading")),
    # the drill-down groups answers with the primary variant's rule grader
    "report": ("report", ("report", "metrics", "table", "grading")),
    "plots": ("plots", ("plots", "metrics")),
}

# Modules that never decide a result, whichever stage imports them.
NOT_DECIDING: dict[str, str] = {
    "__init__": "the package's docstring",
    "hashing": "hashes settings; the settings themselves are in params",
    "parquet_io": "reads and writes files; what is written comes from the stage",
    "provenance": "the provenance record (versions, commit), kept out of params on purpose",
    "schemas": "column types; a changed schema fails reads loudly instead of changing values",
    "config": "parse-time checks and the Plan; the settings it builds are the params",
    "models": "reads and writes model manifests; which weights were used is an input",
    "tiny": "builds tiny test models (their recipe is in build_tiny_model's params)",
}

# Modules one stage imports without their code deciding its results.
UNTRACKED: dict[str, dict[str, str]] = {
    "generate": {
        "generate": (
            "a refactor of the request path must never resample: the prompt and the seed "
            "derivation are pinned by tests (tests/unit/test_engine.py), the samples by vLLM"
        ),
        "engine": "vLLM wrapper: throughput only",
        "endpoint": "OpenAI-compatible client: throughput and retries only",
        "slots": "which GPU a job uses",
        "journal": "resume bookkeeping; resumed rows are checked against the journal",
        "tiny": "builds test models (their recipe is in build_tiny_model's params)",
        "benchmarks": "the problem text is decided by prepare_benchmark, an input",
        "grading": "imported through benchmarks; generate grades nothing",
    },
    "model_grade": {
        "engine": "vLLM wrapper: throughput only (greedy decoding is in params)",
        "slots": "which GPU a job uses",
        "benchmarks": "the gold and question are read from the prepared benchmark, an input",
        "grading": "imported through benchmarks; rule verdicts are inputs",
    },
    **{
        stage: {"grading": "only grading.extract (listed) is used; the rest comes with the package import"}
        for stage in ("prepare_benchmark", "import_generations", "provided_verdicts")
    },
}


def _path(package_dir: Path, name: str) -> Path:
    folder = package_dir / name.replace(".", "/")
    return folder if folder.is_dir() else folder.with_suffix(".py")


def code_version(stage: str, package_dir: str | Path | None = None) -> str:
    """Hash of the sources that decide ``stage``'s results (16 hex digits)."""
    package_dir = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    _entry, modules = DECIDES[stage]
    if not modules:
        return "untracked"
    return source_hash(*(_path(package_dir, m) for m in modules))
