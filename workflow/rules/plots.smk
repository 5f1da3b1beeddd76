rule plot_pass_at_k:
    """pass@k against k on one benchmark, every model overlaid."""
    input:
        metrics=benchmark_metrics,
    output:
        png=report(
            PLOT_PASS_AT_K_PATH.replace("{ext}", "png"),
            caption="../report/pass_at_k.rst",
            category="Plots",
            subcategory="pass@k",
            labels={"benchmark": "{benchmark}"},
        ),
        svg=PLOT_PASS_AT_K_PATH.replace("{ext}", "svg"),
    log:
        f"{LOGS_DIR}/plots/pass_at_k/{{benchmark}}.log",
    conda:
        "../../envs/grading.yaml"
    params:
        layout=PARAMS.primary_variant,
    shell:
        "python -m justeval plot pass-at-k {wildcards.benchmark:q} --inputs {input.metrics:q}"
        " --settings {params.layout:q} --outputs {output.png:q} {output.svg:q} --log {log:q}"


rule plot_lengths:
    """Response lengths of one model, correct against incorrect, per benchmark."""
    input:
        verdicts=model_primary_verdicts,
    output:
        png=report(
            PLOT_LENGTHS_PATH.replace("{ext}", "png"),
            caption="../report/lengths.rst",
            category="Plots",
            subcategory="response lengths",
            labels={"model": "{model}"},
        ),
        svg=PLOT_LENGTHS_PATH.replace("{ext}", "svg"),
    log:
        f"{LOGS_DIR}/plots/lengths/{{model}}.log",
    conda:
        "../../envs/grading.yaml"
    params:
        layout=PARAMS.primary_variant,
    shell:
        "python -m justeval plot lengths {wildcards.model:q} --inputs {input.verdicts:q}"
        " --settings {params.layout:q} --outputs {output.png:q} {output.svg:q} --log {log:q}"


rule plot_steps:
    """Accuracy against training step for checkpoints that give a `step`."""
    input:
        metrics=benchmark_stepped_metrics,
    output:
        png=report(
            PLOT_STEPS_PATH.replace("{ext}", "png"),
            caption="../report/steps.rst",
            category="Training curve",
            labels={"benchmark": "{benchmark}"},
        ),
        svg=PLOT_STEPS_PATH.replace("{ext}", "svg"),
    log:
        f"{LOGS_DIR}/plots/steps/{{benchmark}}.log",
    conda:
        "../../envs/grading.yaml"
    params:
        layout=PARAMS.layout,
    shell:
        "python -m justeval plot steps {wildcards.benchmark:q} --inputs {input.metrics:q}"
        " --settings {params.layout:q} --outputs {output.png:q} {output.svg:q} --log {log:q}"
