# Input functions: what each rule reads, by its wildcards (named after what they return).


def benchmark_source_file(wildcards):
    """The local source file of a benchmark (URL sources have no input file). Where the
    rows it gives are known (their hash is in prepare_benchmark's params), the file's
    mtime reruns nothing: a touch, or a change beyond `limit`, leaves the prepared file.
    """
    bench = PLAN.benchmarks[wildcards.benchmark]
    if bench.is_url():
        return []
    return [ancient(bench.source) if bench.rows is not None else bench.source]


def _manifest_input(spec):
    """A model's manifest as an input. A re-download of a hub or tiny model never
    redoes what used it (ancient); a local folder's manifest is rewritten only when
    its files' content changed (its fingerprint is in download_model's params), and
    then everything that used the old weights is redone."""
    path = MANIFEST_PATH.format(model=spec.alias)
    return path if spec.source == "path" else ancient(path)


def model_manifest(wildcards):
    """The manifest of a model whose weights the pipeline loads (endpoints have none)."""
    spec = PLAN.models[wildcards.model]
    return _manifest_input(spec) if spec.local_weights else []


def import_files(wildcards):
    return PLAN.models[wildcards.model].imported["files"][wildcards.benchmark]


def _shards(pattern, wildcards):
    n = PLAN.n_shards(wildcards.model, wildcards.benchmark)
    return expand(
        pattern,
        model=wildcards.model,
        benchmark=wildcards.benchmark,
        variant=getattr(wildcards, "variant", ""),
        shard=range(n),
    )


def generation_shards(wildcards):
    return _shards(GENERATIONS_PATH, wildcards)


def rule_grade_shards(wildcards):
    return _shards(RULE_GRADES_PATH, wildcards)


def _verifier(wildcards):
    return PLAN.variants[wildcards.variant].verifier


def verifier_manifest(wildcards):
    verifier = _verifier(wildcards)
    return [] if verifier is None else _manifest_input(verifier)


def verifier_prompt(wildcards):
    if _verifier(wildcards) is None:
        return []
    return [str(PLAN.verifier_prompt_path(wildcards.variant))]


def model_metrics(wildcards):
    return [
        METRICS_PATH.format(
            model=wildcards.model, benchmark=wildcards.benchmark, variant=v
        )
        for v in PLAN.model_variants(wildcards.model)
    ]


def all_scores(wildcards=None):
    return [SCORES_PATH.format(model=m, benchmark=b) for m, b in PLAN.pairs()]


def all_metrics(wildcards=None):
    return [
        METRICS_PATH.format(model=m, benchmark=b, variant=v)
        for m, b in PLAN.pairs()
        for v in PLAN.model_variants(m)
    ]


def stepped_verdicts(wildcards=None):
    """The primary variant's verdicts of every checkpoint that has a step."""
    return [
        VERDICTS_PATH.format(model=m, benchmark=b, variant=PLAN.primary.name)
        for m, b in PLAN.pairs()
        if PLAN.models[m].step is not None
    ]


def overlap_training_files(wildcards=None):
    return [t["path"] for t in config["overlap"]["train"]]


def all_verdicts(wildcards=None):
    return [
        VERDICTS_PATH.format(model=m, benchmark=b, variant=v)
        for m, b in PLAN.pairs()
        for v in PLAN.model_variants(m)
    ]


def benchmark_verdicts(wildcards):
    """Primary-variant verdicts of every model on one benchmark (drill-down)."""
    primary = PLAN.primary.name
    return [
        VERDICTS_PATH.format(model=m, benchmark=wildcards.benchmark, variant=primary)
        for m, b in PLAN.pairs()
        if b == wildcards.benchmark
    ]


def model_primary_verdicts(wildcards):
    """Primary-variant verdicts of one model on each of its benchmarks (length plots)."""
    primary = PLAN.primary.name
    return [
        VERDICTS_PATH.format(model=wildcards.model, benchmark=b, variant=primary)
        for b in PLAN.model_benchmarks(wildcards.model)
    ]


def _primary_metrics(benchmark, stepped_only=False):
    primary = PLAN.primary.name
    return [
        METRICS_PATH.format(model=m, benchmark=benchmark, variant=primary)
        for m, b in PLAN.pairs()
        if b == benchmark and (not stepped_only or PLAN.models[m].step is not None)
    ]


def benchmark_metrics(wildcards):
    """Primary-variant metrics of every model on one benchmark (pass@k plots)."""
    return _primary_metrics(wildcards.benchmark)


def benchmark_stepped_metrics(wildcards):
    """Primary-variant metrics of every checkpoint with a step on one benchmark (the
    training curve): a curve never waits for, or reruns after, another benchmark."""
    return _primary_metrics(wildcards.benchmark, stepped_only=True)


