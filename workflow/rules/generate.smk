rule generate:
    """Sample one shard (a block of sample indices) of one benchmark with vLLM."""
    input:
        benchmark=BENCHMARK_PATH,
        model=model_manifest,
    output:
        generations=ensure(GENERATIONS_PATH, non_empty=True),
        engine_stats=GENERATE_STATS_PATH,
    log:
        f"{LOGS_DIR}/generate/{{model}}/{{benchmark}}/shard-{{shard}}.log",
    benchmark:
        GENERATE_BENCHMARK_PATH
    wildcard_constraints:
        model=SAMPLED_MODELS,
    conda:
        "../../envs/generation.yaml"
    resources:
        gpu=PARAMS.engine_gpus,
        cpus_per_task=PARAMS.engine_cpus,
        mem_mb=PARAMS.engine_mem_mb,
        runtime=PARAMS.runtime_generate,
        engine=PARAMS.engine_options,
    params:
        generation=PARAMS.generate,
    shell:
        "python -m justeval generate --benchmark {input.benchmark:q}"
        " --model-manifest {input.model:q} --model {wildcards.model:q}"
        " --shard {wildcards.shard} --shard-settings {params.generation:q}"
        " --engine-options {resources.engine:q}"
        " --output {output.generations:q} --engine-stats {output.engine_stats:q}"
        " --log {log:q}"
