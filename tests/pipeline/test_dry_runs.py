"""Dry runs of the default protocol and the smoke config, and errors before any job."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import BENCHMARKS, ROOT, new_workdir, planned_jobs, run_snakemake, write_config


def test_default_protocol_job_counts(tmp_path):
    """Nine benchmarks x two models: N=32 and N=4 each in one block of shard_size 32."""
    workdir = new_workdir(tmp_path)
    jobs = planned_jobs(workdir, [])
    per_model = 9
    # each generate and model_grade job loads one engine (JustRL's scripts: 146 loads)
    assert jobs["generate"] + jobs["model_grade"] == 36 <= 40
    assert jobs == {
        "download_model": 3,  # two policy models and the verifier
        "prepare_benchmark": 9,
        "generate": 2 * per_model,
        "rule_grade": 2 * per_model,
        "model_grade": 18,
        "aggregate": 18,
        "collect_scores": 18,
        "table": 1,
        "compare": 1,
        "drilldown": 9,
        "plot_pass_at_k": 9,
        "plot_lengths": 2,
        "provenance": 1,
        "cost": 1,
        "overlap": 1,
        "overlap_accuracy": 1,
        "truncation": 1,
        "samples_needed": 1,
        "budget_grade": 18,
        "model_grade_budget": 18,
        "budget_table": 1,
        "problem_view": 18,  # one per (model, benchmark)
        "results_page": 1,
        "all": 1,
    }


def test_a_fresh_run_asks_for_no_intermediate_by_name(tmp_path):
    """`all` names a pair's documented intermediates only once some of the pair's
    files exist (to remake one that went missing: test_end_to_end); before, the
    pair's scores target makes them all, and a sweep's dry run stays short."""
    workdir = new_workdir(tmp_path)
    proc = run_snakemake(workdir, "--dry-run", "--cores", "1")
    out = proc.stdout + proc.stderr
    block = out.split("rule all:", 1)[1].split("\n\n", 1)[0]
    (inputs,) = [line for line in block.splitlines() if line.strip().startswith("input:")]
    named = inputs.split("input:", 1)[1].split(", ")
    assert "results/tables/accuracy.md" in named and len(named) < 200
    assert not [f for f in named if "/generations/" in f or "/rule_grades/" in f or "/verdicts" in f]


def test_smoke_config_replaces_model_and_benchmark_lists():
    """--configfile merges over config.yaml but replaces its lists."""
    jobs = planned_jobs(ROOT, [ROOT / "tests" / "smoke" / "config.yaml"], "--forceall")
    assert jobs == {
        "build_tiny_model": 2,  # the tiny policy and verifier only: no JustRL model, no CompassVerifier
        "prepare_benchmark": 2,
        "generate": 2,  # N = 2 in one block per benchmark
        "rule_grade": 2,
        "model_grade": 2,
        "aggregate": 2,
        "collect_scores": 2,
        "table": 1,
        "compare": 1,
        "drilldown": 2,
        "plot_pass_at_k": 2,
        "plot_lengths": 1,
        "provenance": 1,
        "cost": 1,
        "overlap": 1,
        "overlap_accuracy": 1,
        "truncation": 1,
        "samples_needed": 1,
        "budget_grade": 2,
        "model_grade_budget": 2,
        "budget_table": 1,
        "problem_view": 2,
        "results_page": 1,
        "all": 1,
    }


@pytest.mark.parametrize(
    "config, message",
    [
        ({"generation": {"temprature": 0.5}}, "config error: generation: unknown key 'temprature'"),
        ({"generation": {"top_p": "high"}}, "config error: generation.top_p: expected number, got 'high'"),
        (
            {"models": [{"name": "mine", "path": "/no/such/model"}]},
            "config error: models[0].path: no such folder: /no/such/model",
        ),
        (
            # checked before the verifier engine loads, not after it ran
            {"model_grade": {"cache": "config.yaml/verifier-cache"}},
            "config error: model_grade.cache: config.yaml/verifier-cache: ",
        ),
        (
            {"grading_variants": [{"name": "main"}, {"name": "b", "rule_grade": {"grader": "nonsense"}}]},
            "config error: grading_variants[1].rule_grade.grader: 'nonsense' is not one of",
        ),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, config, message):
    workdir = new_workdir(tmp_path)
    configfile = write_config(tmp_path / "bad.yaml", config)
    proc = run_snakemake(workdir, "--cores", "1", configfiles=[configfile], check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("config error:")]
    assert lines == [lines[0]] and lines[0].startswith(message), proc.stderr
    assert not (workdir / "results").exists() and not (workdir / "data").exists()


def test_nested_command_line_config_is_typed(tmp_path):
    """The README's form `--config 'generation={temperature: 0.5}'` works."""
    workdir = new_workdir(tmp_path)
    proc = run_snakemake(
        workdir, "--dry-run", "--cores", "1", "--config", "generation={temperature: 0.5, max_tokens: 64}"
    )
    assert "Job stats:" in proc.stdout + proc.stderr


