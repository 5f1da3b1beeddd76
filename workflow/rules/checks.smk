# Every check that runs before any job, once the config is valid and every rule is
# declared (one check compares benchmark names with the rules' names): sha256 pins,
# the verifier cache, local model folders changed in place, the rows local benchmark
# sources give, sweep checkpoints still being written. See justeval.config.checks.
from justeval.config.checks import check_before_jobs

# `all` is the Snakefile's rule, declared after this file
try:
    for _line in check_before_jobs(
        PLAN,
        {r.name for r in workflow.rules} | {"all"},
        BENCHMARK_PATH,
        WEIGHTS_CACHE_DIR,
        BENCHMARK_CACHE_DIR,
        PARAMS.versions["prepare_benchmark"],
    ):
        print(f"justeval: {_line}", file=sys.stderr)
except ConfigError as error:
    raise WorkflowError(str(error)) from None
