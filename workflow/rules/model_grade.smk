rule model_grade:
    """Send the rule grader's rejections of one benchmark to the verifier model."""
    input:
        benchmark=BENCHMARK,
        generations=generation_shards,
        grades=rule_grade_shards,
        verifier=verifier_manifest,
        prompt=verifier_prompt,
    output:
        verdicts=ensure(VERDICTS, non_empty=True),
    log:
        f"{LOGS}/model_grade/{{model}}/{{benchmark}}.log",
    benchmark:
        f"{RUNTIME}/model_grade/{{model}}/{{benchmark}}.tsv"
    conda:
        "../../envs/generation.yaml"
    resources:
        gpu=1,
        mem_mb=engine_mem_mb,
        runtime=engine_runtime_model_grade,
        engine=ENGINE_OPTIONS,
    params:
        grading=model_grade_settings,
    shell:
        "python -m justeval model-grade --benchmark {input.benchmark:q}"
        " --generations {input.generations:q} --grades {input.grades:q}"
        " --verifier-manifest {input.verifier:q} --prompt {input.prompt:q}"
        " --settings {params.grading:q}"
        " --engine-options {resources.engine:q}"
        " --output {output.verdicts:q} --log {log:q}"
