rule generate:
    """Sample one shard (a block of sample indices) of one benchmark with vLLM."""
    input:
        benchmark=BENCHMARK,
        model=model_manifest,
    output:
        generations=ensure(GENERATIONS, non_empty=True),
    log:
        f"{LOGS}/generate/{{model}}/{{benchmark}}/shard-{{shard}}.log",
    benchmark:
        f"{RUNTIME}/generate/{{model}}/{{benchmark}}/shard-{{shard}}.tsv"
    wildcard_constraints:
        model=SAMPLED_MODELS,
    conda:
        "../../envs/generation.yaml"
    resources:
        gpu=1,
        mem_mb=engine_mem_mb,
        runtime=engine_runtime_generate,
        engine=engine_options,
    params:
        generation=generation_settings,
    shell:
        "python -m justeval generate --benchmark {input.benchmark:q}"
        " --model-manifest {input.model:q} --model {wildcards.model:q}"
        " --shard {wildcards.shard} --settings {params.generation:q}"
        " --engine-options {resources.engine:q}"
        " --output {output.generations:q} --log {log:q}"
