"""A training run's checkpoints through the real Snakefile: one sweep entry, a
checkpoint that appears later, the curve and the sweep table read back.

The checkpoints are tiny models copied into a verl-like tree: step 0 is random
weights (0 % on AIME24), steps 100 and 200 answer \\boxed{113}, the gold of
AIME24's second problem (33.33 % of three problems).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from conftest import (
    BENCHMARKS,
    date_back,
    new_workdir,
    planned_jobs,
    run_snakemake,
    snakemake_env,
    write_config,
)
from justeval.stages.plots import steps_figure

pytestmark = pytest.mark.pipeline

SVG = "{http://www.w3.org/2000/svg}"


def _checkpoint(root, step, model_folder):
    target = root / f"global_step_{step}" / "actor" / "huggingface"
    shutil.copytree(model_folder, target)
    date_back(target)
    return target


def test_a_sweep_evaluates_each_checkpoint_once(tmp_path, tiny_models, monkeypatch):
    ckpt = tmp_path / "ckpt" / "run7"
    _checkpoint(ckpt, 0, tiny_models["random"])
    _checkpoint(ckpt, 100, tiny_models["boxed113"])
    workdir = new_workdir(tmp_path / "run")
    config = {
        "models": [{"name": "r7", "sweep": {"glob": str(ckpt / "global_step_*" / "actor" / "huggingface")}}],
        "benchmark_source": str(BENCHMARKS),
        "benchmarks": [{"name": "AIME24", "n_samples": 2, "limit": 3, "shard_size": 2}],
        "generation": {"max_tokens": 16},
        "model_grade": {"enabled": False},
        "aggregate": {"bootstrap_samples": 4000},
        "analysis": {"budgets": [2, 8, 16]},
        # the training run's dashboard: eval accuracy against step, in a local MLflow
        # store and an offline W&B run
        "trackers": {
            "mlflow": {"enabled": True, "tracking_uri": (tmp_path / "mlruns").as_uri(), "experiment": "rl"},
            "wandb": {"enabled": True, "mode": "offline", "dir": str(tmp_path / "wandb")},
        },
    }
    configfile = write_config(workdir / "c.yaml", config)
    trace = tmp_path / "trace.jsonl"
    home = {
        f"WANDB_{v}_DIR": str(tmp_path / "wandb-home" / v) for v in ("CACHE", "CONFIG", "DATA", "ARTIFACT")
    }
    env = snakemake_env(
        JUSTEVAL_ENGINE_TRACE=str(trace), MLFLOW_ALLOW_FILE_STORE="true", WANDB_SILENT="true", **home
    )
    run_snakemake(workdir, "--cores", "2", configfiles=[configfile], env=env)
    first_sweep = pd.read_csv(workdir / "results" / "tables" / "sweep.csv")
    assert first_sweep["model"].unique().tolist() == ["r7-step0", "r7-step100"]

    # a checkpoint appears: the next call evaluates it and nothing else that was done
    _checkpoint(ckpt, 200, tiny_models["boxed113"])
    # and one whose weights file the trainer is still writing: left for a later call
    writing = _checkpoint(ckpt, 300, tiny_models["boxed113"]) / "model.safetensors"
    os.truncate(writing, writing.stat().st_size // 2)
    date_back(writing.parent)
    dry = run_snakemake(workdir, "--dry-run", "--cores", "1", configfiles=[configfile])
    (line,) = [x for x in dry.stderr.splitlines() if "step 300" in x]
    assert line.startswith("justeval: models[0].sweep, step 300: ") and "model.safetensors holds" in line
    assert "r7-step300" not in dry.stdout + dry.stderr.replace(line, "")
    planned = planned_jobs(workdir, [configfile])
    per_checkpoint = {"generate": 1, "rule_grade": 1, "aggregate": 1, "collect_scores": 1, "plot_lengths": 1}
    assert {r: planned[r] for r in per_checkpoint} == per_checkpoint
    assert "download_model" in planned and planned["download_model"] == 1
    calls_before = len(trace.read_text().splitlines())
    run_snakemake(workdir, "--cores", "2", configfiles=[configfile], env=env)
    new_calls = [json.loads(line) for line in trace.read_text().splitlines()[calls_before:]]
    assert [c["job"] for c in new_calls] == ["generate r7-step200 shard 0"]
    assert planned_jobs(workdir, [configfile]) == {}
    # how long a folder must rest decides only what is waited for, never a result
    config["models"][0]["sweep"]["settle_seconds"] = 0
    assert planned_jobs(workdir, [write_config(workdir / "settle.yaml", config)]) == {}

    sweep = pd.read_csv(workdir / "results" / "tables" / "sweep.csv")
    accuracy = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv").set_index("model")
    rows = sweep.set_index(["model", "benchmark"])
    assert sweep["step"].unique().tolist() == [0, 100, 200] and set(sweep["run"]) == {"r7"}
    for model, expected in (("r7-step0", 0.0), ("r7-step100", 100 / 3), ("r7-step200", 100 / 3)):
        assert rows.loc[(model, "AIME24"), "mean_at_n"] == pytest.approx(expected, abs=1e-9)
        assert rows.loc[(model, "Avg"), "mean_at_n"] == pytest.approx(expected, abs=1e-9)
        assert accuracy.loc[model].iloc[0] == pytest.approx(expected, abs=0.005)  # the same number
    # per-problem differences against step 0 are 0, 100, 0 (%): Δ 33.33 with the
    # percentile interval [0, 100] (P(no problem 2 in a resample) = 8/27 > 2.5 %,
    # P(only problem 2) = 1/27 > 2.5 %)
    for model in ("r7-step100", "r7-step200"):
        delta = rows.loc[(model, "AIME24"), ["delta_vs_first", "ci_low", "ci_high"]].tolist()
        assert delta == pytest.approx([100 / 3, 0.0, 100.0])
    assert rows.loc[("r7-step0", "AIME24"), ["delta_vs_first", "ci_low", "ci_high"]].tolist() == [0, 0, 0]
    # the earlier checkpoints' rows did not move when step 200 arrived
    pd.testing.assert_frame_equal(sweep[sweep["step"] < 200].reset_index(drop=True), first_sweep)
    md = (workdir / "results" / "tables" / "sweep.md").read_text()
    assert "Best step by Avg: **100** (r7-step100, 33.33)" in md and "overstates" in md

    # the training curve: what the SVG holds and what the figure plotted
    svg = ET.parse(workdir / "results" / "plots" / "steps" / "AIME24.svg").getroot()
    (group,) = [g for g in svg.iter(f"{SVG}g") if g.get("id", "").startswith("steps ")]
    assert group.get("id") == "steps r7"
    assert sum(1 for _ in group.iter(f"{SVG}use")) == 3  # one marker per checkpoint
    layout = {
        m: {"step": s, "run": "r7"} for m, s in (("r7-step0", 0), ("r7-step100", 100), ("r7-step200", 200))
    }
    metrics = [str(workdir / "results" / m / "AIME24" / "main" / "metrics.parquet") for m in layout]
    (ax,) = steps_figure(metrics, "AIME24", layout, "main").axes
    (container,) = ax.containers
    assert list(container.lines[0].get_xdata()) == [0, 100, 200]
    assert list(container.lines[0].get_ydata()) == pytest.approx([0.0, 100 / 3, 100 / 3])

    # coverage, by default the run's first checkpoint against its last: the random step 0
    # solves nothing; step 200 solves AIME24-1 in both samples (pass@1 = pass@2 = 1/3)
    coverage = pd.read_csv(workdir / "results" / "tables" / "coverage.csv")
    curve = coverage[coverage["section"] == "pass_at_k"]
    assert (curve["base"] == "r7-step0").all() and (curve["model"] == "r7-step200").all()
    assert curve["k"].tolist() == [1, 2]
    assert curve["pass_base"].tolist() == [0.0, 0.0]
    assert curve["pass_model"].tolist() == pytest.approx([100 / 3, 100 / 3])
    crossing = coverage[coverage["section"] == "crossover"].iloc[0]
    assert pd.isna(crossing["k_star"])  # the base never catches up: none up to N
    only = coverage[coverage["section"] == "only_one"]
    assert only[["problem_id", "solved_by"]].values.tolist() == [["AIME24-1", "model"]]
    # what changed between checkpoints: AIME24-1 goes from 0 of 2 to 2 of 2 between steps 0
    # and 100; Fisher's exact test, two-sided: both extreme tables of margins (2, 2 of 4)
    changes = pd.read_csv(workdir / "results" / "tables" / "checkpoint_changes.csv")
    row = changes[(changes["section"] == "change") & (changes["problem_id"] == "AIME24-1")].iloc[0]
    assert row["p_value"] == pytest.approx(2 * math.comb(2, 2) * math.comb(2, 0) / math.comb(4, 2))
    assert not row["significant"]  # 1/3 cannot be told from noise with 2 samples

    # the budget curve: every sample ran to the limit of 16 tokens (finished by no budget),
    # so at 2 and 8 tokens each of the 6 samples of a checkpoint is cut and graded again;
    # step 0 (random weights) is wrong at every budget, steps 100 and 200 answer \boxed{113}
    # from their first token (one token of their tokenizer): AIME24-1 right at every budget
    budget = pd.read_csv(workdir / "results" / "tables" / "budget.csv")
    rows = budget.set_index(["model", "budget"])
    for model, expected in (("r7-step0", 0.0), ("r7-step100", 100 / 3), ("r7-step200", 100 / 3)):
        for b in (2, 8, 16):
            assert rows.loc[(model, b), "mean_at_n"] == pytest.approx(expected, abs=1e-4), (model, b)
            assert rows.loc[(model, b), "cut"] == (6 if b < 16 else 0)
            assert rows.loc[(model, b), "finished_pct"] == 0
    # an analysis setting reruns only its rule(s): the budgets, the budget curve's
    changed = write_config(workdir / "budgets.yaml", {**config, "analysis": {"budgets": [4, 16]}})
    after_budget_table = {"results_page": 1, "log_trackers": 1, "all": 1}
    assert planned_jobs(workdir, [changed]) == {"budget_grade": 3, "budget_table": 1, **after_budget_table}

    # the results page's curve by step: its points are the sweep table's rows
    page = (workdir / "results" / "index.html").read_text()
    chart = page.split('id="sweep-AIME24"', 1)[1].split("</svg>", 1)[0]
    points = re.findall(r'data-series="r7" data-x="([^"]+)" data-y="([^"]+)"', chart)
    aime = sweep[sweep["benchmark"] == "AIME24"]
    assert [(float(x), float(y)) for x, y in points] == list(
        zip(aime["step"], aime["mean_at_n"], strict=True)
    )

    # the trackers, read back: MLflow's series eval/AIME24 is the sweep by step (the second
    # call logged a second run, with step 200), the W&B run was written offline
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3's file store is opt-in
    receipt = json.loads((workdir / "results" / "trackers.json").read_text())
    assert receipt["mlflow"]["logged"] and receipt["wandb"]["logged"], receipt
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    history = client.get_metric_history(receipt["mlflow"]["run_id"], "eval/AIME24")
    assert sorted((m.step, m.value) for m in history) == list(
        zip(aime["step"], aime["mean_at_n"], strict=True)
    )
    cell = client.get_run(receipt["mlflow"]["run_id"]).data.metrics["accuracy/r7-step100/AIME24"]
    assert cell == pytest.approx(accuracy.loc["r7-step100"].iloc[0])
    assert list((tmp_path / "wandb" / "wandb").glob("offline-run-*/run-*.wandb"))


def test_an_unmerged_trainer_checkpoint_stops_the_run_before_it_starts(tmp_path, tiny_models):
    ckpt = tmp_path / "ckpt"
    _checkpoint(ckpt, 0, tiny_models["random"])
    actor = ckpt / "global_step_50" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    shutil.copy(tiny_models["random"] / "config.json", actor / "huggingface" / "config.json")
    for rank in range(2):
        (actor / f"model_world_size_2_rank_{rank}.pt").write_bytes(b"\0" * 16)
    date_back(actor)
    workdir = new_workdir(tmp_path / "run")
    config = {
        "models": [{"name": "r7", "sweep": {"glob": str(ckpt / "global_step_*" / "actor" / "huggingface")}}],
        "benchmark_source": str(BENCHMARKS),
        "benchmarks": [{"name": "AIME24", "n_samples": 2, "limit": 3}],
    }
    configfile = write_config(workdir / "c.yaml", config)
    proc = run_snakemake(workdir, "--cores", "2", configfiles=[configfile], check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("config error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert str(actor) in errors[0] and "verl.model_merger merge" in errors[0]
    assert not (workdir / "results").exists() or not any((workdir / "results").rglob("*.parquet"))
