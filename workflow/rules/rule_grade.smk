rule rule_grade:
    """Extract each response's final answer and compare it with the gold answer."""
    input:
        generations=GENERATIONS_PATH,
        benchmark=BENCHMARK_PATH,
    output:
        grades=ensure(RULE_GRADES_PATH, non_empty=True),
    log:
        f"{LOGS_DIR}/rule_grade/{{model}}/{{benchmark}}/{{variant}}/shard-{{shard}}.log",
    benchmark:
        f"{RUNTIME_DIR}/rule_grade/{{model}}/{{benchmark}}/{{variant}}/shard-{{shard}}.tsv"
    wildcard_constraints:
        variant=GRADED_VARIANTS,
    conda:
        "../../envs/grading.yaml"
    threads: 4
    params:
        grading=PARAMS.rule_grade,
    shell:
        "python -m justeval rule-grade {input.generations:q} {output.grades:q}"
        " --benchmark {input.benchmark:q} --variant {wildcards.variant:q}"
        " --settings {params.grading:q} --jobs {threads} --log {log:q}"
