rule import_generations:
    """Released outputs of another harness (lighteval, SkyThought, NeMo-Skills, lm-eval,
    OpenCompass, verl, MathArena, JustRL, Qwen2.5-Math, a named table) in the generation
    schema, their problems matched to the benchmark's."""
    input:
        sources=import_files,
        benchmark=BENCHMARK_PATH,
    output:
        # one shard, whatever the files' N
        generations=ensure(GENERATIONS_PATH.replace("{shard}", "0"), non_empty=True),
        imported=IMPORTED_PATH,
        report=IMPORT_REPORT_PATH,
    log:
        f"{LOGS_DIR}/import_generations/{{model}}/{{benchmark}}.log",
    wildcard_constraints:
        model=IMPORTED_MODELS,
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.import_generations,
    shell:
        "python -m justeval import-generations {input.sources:q} --output {output.generations:q}"
        " --imported {output.imported:q} --report {output.report:q}"
        " --benchmark {input.benchmark:q} --model {wildcards.model:q}"
        " --settings {params.settings:q} --log {log:q}"


rule provided_verdicts:
    """The verdicts an imported file carries, as a grading variant of their own."""
    input:
        imported=IMPORTED_PATH,
        generations=generation_shards,
    output:
        verdicts=ensure(VERDICTS_PATH, non_empty=True),
    log:
        f"{LOGS_DIR}/provided_verdicts/{{model}}/{{benchmark}}/{{variant}}.log",
    wildcard_constraints:
        model=IMPORTED_MODELS,
        variant=PROVIDED_VARIANTS,
    conda:
        "../../envs/grading.yaml"
    params:
        code=PARAMS.provided_verdicts,
    shell:
        "python -m justeval provided-verdicts {output.verdicts:q} --imported {input.imported:q}"
        " --generations {input.generations:q} --variant {wildcards.variant:q} --log {log:q}"
