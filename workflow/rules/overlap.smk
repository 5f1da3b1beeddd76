rule overlap:
    """Benchmark problems the training sets (or other benchmarks) hold: copies and look-alikes.

    Needs only the prepared benchmarks and the training files: `snakemake overlap` runs it
    with no model, no engine and no verdicts.
    """
    input:
        benchmarks=all_benchmarks,
        train=overlap_training_files,
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
    benchmark:
        f"{RUNTIME_DIR}/overlap.tsv"
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.overlap,
    shell:
        "python -m justeval overlap --benchmarks {input.benchmarks:q}"
        " --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --summary {output.summary:q}"
        " --log {log:q}"


rule overlap_accuracy:
    """Each model's accuracy with and without the problems a training set holds a copy of."""
    input:
        pairs=OVERLAP_PATH.format(ext="csv"),
        verdicts=all_verdicts,
    output:
        markdown=report(
            OVERLAP_ACCURACY_PATH.format(ext="md"),
            caption="../report/overlap_accuracy.rst",
            category="Tables",
        ),
        csv=OVERLAP_ACCURACY_PATH.format(ext="csv"),
    log:
        f"{LOGS_DIR}/overlap_accuracy.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.overlap_accuracy,
    shell:
        "python -m justeval overlap-accuracy --pairs {input.pairs:q} --verdicts {input.verdicts:q}"
        " --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --log {log:q}"
