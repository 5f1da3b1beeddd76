rule samples_needed:
    """How many samples each benchmark needs, and where the problem set, not N, is the limit."""
    input:
        verdicts=all_verdicts,
    output:
        markdown=report(
            SAMPLES_NEEDED_PATH.format(ext="md"),
            caption="../report/samples_needed.rst",
            category="Analyses",
        ),
        csv=SAMPLES_NEEDED_PATH.format(ext="csv"),
    log:
        f"{LOGS_DIR}/samples_needed.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.samples_needed,
    shell:
        "python -m justeval samples-needed --verdicts {input.verdicts:q} --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --log {log:q}"
