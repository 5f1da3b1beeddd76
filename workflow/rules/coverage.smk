rule coverage:
    """pass@k up to N of pairs of models, the crossover k*, and the problems only one solves."""
    input:
        verdicts=coverage_verdicts,
    output:
        markdown=report(
            COVERAGE_PATH.format(ext="md"),
            caption="../report/coverage.rst",
            category="Analyses",
        ),
        csv=COVERAGE_PATH.format(ext="csv"),
        plots=expand(PLOT_COVERAGE_PATH, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS),
    log:
        f"{LOGS_DIR}/coverage.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.coverage,
    shell:
        "python -m justeval coverage --verdicts {input.verdicts:q} --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --plots {output.plots:q} --log {log:q}"
