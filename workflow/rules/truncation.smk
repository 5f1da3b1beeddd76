rule truncation:
    """Samples cut by the length limit, classed as loops or still open, with their accuracy."""
    input:
        verdicts=all_verdicts,
        generations=all_generations,
    output:
        markdown=report(
            TRUNCATION_PATH.format(ext="md"),
            caption="../report/truncation.rst",
            category="Analyses",
        ),
        csv=TRUNCATION_PATH.format(ext="csv"),
    log:
        f"{LOGS_DIR}/truncation.log",
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.truncation,
    shell:
        "python -m justeval truncation --verdicts {input.verdicts:q}"
        " --generations {input.generations:q} --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --log {log:q}"