def all_imported(wildcards=None):
    """Every import's imported.parquet (what each file reports of itself)."""
    return [
        IMPORTED_PATH.format(model=m, benchmark=b)
        for m, b in PLAN.pairs()
        if PLAN.models[m].source == "import"
    ]


def all_manifests(wildcards=None):
    return [
        MANIFEST_PATH.format(model=m)
        for m, s in PLAN.all_models.items()
        if s.local_weights
    ]


def all_benchmarks(wildcards=None):
    return expand(BENCHMARK_PATH, benchmark=PLAN.benchmarks)


def engine_stats(wildcards=None):
    """What every engine job (generate, model_grade, the budget's model_grade) of the run
    wrote about its engine."""
    out = []
    for m, b in PLAN.pairs():
        if PLAN.models[m].generates:
            n = PLAN.n_shards(m, b)
            out += expand(GENERATE_STATS_PATH, model=m, benchmark=b, shard=range(n))
        for v in PLAN.model_variants(m):
            if not PLAN.variants[v].provided:
                out.append(
                    MODEL_GRADE_STATS_PATH.format(model=m, benchmark=b, variant=v)
                )
            if m in BUDGET_MODELS and PLAN.variants[v].verifier is not None:
                out.append(BUDGET_STATS_PATH.format(model=m, benchmark=b, variant=v))
    return out


def all_generations(wildcards=None):
    """Every generation shard of the run (the texts the truncation ledger classes)."""
    return [
        path
        for m, b in PLAN.pairs()
        for path in expand(
            GENERATIONS_PATH,
            model=m,
            benchmark=b,
            shard=range(PLAN.n_shards(m, b)),
        )
    ]


def coverage_verdicts(wildcards=None):
    """The primary variant's verdicts of the models the coverage pairs name."""
    named = {m for pair in COVERAGE_PAIRS for m in pair}
    primary = PLAN.primary.name
    return [
        VERDICTS_PATH.format(model=m, benchmark=b, variant=primary)
        for m, b in PLAN.pairs()
        if m in named
    ]


def budget_grades(wildcards=None):
    """Every budget-grade output of the run."""
    return [
        BUDGET_GRADES_PATH.format(model=m, benchmark=b, variant=v)
        for m, b in PLAN.pairs()
        if m in BUDGET_MODELS
        for v in PLAN.model_variants(m)
    ]


def budget_verifier_verdicts(wildcards=None):
    """The verifier's verdicts on the cut texts, where a variant has a verifier."""
    return [
        BUDGET_VERDICTS_PATH.format(model=m, benchmark=b, variant=v)
        for m, b in PLAN.pairs()
        if m in BUDGET_MODELS
        for v in PLAN.model_variants(m)
        if PLAN.variants[v].verifier is not None
    ]


def pair_primary_verdicts(wildcards):
    """The primary variant's verdicts of one (model, benchmark) (its problem view)."""
    return VERDICTS_PATH.format(
        model=wildcards.model, benchmark=wildcards.benchmark, variant=PLAN.primary.name
    )


def problem_views(wildcards=None):
    """Every (model, benchmark) cell's problem view."""
    return [PROBLEM_VIEW_PATH.format(model=m, benchmark=b) for m, b in PLAN.pairs()]


def page_tables(wildcards=None):
    """Every table (.csv) of the run the results page shows, as `rule all` builds them."""
    out = [SCORES_TABLE_PATH.format(ext="csv"), COST_PATH.format(ext="csv")]
    out += expand(COMPARISON_PATH, comparison=COMPARISON_NAMES, ext="csv")
    out += [TRUNCATION_PATH.format(ext="csv"), SAMPLES_NEEDED_PATH.format(ext="csv")]
    if STEP_PLOTS:
        out += [SWEEP_TABLE_PATH.format(ext="csv")]
        out += [CHECKPOINT_CHANGES_PATH.format(ext="csv")]
    if COVERAGE_PAIRS:
        out.append(COVERAGE_PATH.format(ext="csv"))
    if BUDGET_MODELS:
        out.append(BUDGET_TABLE_PATH.format(ext="csv"))
    if config["overlap"]["enabled"]:
        out += [OVERLAP_PATH.format(ext="csv"), OVERLAP_SUMMARY_PATH]
        out.append(OVERLAP_ACCURACY_PATH.format(ext="csv"))
    return out


def tracker_tables(wildcards=None):
    """The tables the trackers log as tables (the sweep goes as its own series)."""
    sweep = SWEEP_TABLE_PATH.format(ext="csv")
    return [t for t in page_tables() if t != sweep]


def tracker_sweep(wildcards=None):
    return [SWEEP_TABLE_PATH.format(ext="csv")] if STEP_PLOTS else []
