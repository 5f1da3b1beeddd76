rule cost:
    """What the run spent on engines: loads, seconds, tokens and batch occupancy."""
    input:
        stats=engine_stats,
    output:
        markdown=report(
            COST_PATH.format(ext="md"), caption="../report/cost.rst", category="Tables"
        ),
        csv=COST_PATH.format(ext="csv"),
    log:
        f"{LOGS_DIR}/cost.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        layout=PARAMS.cost,
    shell:
        "python -m justeval cost {input.stats:q} --settings {params.layout:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --log {log:q}"
