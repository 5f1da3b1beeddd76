rule prepare_benchmark:
    """Read a benchmark (either source layout) into the canonical Parquet file.

    URL sources are retried with backoff inside the job; a bad file fails once.
    """
    input:
        source=benchmark_source_file,
    output:
        benchmark=ensure(BENCHMARK_PATH, non_empty=True),
    log:
        f"{LOGS_DIR}/prepare_benchmark/{{benchmark}}.log",
    priority: 10
    localrule: True
    conda:
        "../../envs/grading.yaml"
    resources:
        sha256=PARAMS.benchmark_pin,
    params:
        benchmark=PARAMS.benchmark,
    shell:
        "python -m justeval prepare-benchmark --name {wildcards.benchmark:q}"
        " --settings {params.benchmark:q} --sha256 {resources.sha256:q}"
        " --output {output.benchmark:q} --log {log:q}"
