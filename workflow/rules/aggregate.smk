rule aggregate:
    """Every metric of one (model, benchmark, grading variant)."""
    input:
        verdicts=VERDICTS_PATH,
        benchmark=BENCHMARK_PATH,
        generations=generation_shards,
    output:
        metrics=METRICS_PATH,
        details=METRICS_JSON_PATH,
    log:
        f"{LOGS_DIR}/aggregate/{{model}}/{{benchmark}}/{{variant}}.log",
    conda:
        "../../envs/grading.yaml"
    params:
        metrics=PARAMS.aggregate,
    shell:
        "python -m justeval aggregate --verdicts {input.verdicts:q}"
        " --benchmark {input.benchmark:q} --generations {input.generations:q}"
        " --settings {params.metrics:q}"
        " --output {output.metrics:q} --details {output.details:q} --log {log:q}"


rule collect_scores:
    """The metrics of every grading variant of one (model, benchmark), one row each."""
    input:
        metrics=model_metrics,
    output:
        scores=SCORES_PATH,
    log:
        f"{LOGS_DIR}/collect_scores/{{model}}/{{benchmark}}.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    shell:
        "python -m justeval collect-scores {input.metrics:q} --output {output.scores:q}"
        " --log {log:q}"
