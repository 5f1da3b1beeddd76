"""Engine measurements (EngineStats) and the cost table built from them."""

from __future__ import annotations

import json

import pytest

from justeval.engine.stats import EngineStats
from justeval.stages.cost import cost, cost_table, job_row


def test_engine_stats_summarise_loads_tokens_and_occupancy():
    stats = EngineStats()
    stats.loaded(20.0)
    stats.batch_started(4)
    for in_flight in (4, 4, 3, 1, 1):  # peak 4: two steps below half of it
        stats.step(in_flight)
    for prompt, completion in ((10, 5), (10, 7), (12, 3), (11, 9)):
        stats.finished(prompt, completion)
    stats.batch_done()
    got = stats.summary()
    assert (got["engine_loads"], got["load_seconds"], got["requests"]) == (1, 20.0, 4)
    assert (got["prompt_tokens"], got["completion_tokens"]) == (43, 24)
    assert (got["steps"], got["peak_in_flight"], got["share_of_steps_below_half_peak"]) == (5, 4, 0.4)
    assert got["first_to_last_finished_seconds"] >= 0 and got["generation_seconds"] >= 0


def _job(tmp_path, name, wall, **fields):
    path = tmp_path / f"{name}.engine.json"
    path.write_text(json.dumps(fields))
    if wall is not None:
        (tmp_path / f"{name}.tsv").write_text(f"s\th:m:s\tmax_rss\n{wall}\t0:00:01\t100\n")
    return str(path)


def _fields(stage, model, bench, loads, load, gen, samples, completion, steps=10, below=0.5, peak=8):
    return dict(
        stage=stage, model=model, benchmark=bench, engine_loads=loads, load_seconds=load,
        generation_seconds=gen, requests=samples, samples=samples, prompt_tokens=10 * samples,
        completion_tokens=completion, steps=steps, peak_in_flight=peak,
        share_of_steps_below_half_peak=below, first_to_last_finished_seconds=gen / 2,
    )  # fmt: skip


def test_cost_table_sums_jobs_per_model_benchmark_and_stage(tmp_path):
    paths = [
        _job(tmp_path, "g0", 31.5, **_fields("generate", "b-model", "AIME24", 1, 20.0, 10.0, 60, 3000)),
        _job(
            tmp_path,
            "g1",
            28.5,
            **_fields("generate", "b-model", "AIME24", 1, 18.0, 10.0, 60, 1000, below=0.1),
        ),
        _job(tmp_path, "g2", None, **_fields("generate", "a-model", "AIME24", 0, 0.0, 0.0, 60, 0, steps=0)),
        _job(tmp_path, "v0", 12.0, **_fields("model_grade", "b-model", "AIME24", 1, 6.0, 2.0, 120, 40)),
    ]
    rows = [job_row(p) for p in paths]
    assert rows[0]["wall_seconds"] == 31.5 and rows[2]["wall_seconds"] is None
    table = cost_table(rows, models=["a-model", "b-model"], benchmarks=["AIME24"])
    assert table[["model", "stage"]].values.tolist() == [
        ["a-model", "generate"], ["b-model", "generate"], ["b-model", "model_grade"],
        ["all", "generate"], ["all", "model_grade"],
    ]  # fmt: skip
    gen = table.iloc[1]
    assert (gen["jobs"], gen["engine_loads"], gen["load_seconds"], gen["wall_seconds"]) == (2, 2, 38.0, 60.0)
    assert (gen["samples"], gen["completion_tokens"]) == (120, 4000)
    assert gen["tokens_per_second"] == pytest.approx(4000 / 20.0)
    assert gen["engine_seconds_per_sample"] == pytest.approx((38.0 + 20.0) / 120)
    assert gen["share_of_steps_below_half_peak"] == pytest.approx((5 + 1) / 20)
    # a job that found every sample in its journal loaded nothing and costs nothing
    assert table.iloc[0]["engine_loads"] == 0 and table.iloc[0]["engine_seconds_per_sample"] == 0
    total = table.iloc[3]
    assert (total["jobs"], total["engine_loads"], total["samples"]) == (3, 2, 180)


def test_cost_command_writes_the_table(tmp_path):
    path = _job(tmp_path, "g0", 30.0, **_fields("generate", "m", "B", 1, 20.0, 10.0, 8, 80))
    md, csv = tmp_path / "cost.md", tmp_path / "cost.csv"
    settings = {"order": {"models": ["m"], "benchmarks": ["B"]}}
    cost(stats=[path], settings=settings, markdown_out=str(md), csv_out=str(csv))
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("model,benchmark,stage,jobs,engine_loads,load_seconds")
    assert lines[1].startswith("m,B,generate,1,1,20.0,10.0,30.0,8,")
    assert "| m " in md.read_text()
    cost(stats=[], settings=settings, markdown_out=str(md), csv_out=str(csv))
    assert "No engine jobs" in md.read_text()
