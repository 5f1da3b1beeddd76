rule results_page:
    """results/index.html: the headline table, curves and every analysis table."""
    input:
        accuracy=ACCURACY_TABLE_PATH.format(ext="csv"),
        tables=page_tables,
        views=problem_views,
    output:
        page=report(
            PAGE_PATH, caption="../report/results_page.rst", category="Results page"
        ),
        headline=PAGE_HEADLINE_PATH,
    log:
        f"{LOGS_DIR}/results_page.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.results_page,
    shell:
        "python -m justeval results-page --accuracy {input.accuracy:q}"
        " --tables {input.tables:q} --views {input.views:q} --settings {params.settings:q}"
        " --output {output.page:q} --headline {output.headline:q} --log {log:q}"
