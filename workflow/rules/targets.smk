# One short target per benchmark, e.g. `snakemake --cores all AIME24`:
# every configured model's scores on that benchmark.
for _benchmark in PLAN.benchmarks:

    rule:
        name:
            _benchmark
        input:
            scores=benchmark_scores(_benchmark),
        localrule: True
