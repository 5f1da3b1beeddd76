# Params and resources of every rule: methods of justeval.config.params.RuleParams
# (PARAMS, made in setup.smk), which builds them all. Settings that change results
# are params; those that never do (throughput options, caches, cluster requests)
# reach the jobs as resources, which Snakemake does not track.

ENGINE_OPTIONS = canonical_json(config["engine"])
HUB_CACHE = config["hub_cache"] or "default"
VERIFIER_CACHE = config["model_grade"]["cache"]
