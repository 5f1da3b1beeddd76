"""The checks that run when Snakemake reads the workflow, after the config is valid and
the Plan is built, before any job: what is on disk, and names that would collide.

Called once from ``workflow/rules/checks.smk`` (after every rule is declared, since one
check needs the rules' names). A failed check raises :class:`ConfigError` with one line;
what is only worth saying comes back as lines for stderr.
"""

from __future__ import annotations

from pathlib import Path

from justeval.config.plan import Plan
from justeval.config.schema import ConfigError, check_writable
from justeval.io.parquet import DataError
from justeval.sources.locations import BenchmarkError, check_pin


def check_before_jobs(
    plan: Plan,
    rule_names: set[str],
    prepared_benchmark: str,
    weights_cache_dir: str | Path,
    benchmark_cache_dir: str | Path,
    prepare_version: str,
) -> list[str]:
    """Check everything a run needs before its first job (raises ConfigError).

    - the verifier cache folder can be written, where a variant has a verifier;
    - every sha256 pin holds (before anything is deleted: a wrong pin deletes nothing);
    - no benchmark is named like a rule (each benchmark is a target rule of its name);
    - local model folders are fingerprinted: one changed in place since the last run is
      part of the model's identity now, so its manifest and samples are redone (said);
    - local benchmark sources are fingerprinted by the rows they give (prepare_benchmark
      reruns when those change, not when the file is touched or changed beyond `limit`);
    - sweep checkpoints still being written wait for a later call (said);
    - an imported model whose files lack a verdict for some sample gets no `provided`
      variant (said; the files are read once, then cached by size and mtime).

    ``prepared_benchmark`` is the path template of a prepared benchmark (``{benchmark}``);
    ``prepare_version`` the code version of prepare_benchmark (PARAMS has it).
    Returns the lines to print on stderr.
    """
    config = plan.config
    if config["model_grade"]["cache"] and any(v.verifier is not None for v in plan.variants.values()):
        check_writable(config["model_grade"]["cache"], "model_grade.cache")
    try:
        for bench in plan.benchmarks.values():
            check_pin(bench.name, bench.source, bench.sha256, prepared_benchmark.format(benchmark=bench.name))
    except BenchmarkError as error:
        raise ConfigError(f"config error: {error}") from None
    for i, name in enumerate(plan.benchmarks):
        if name in rule_names:
            raise ConfigError(
                f"config error: benchmarks[{i}].name: {name!r} is also a rule name; rename the benchmark"
            )
    plan.fingerprint_benchmarks(benchmark_cache_dir, prepare_version)
    try:  # the imports' own verdicts: read once, cached beside the benchmarks' row hashes
        notes = plan.check_import_verdicts(Path(benchmark_cache_dir).parent / "imports")
    except DataError as error:
        raise ConfigError(f"config error: {error}") from None
    notes += [
        f"model {model}: {', '.join(files[:5])} changed in place since the last run; "
        "its manifest and generations are redone"
        for model, files in plan.fingerprint_local_models(weights_cache_dir).items()
    ]
    return notes + [f"{line}; the next call evaluates it" for line in plan.waiting]
