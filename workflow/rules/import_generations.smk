rule import_generations:
    """Existing generations (JustRL's or Qwen2.5-Math's files) in the generation schema."""
    input:
        source=import_file,
        benchmark=BENCHMARK_PATH,
    output:
        generations=ensure(GENERATIONS_PATH, non_empty=True),
    log:
        f"{LOGS_DIR}/import_generations/{{model}}/{{benchmark}}/shard-{{shard}}.log",
    wildcard_constraints:
        model=IMPORTED_MODELS,
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.import_generations,
    shell:
        "python -m justeval import-generations {input.source:q} {output.generations:q}"
        " --benchmark {input.benchmark:q} --model {wildcards.model:q}"
        " --settings {params.settings:q} --log {log:q}"


rule provided_verdicts:
    """The verdicts an imported file carries, as a grading variant of their own."""
    input:
        source=import_file,
        benchmark=BENCHMARK_PATH,
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
        "python -m justeval provided-verdicts {input.source:q} {output.verdicts:q}"
        " --benchmark {input.benchmark:q} --generations {input.generations:q}"
        " --variant {wildcards.variant:q} --log {log:q}"
