rule checkpoint_changes:
    """Problems learned and forgotten between a run's checkpoints; how much the best step flatters."""
    input:
        verdicts=stepped_verdicts,
    output:
        markdown=report(
            CHECKPOINT_CHANGES_PATH.format(ext="md"),
            caption="../report/checkpoint_changes.rst",
            category="Training curve",
        ),
        csv=CHECKPOINT_CHANGES_PATH.format(ext="csv"),
    log:
        f"{LOGS_DIR}/checkpoint_changes.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.checkpoint_changes,
    shell:
        "python -m justeval checkpoint-changes --verdicts {input.verdicts:q}"
        " --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --log {log:q}"
