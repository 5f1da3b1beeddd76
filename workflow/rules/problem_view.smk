rule problem_view:
    """One (model, benchmark) cell of the results page: every problem, every sample."""
    input:
        benchmark=BENCHMARK_PATH,
        generations=generation_shards,
        verdicts=pair_primary_verdicts,
    output:
        view=directory(PROBLEM_VIEW_PATH),
    log:
        f"{LOGS_DIR}/problem_view/{{model}}/{{benchmark}}.log",
    # files in, HTML out, a few seconds at the published size: a cluster job's queue
    # wait would cost more than the job
    localrule: True
    conda:
        "../../envs/grading.yaml"
    params:
        settings=PARAMS.problem_view,
    shell:
        "python -m justeval problem-view --benchmark {input.benchmark:q}"
        " --generations {input.generations:q} --verdicts {input.verdicts:q}"
        " --settings {params.settings:q} --output {output.view:q} --log {log:q}"
