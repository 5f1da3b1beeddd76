rule aggregate:
    """mean@N, pass@k and counts of one (model, benchmark)."""
    input:
        verdicts=VERDICTS,
        benchmark=BENCHMARK,
    output:
        scores=SCORES,
    log:
        f"{LOGS}/aggregate/{{model}}/{{benchmark}}.log",
    conda:
        "../../envs/grading.yaml"
    params:
        metrics=aggregate_settings,
    shell:
        "python -m justeval aggregate {input.verdicts:q} {output.scores:q}"
        " --benchmark {input.benchmark:q} --model {wildcards.model:q}"
        " --benchmark-name {wildcards.benchmark:q} --settings {params.metrics:q}"
        " --log {log:q}"


rule table:
    """The table across models and benchmarks, in the layout of JustRL's."""
    input:
        scores=all_scores,
    output:
        accuracy=expand(TABLE, ext=TABLE_FORMATS),
        scores=expand(SCORES_TABLE, ext=TABLE_FORMATS),
    log:
        f"{LOGS}/table.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        layout=table_settings,
    shell:
        "python -m justeval table {input.scores:q} --settings {params.layout:q}"
        " --accuracy {output.accuracy:q} --scores {output.scores:q} --log {log:q}"
