rule overlap:
    """Near-duplicate problems across benchmarks and the named training data."""
    input:
        benchmarks=expand(BENCHMARK_PATH, benchmark=PLAN.benchmarks),
        train=overlap_training_files,
        verdicts=all_verdicts,
    output:
        markdown=report(
            OVERLAP_PATH.format(ext="md"),
            caption="../report/overlap.rst",
            category="Tables",
        ),
        csv=OVERLAP_PATH.format(ext="csv"),
        summary=OVERLAP_SUMMARY_PATH,
    log:
        f"{LOGS_DIR}/overlap.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.overlap,
    shell:
        "python -m justeval overlap --benchmarks {input.benchmarks:q}"
        " --verdicts {input.verdicts:q} --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --summary {output.summary:q}"
        " --log {log:q}"
