rule aggregate:
    """Every metric of one (model, benchmark, grading variant)."""
    input:
        verdicts=VERDICTS,
        benchmark=BENCHMARK,
        generations=generation_shards,
    output:
        metrics=METRICS,
        details=METRICS_JSON,
    log:
        f"{LOGS}/aggregate/{{model}}/{{benchmark}}/{{variant}}.log",
    conda:
        "../../envs/grading.yaml"
    params:
        metrics=aggregate_settings,
    shell:
        "python -m justeval aggregate {input.verdicts:q} {output.metrics:q}"
        " --details {output.details:q} --benchmark {input.benchmark:q}"
        " --generations {input.generations:q} --model {wildcards.model:q}"
        " --benchmark-name {wildcards.benchmark:q} --variant {wildcards.variant:q}"
        " --settings {params.metrics:q} --log {log:q}"


rule collect_scores:
    """The metrics of every grading variant of one (model, benchmark), one row each."""
    input:
        metrics=model_metrics,
    output:
        scores=SCORES,
    log:
        f"{LOGS}/collect_scores/{{model}}/{{benchmark}}.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    shell:
        "python -m justeval collect-scores {input.metrics:q} --output {output.scores:q}"
        " --log {log:q}"
