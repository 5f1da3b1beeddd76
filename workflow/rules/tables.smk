rule table:
    """mean@N across models and benchmarks (JustRL's layout), and every metric."""
    input:
        scores=all_scores,
    output:
        accuracy_md=report(
            ACCURACY_TABLE_PATH.format(ext="md"),
            caption="../report/accuracy.rst",
            category="Tables",
        ),
        accuracy=expand(ACCURACY_TABLE_PATH, ext=["csv", "tex", "parquet"]),
        scores_md=report(
            SCORES_TABLE_PATH.format(ext="md"),
            caption="../report/scores.rst",
            category="Tables",
        ),
        scores=expand(SCORES_TABLE_PATH, ext=["csv", "parquet"]),
    log:
        f"{LOGS_DIR}/table.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        layout=PARAMS.layout,
    shell:
        "python -m justeval table {input.scores:q} --settings {params.layout:q}"
        " --accuracy {output.accuracy_md:q} {output.accuracy:q}"
        " --scores {output.scores_md:q} {output.scores:q} --log {log:q}"


rule compare:
    """Against the published figures, paired bootstraps between models, grading variants."""
    input:
        verdicts=all_verdicts,
        metrics=all_metrics,
        published=PUBLISHED_PATH,
        imported=all_imported,
    output:
        published=report(
            COMPARISON_PATH.format(comparison="published", ext="md"),
            caption="../report/published.rst",
            category="Comparisons",
        ),
        paired=report(
            COMPARISON_PATH.format(comparison="paired", ext="md"),
            caption="../report/paired.rst",
            category="Comparisons",
        ),
        variants=report(
            COMPARISON_PATH.format(comparison="variants", ext="md"),
            caption="../report/variants.rst",
            category="Comparisons",
        ),
        csv=expand(COMPARISON_PATH, comparison=COMPARISON_NAMES, ext="csv"),
    log:
        f"{LOGS_DIR}/compare.log",
    conda:
        "../../envs/grading.yaml"
    params:
        layout=PARAMS.layout,
    shell:
        "python -m justeval compare --verdicts {input.verdicts:q} --metrics {input.metrics:q}"
        " --published {input.published:q} --imported {input.imported:q} --settings {params.layout:q}"
        " --markdown {output.published:q} {output.paired:q} {output.variants:q}"
        " --csv {output.csv:q} --log {log:q}"


rule sweep_table:
    """A training run's checkpoints: accuracy by step, Δ against the first one."""
    input:
        verdicts=stepped_verdicts,
    output:
        markdown=report(
            SWEEP_TABLE_PATH.format(ext="md"),
            caption="../report/sweep.rst",
            category="Tables",
        ),
        csv=SWEEP_TABLE_PATH.format(ext="csv"),
    log:
        f"{LOGS_DIR}/sweep_table.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        layout=PARAMS.layout,
    shell:
        "python -m justeval sweep-table --verdicts {input.verdicts:q} --settings {params.layout:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --log {log:q}"


rule drilldown:
    """Each problem of a benchmark: every model's accuracy and distinct answers."""
    input:
        benchmark=BENCHMARK_PATH,
        verdicts=benchmark_verdicts,
    output:
        markdown=report(
            PROBLEMS_PATH.replace("{ext}", "md"),
            caption="../report/problems.rst",
            category="Per-problem drill-down",
            labels={"benchmark": "{benchmark}"},
        ),
        parquet=PROBLEMS_PATH.replace("{ext}", "parquet"),
    log:
        f"{LOGS_DIR}/drilldown/{{benchmark}}.log",
    conda:
        "../../envs/grading.yaml"
    params:
        clustering=PARAMS.drilldown,
    shell:
        "python -m justeval drilldown --benchmark {input.benchmark:q} --verdicts {input.verdicts:q}"
        " --settings {params.clustering:q}"
        " --parquet {output.parquet:q} --markdown {output.markdown:q} --log {log:q}"


rule provenance:
    """What the numbers trace back to: software, config, commit, models, benchmarks."""
    input:
        manifests=all_manifests,
        benchmarks=all_benchmarks,
        metrics=all_metrics,
    output:
        provenance=report(
            PROVENANCE_PATH, caption="../report/provenance.rst", category="Provenance"
        ),
    log:
        f"{LOGS_DIR}/provenance.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    shell:
        "python -m justeval provenance --manifests {input.manifests:q}"
        " --benchmarks {input.benchmarks:q} --output {output.provenance:q} --log {log:q}"
