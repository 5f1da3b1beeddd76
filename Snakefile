from snakemake.utils import min_version

min_version("9.19")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


# what every rule needs: the config checked and its Plan, paths, input functions
include: "workflow/rules/setup.smk"
include: "workflow/rules/paths.smk"
include: "workflow/rules/inputs.smk"
# one file per stage
include: "workflow/rules/download_model.smk"
include: "workflow/rules/prepare_benchmark.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/import_generations.smk"
include: "workflow/rules/rule_grade.smk"
include: "workflow/rules/model_grade.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/cost.smk"
include: "workflow/rules/overlap.smk"
include: "workflow/rules/truncation.smk"
include: "workflow/rules/samples_needed.smk"
include: "workflow/rules/coverage.smk"
include: "workflow/rules/checkpoint_changes.smk"
include: "workflow/rules/budget.smk"
include: "workflow/rules/problem_view.smk"
include: "workflow/rules/results_page.smk"
include: "workflow/rules/trackers.smk"
# checks before any job (they need every rule's name), then what the run builds
include: "workflow/rules/checks.smk"
include: "workflow/rules/targets.smk"


# The whole protocol: every model on every benchmark, the tables, comparisons,
# per-problem drill-downs, plots and the provenance record.
rule all:
    default_target: True
    input:
        final_targets(),
    localrule: True
