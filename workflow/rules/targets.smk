# Each benchmark's short target below is a rule of its name: none may be taken
# (`all` is the Snakefile's, defined after this file).
try:
    check_benchmark_names(PLAN, {r.name for r in workflow.rules} | {"all"})
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# One short target per benchmark, e.g. `snakemake --cores all AIME24`:
# every configured model's scores on that benchmark.
for _benchmark in PLAN.benchmarks:

    rule:
        name:
            _benchmark
        input:
            scores=benchmark_scores(_benchmark),
        localrule: True
