rule budget_grade:
    """One model, benchmark and variant's samples cut at each token budget and graded again.

    The cut texts its rule grader rejects are written as a benchmark of their own, which
    model_grade_budget sends to the variant's verifier.
    """
    input:
        benchmark=BENCHMARK_PATH,
        generations=generation_shards,
        verdicts=VERDICTS_PATH,
        model=model_manifest,
    output:
        grades=BUDGET_GRADES_PATH,
        cut=multiext(
            "results/{model}/{benchmark}/{variant}/budget/cut-",
            "benchmark.parquet",
            "generations.parquet",
            "grades.parquet",
        ),
    log:
        f"{LOGS_DIR}/budget_grade/{{model}}/{{benchmark}}/{{variant}}.log",
    benchmark:
        f"{RUNTIME_DIR}/budget_grade/{{model}}/{{benchmark}}/{{variant}}.tsv"
    conda:
        "../../envs/generation.yaml"
    threads: 2
    resources:
        tokenizer=PARAMS.budget_tokenizer,
    params:
        settings=PARAMS.budget_grade,
    shell:
        "python -m justeval budget-grade --benchmark {input.benchmark:q}"
        " --generations {input.generations:q} --verdicts {input.verdicts:q}"
        " --model-manifest {input.model:q} --tokenizer {resources.tokenizer:q}"
        " --settings {params.settings:q} --jobs {threads} --output {output.grades:q}"
        " --verifier-benchmark {output.cut[0]:q} --verifier-generations {output.cut[1]:q}"
        " --verifier-grades {output.cut[2]:q} --log {log:q}"


rule budget_table:
    """Accuracy against the token budget: the table, and a plot per benchmark."""
    input:
        grades=budget_grades,
        verifier=budget_verifier_verdicts,
    output:
        markdown=report(
            BUDGET_TABLE_PATH.format(ext="md"),
            caption="../report/budget.rst",
            category="Analyses",
        ),
        csv=BUDGET_TABLE_PATH.format(ext="csv"),
        plots=expand(PLOT_BUDGET_PATH, benchmark=PLAN.benchmarks, ext=PLOT_FORMATS),
    log:
        f"{LOGS_DIR}/budget_table.log",
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.budget_table,
    shell:
        "python -m justeval budget-table --grades {input.grades:q}"
        " --verifier-verdicts {input.verifier:q} --settings {params.settings:q}"
        " --markdown {output.markdown:q} --csv {output.csv:q} --plots {output.plots:q}"
        " --log {log:q}"
