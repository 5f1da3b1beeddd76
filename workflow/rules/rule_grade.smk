rule rule_grade:
    """Extract each response's final answer and compare it with the gold answer."""
    input:
        generations=GENERATIONS,
        benchmark=BENCHMARK,
    output:
        grades=ensure(RULE_GRADES, non_empty=True),
    log:
        f"{LOGS}/rule_grade/{{model}}/{{benchmark}}/{{variant}}/shard-{{shard}}.log",
    benchmark:
        f"{RUNTIME}/rule_grade/{{model}}/{{benchmark}}/{{variant}}/shard-{{shard}}.tsv"
    wildcard_constraints:
        variant=GRADED_VARIANTS,
    conda:
        "../../envs/grading.yaml"
    threads: 4
    params:
        grading=rule_grade_settings,
    shell:
        "python -m justeval rule-grade {input.generations:q} {output.grades:q}"
        " --benchmark {input.benchmark:q} --settings {params.grading:q}"
        " --jobs {threads} --log {log:q}"