def test_bad_benchmark_file_fails_in_prepare_and_writes_nothing(tmp_path, tiny_models):
    bad = tmp_path / "src" / "BAD" / "test.parquet"
    bad.parent.mkdir(parents=True)
    pd.DataFrame({"problem_idx": [1, 2, 3], "problem": ["a", "b", "c"], "answer": ["1", "", "3"]}).to_parquet(
        bad
    )
    workdir = new_workdir(tmp_path / "run")
    configfile = write_config(
        tmp_path / "c.yaml",
        {
            "models": [{"name": "m", "path": str(tiny_models["random"])}],
            "benchmark_source": str(tmp_path / "src"),
            "benchmarks": [{"name": "BAD", "n_samples": 1}],
            "model_grade": {"enabled": False},
        },
    )
    proc = run_snakemake(workdir, "--cores", "1", configfiles=[configfile], check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("justeval ")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(
        f"justeval prepare-benchmark: error: {bad}: row 1 column 'answer': empty answer"
    )
    assert not (workdir / "data" / "benchmarks" / "BAD.parquet").exists()
    assert not list((workdir / "results").glob("m/**/*.parquet"))


def test_shared_benchmarks_dry_run_with_local_source(tmp_path):
    workdir = new_workdir(tmp_path)
    configfile = write_config(tmp_path / "local.yaml", {"benchmark_source": str(BENCHMARKS)})
    jobs = planned_jobs(workdir, [configfile], "AIME24")
    # N = 32 in one block of 32 per model
    assert jobs["prepare_benchmark"] == 1 and jobs["generate"] == 2 and jobs["AIME24"] == 1


def test_a_training_curve_needs_only_its_benchmark_and_its_checkpoints(tmp_path):
    """The steps plot of one benchmark plans that benchmark's jobs of the models that
    have a step, nothing of the other eight benchmarks or of a model without a step."""
    workdir = new_workdir(tmp_path)
    hub = "hbx/JustRL-DeepSeek-1.5B"
    config = {
        "models": [
            {"name": "r7-a", "hub": hub, "step": 100, "run": "r7"},
            {"name": "r7-b", "hub": hub, "step": 200, "run": "r7"},
            {"name": "other", "hub": hub},
        ]
    }
    configfile = write_config(tmp_path / "steps.yaml", config)
    jobs = planned_jobs(workdir, [configfile], "results/plots/steps/AIME24.svg")
    assert {r: jobs.get(r) for r in ("generate", "rule_grade", "aggregate", "plot_steps")} == {
        "generate": 2,
        "rule_grade": 2,
        "aggregate": 2,
        "plot_steps": 1,
    }
    assert jobs["prepare_benchmark"] == 1


def _job_resources(output: str, rule: str) -> dict[str, dict[str, str]]:
    """model -> resources of each planned job of ``rule`` in a dry run's listing."""
    out, current = {}, None
    for line in (raw.strip() for raw in output.splitlines()):
        if re.match(r"^(local)?rule \w+:$", line):
            current = {} if line.split()[-1] == f"{rule}:" else None
        elif current is not None and line.startswith("wildcards:"):
            current["model"] = re.search(r"model=([^,\s]+)", line).group(1)
        elif current is not None and line.startswith("resources:"):
            out[current["model"]] = dict(re.findall(r"(\w+)=([^,]+)", line.split(":", 1)[1]))
    return out


def test_a_served_models_jobs_ask_for_no_gpu_and_little_memory(tmp_path):
    """An endpoint-only generate job sends requests: no GPU, 1 CPU and 4 GB; a model whose
    weights the job loads asks for the engine's GPUs, 8 CPUs and 32 GB."""
    workdir = new_workdir(tmp_path)
    config = {
        "models": [
            {"name": "served", "endpoint": {"base_url": "http://gpu-node:8000/v1", "model": "m"}},
            {"name": "hubbed", "hub": "org/model", "revision": "main"},
        ],
        "benchmark_source": str(BENCHMARKS),
        "benchmarks": [{"name": "AIME24", "n_samples": 2, "limit": 2}],
        "engine": {"tensor_parallel_size": 2},
    }
    configfile = write_config(tmp_path / "served.yaml", config)
    proc = run_snakemake(workdir, "--dry-run", "--cores", "1", configfiles=[configfile])
    generate = _job_resources(proc.stdout + proc.stderr, "generate")
    assert generate["served"]["gpu"] == "0" and generate["served"]["cpus_per_task"] == "1"
    assert generate["served"]["mem_mb"] == "4000"
    assert generate["hubbed"]["gpu"] == "2" and generate["hubbed"]["cpus_per_task"] == "8"
    assert generate["hubbed"]["mem_mb"] == "32000"
    # the verifier serves both models' leftovers from weights of its own
    grade = _job_resources(proc.stdout + proc.stderr, "model_grade")
    assert grade["served"]["gpu"] == grade["hubbed"]["gpu"] == "2"


def test_a_benchmark_source_reruns_prepare_only_when_its_kept_rows_change(tmp_path):
    """A source file touched, or changed in rows beyond `limit`, gives the same prepared
    rows: nothing reruns (it reran generate and model_grade before). A change in a kept
    row reruns prepare_benchmark."""
    import os

    source = tmp_path / "src" / "AIME24" / "test.parquet"
    source.parent.mkdir(parents=True)
    frame = pd.read_parquet(BENCHMARKS / "AIME24" / "test.parquet")
    frame.to_parquet(source)
    workdir = new_workdir(tmp_path / "run")
    configfile = write_config(
        tmp_path / "c.yaml",
        {
            "models": [],
            "benchmark_source": str(tmp_path / "src"),
            "benchmarks": [{"name": "AIME24", "n_samples": 2, "limit": 3}],
            "overlap": {"enabled": False},
        },
    )
    run_snakemake(workdir, "--cores", "1", configfiles=[configfile])
    prepared = workdir / "data" / "benchmarks" / "AIME24.parquet"
    before = prepared.read_bytes()
    assert planned_jobs(workdir, [configfile]) == {}
    os.utime(source)  # touched
    assert planned_jobs(workdir, [configfile]) == {}

    def edit(row: int, text: str) -> None:  # the verl layout: the problem is prompt[0].content
        prompt = [dict(m) for m in frame.at[row, "prompt"]]
        prompt[0]["content"] += text
        frame.at[row, "prompt"] = prompt
        frame.to_parquet(source)

    edit(10, " Row 10 is beyond the limit.")
    assert planned_jobs(workdir, [configfile]) == {}
    edit(1, " (edited)")
    assert planned_jobs(workdir, [configfile]) == {"prepare_benchmark": 1, "all": 1}
    assert prepared.read_bytes() == before  # a dry run wrote nothing


def test_the_gallery_config_regrades_the_shared_real_outputs():
    """imports/real-outputs.yaml: every file recognised (format auto) when the config is
    read, one import per (model, file), no engine; the Qwen file's verdicts make its
    `harness` variant, the Saturn files carry none."""
    jobs = planned_jobs(ROOT, [ROOT / "imports" / "real-outputs.yaml"], "--forceall")
    assert jobs["import_generations"] == 15
    assert jobs["provided_verdicts"] == 1  # qwen2.5-math-7b on MATH-500
    # no weights at all (model_grade jobs only pass the rule grades on: the verifier is off)
    assert "generate" not in jobs and "download_model" not in jobs and "build_tiny_model" not in jobs
