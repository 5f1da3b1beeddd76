# What the run builds: `rule all`'s list (final_targets, used by the Snakefile) and one
# short target per benchmark (e.g. `snakemake --cores all AIME24`: every configured
# model's scores on that benchmark).


def plot_targets():
    out = expand(PLOT_PASS_AT_K_PATH, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS)
    out += expand(PLOT_LENGTHS_PATH, model=PLAN.models, ext=PLOT_FORMATS)
    if STEP_PLOTS:
        out += expand(PLOT_STEPS_PATH, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS)
    return out


def documented_outputs():
    """The per-(model, benchmark) files docs/outputs.md documents that are missing
    while others of their pair exist, so that one that goes missing (a killed
    --forcerun, a deleted shard) is rebuilt by the next run: Snakemake does not
    remake an intermediate whose consumers are up to date unless it is asked for.
    A pair none of whose files exist yet needs none of them here, since its
    scores target makes them all (and a sweep's dry run stays short)."""
    out = []
    for m, b in PLAN.pairs():
        files = _pair_files(m, b)
        present = [Path(f).exists() for f in files]
        if any(present):
            out += [f for f, here in zip(files, present, strict=True) if not here]
    return out + all_manifests() + all_benchmarks()


def _pair_files(m, b):
    """Every file docs/outputs.md documents for one (model, benchmark)."""
    out = []
    n = PLAN.n_shards(m, b)
    out += expand(GENERATIONS_PATH, model=m, benchmark=b, shard=range(n))
    if PLAN.models[m].source == "import":
        out += [
            p.format(model=m, benchmark=b) for p in (IMPORTED_PATH, IMPORT_REPORT_PATH)
        ]
    for v in PLAN.model_variants(m):
        if not PLAN.variants[v].provided:
            out += expand(
                RULE_GRADES_PATH, model=m, benchmark=b, variant=v, shard=range(n)
            )
            out += [
                p.format(model=m, benchmark=b, variant=v)
                for p in (AUDIT_MD_PATH, AUDIT_JSON_PATH)
            ]
        out += [
            p.format(model=m, benchmark=b, variant=v)
            for p in (VERDICTS_PATH, METRICS_PATH, METRICS_JSON_PATH)
        ]
    out.append(SCORES_PATH.format(model=m, benchmark=b))
    return out


def overlap_targets():
    """The overlap check (it needs no model), and with models their accuracy without the
    copies."""
    if not config["overlap"]["enabled"]:
        return []
    out = expand(OVERLAP_PATH, ext=["md", "csv"]) + [OVERLAP_SUMMARY_PATH]
    return out + (
        expand(OVERLAP_ACCURACY_PATH, ext=["md", "csv"]) if PLAN.models else []
    )


def final_targets():
    """Everything a run builds. With no model configured: the prepared benchmarks and
    the overlap check only (vetting a training set before training)."""
    if not PLAN.models:
        return all_benchmarks() + overlap_targets()
    return (
        documented_outputs()
        + expand(ACCURACY_TABLE_PATH, ext=TABLE_FORMATS)
        + expand(SCORES_TABLE_PATH, ext=["md", "csv", "parquet"])
        + expand(COMPARISON_PATH, comparison=COMPARISON_NAMES, ext=["md", "csv"])
        + expand(PROBLEMS_PATH, benchmark=PLAN.benchmarks, ext=["md", "parquet"])
        + plot_targets()
        + [PROVENANCE_PATH, PAGE_PATH]
        + expand(COST_PATH, ext=["md", "csv"])
        + (expand(SWEEP_TABLE_PATH, ext=["md", "csv"]) if STEP_PLOTS else [])
        + overlap_targets()
        + analysis_targets()
        + ([TRACKERS_RECEIPT_PATH] if TRACKERS_ON else [])
    )


def analysis_targets():
    """The analyses of the samples drawn: truncation and samples needed always; coverage
    where pairs are named (or a sweep gives one); checkpoint changes in a sweep; the
    budget curve where a model has budgets (`analysis.budgets: []` turns it off)."""
    out = expand(TRUNCATION_PATH, ext=["md", "csv"]) + expand(
        SAMPLES_NEEDED_PATH, ext=["md", "csv"]
    )
    if COVERAGE_PAIRS:
        out += expand(COVERAGE_PATH, ext=["md", "csv"])
        out += expand(PLOT_COVERAGE_PATH, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS)
    if STEP_PLOTS:
        out += expand(CHECKPOINT_CHANGES_PATH, ext=["md", "csv"])
    if BUDGET_MODELS:
        out += expand(BUDGET_TABLE_PATH, ext=["md", "csv"])
        out += expand(PLOT_BUDGET_PATH, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS)
    return out


def benchmark_scores(benchmark):
    return [
        SCORES_PATH.format(model=m, benchmark=b)
        for m, b in PLAN.pairs()
        if b == benchmark
    ]


for _benchmark in PLAN.benchmarks:

    rule:
        name:
            _benchmark
        input:
            scores=benchmark_scores(_benchmark),
        localrule: True
