rule model_grade:
    """Send the rule grader's rejections of one benchmark to the verifier model.

    Verifier outputs are cached per row in an undeclared folder (resources.cache),
    so a rerun asks the engine only for rows it has never judged.
    """
    input:
        benchmark=BENCHMARK_PATH,
        generations=generation_shards,
        grades=rule_grade_shards,
        verifier=verifier_manifest,
        prompt=verifier_prompt,
    output:
        verdicts=ensure(VERDICTS_PATH, non_empty=True),
        audit_md=report(
            AUDIT_MD_PATH,
            caption="../report/verifier_audit.rst",
            category="Verifier audits",
            subcategory="{benchmark}",
            labels={"model": "{model}", "variant": "{variant}"},
        ),
        audit_json=AUDIT_JSON_PATH,
        engine_stats=MODEL_GRADE_STATS_PATH,
    log:
        f"{LOGS_DIR}/model_grade/{{model}}/{{benchmark}}/{{variant}}.log",
    benchmark:
        MODEL_GRADE_BENCHMARK_PATH
    wildcard_constraints:
        variant=GRADED_VARIANTS,
    conda:
        "../../envs/generation.yaml"
    resources:
        gpu=PARAMS.engine_gpus,
        cpus_per_task=PARAMS.engine_cpus,
        mem_mb=PARAMS.engine_mem_mb,
        runtime=PARAMS.runtime_model_grade,
        engine=PARAMS.engine_options,
        cache=PARAMS.verifier_cache,
    params:
        grading=PARAMS.model_grade,
    shell:
        "python -m justeval model-grade --benchmark {input.benchmark:q}"
        " --generations {input.generations:q} --grades {input.grades:q}"
        " --variant {wildcards.variant:q}"
        " --verifier-manifest {input.verifier:q} --prompt {input.prompt:q}"
        " --settings {params.grading:q}"
        " --engine-options {resources.engine:q}"
        " --cache-dir {resources.cache:q} --output {output.verdicts:q}"
        " --audit-md {output.audit_md:q} --audit-json {output.audit_json:q}"
        " --engine-stats {output.engine_stats:q} --log {log:q}"


rule model_grade_budget:
    """The variant's verifier on the budget's cut texts that its rule grader rejected."""
    input:
        benchmark=BUDGET_CUT_PATH.replace("{part}", "benchmark"),
        generations=BUDGET_CUT_PATH.replace("{part}", "generations"),
        grades=BUDGET_CUT_PATH.replace("{part}", "grades"),
        verifier=verifier_manifest,
        prompt=verifier_prompt,
    output:
        verdicts=BUDGET_VERDICTS_PATH,
        audit_md=BUDGET_AUDIT_MD_PATH,
        audit_json=BUDGET_AUDIT_JSON_PATH,
        engine_stats=BUDGET_STATS_PATH,
    log:
        f"{LOGS_DIR}/model_grade_budget/{{model}}/{{benchmark}}/{{variant}}.log",
    benchmark:
        BUDGET_STATS_PATH.replace(".engine.json", ".tsv")
    wildcard_constraints:
        variant=VERIFIED_VARIANTS,
    conda:
        "../../envs/generation.yaml"
    resources:
        gpu=PARAMS.engine_gpus,
        cpus_per_task=PARAMS.engine_cpus,
        mem_mb=PARAMS.engine_mem_mb,
        runtime=PARAMS.runtime_model_grade,
        engine=PARAMS.engine_options,
        cache=PARAMS.verifier_cache,
    params:
        grading=PARAMS.model_grade,
    shell:
        "python -m justeval model-grade --benchmark {input.benchmark:q}"
        " --generations {input.generations:q} --grades {input.grades:q}"
        " --variant {wildcards.variant:q}"
        " --verifier-manifest {input.verifier:q} --prompt {input.prompt:q}"
        " --settings {params.grading:q}"
        " --engine-options {resources.engine:q}"
        " --cache-dir {resources.cache:q} --output {output.verdicts:q}"
        " --audit-md {output.audit_md:q} --audit-json {output.audit_json:q}"
        " --engine-stats {output.engine_stats:q} --log {log:q}"
