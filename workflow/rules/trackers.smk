rule log_trackers:
    """The headline table, sweep curves and analysis tables, logged to MLflow / W&B."""
    input:
        accuracy=ACCURACY_TABLE_PATH.format(ext="csv"),
        sweep=tracker_sweep,
        tables=tracker_tables,
    output:
        receipt=TRACKERS_RECEIPT_PATH,
    log:
        f"{LOGS_DIR}/log_trackers.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.trackers,
    shell:
        "python -m justeval log-trackers --accuracy {input.accuracy:q}"
        " --sweep {input.sweep:q} --tables {input.tables:q} --settings {params.settings:q}"
        " --receipt {output.receipt:q} --log {log:q}"
