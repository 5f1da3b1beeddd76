rule download_model:
    """Resolve a hub or local model and write its manifest (path, revision, file hashes).

    Transient download errors are retried with backoff inside the job.
    """
    output:
        manifest=MANIFEST_PATH,
    log:
        f"{LOGS_DIR}/download_model/{{model}}.log",
    wildcard_constraints:
        model=HUB_OR_LOCAL_MODELS,
    localrule: True
    conda:
        "../../envs/grading.yaml"
    resources:
        hub_cache=PARAMS.hub_cache,
    params:
        model=PARAMS.model,
    shell:
        "python -m justeval download-model --settings {params.model:q}"
        " --hub-cache {resources.hub_cache:q} --manifest {output.manifest:q} --log {log:q}"


rule build_tiny_model:
    """Build a tiny random model locally (tests and the smoke run)."""
    output:
        manifest=MANIFEST_PATH,
    log:
        f"{LOGS_DIR}/build_tiny_model/{{model}}.log",
    wildcard_constraints:
        model=TINY_MODELS,
    conda:
        "../../envs/generation.yaml"
    params:
        model=PARAMS.model,
        weights=TINY_WEIGHTS_PATH,
    shell:
        "python -m justeval build-tiny-model --settings {params.model:q}"
        " --weights {params.weights:q} --manifest {output.manifest:q} --log {log:q}"
