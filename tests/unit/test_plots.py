"""Plots checked by what they show, on metrics computed from real responses.

The fixture: the 800 real Qwen2.5-Math responses in ../shared/real-outputs (100
MATH problems x 8 samples, with that harness's own verdicts), split into two
"models" of four samples each, and scored with the pipeline's metrics code.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED
from justeval.io.parquet import write_parquet
from justeval.io.schemas import VERDICTS
from justeval.metrics.scores import Spec, score
from justeval.stages.plots import lengths_figure, pass_at_k_figure, pass_at_k_plot, steps_figure

REAL = SHARED / "real-outputs" / "qwen25-math_math-cot-100.jsonl"
SVG = "{http://www.w3.org/2000/svg}"


def _real_verdicts() -> dict[str, pd.DataFrame]:
    """Two models: samples 0-3 and samples 4-7 of each problem."""
    rows = [json.loads(line) for line in REAL.read_text().splitlines()]
    models: dict[str, list] = {"qwen-a": [], "qwen-b": []}
    for i, row in enumerate(rows):
        for j, (response, ok) in enumerate(zip(row["code"], row["score"], strict=True)):
            models["qwen-a" if j < 4 else "qwen-b"].append(
                {
                    "problem_id": f"p{i}",
                    "sample_idx": j % 4,
                    "seed": j,
                    "extracted_answer": row["pred"][j],
                    "rule_correct": bool(ok),
                    "status": "match" if ok else "mismatch",
                    "layer": "provided",
                    "sent_to_verifier": False,
                    "verifier_verdict": None,
                    "verifier_output": None,
                    "input_truncated": False,
                    "correct": bool(ok),
                    "completion_tokens": len(response) // 4,
                    "finish_reason": "stop",
                    "response_chars": len(response),
                }
            )
    return {m: pd.DataFrame(r) for m, r in models.items()}


def _spec(model: str, problem_ids: list[str], ks: list[int], bootstrap_samples: int) -> Spec:
    return Spec(
        model=model, benchmark="MATH", variant="main", problem_ids=problem_ids, n_samples=4, ks=ks,
        bootstrap_samples=bootstrap_samples, seed=0, label="verdicts",
    )  # fmt: skip


@pytest.fixture(scope="module")
def real_metrics(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metrics")
    verdicts = _real_verdicts()
    paths, rows = [], []
    for model, frame in verdicts.items():
        pids = sorted(frame["problem_id"].unique(), key=lambda p: int(p[1:]))
        row = score(frame, _spec(model, pids, [1, 2, 4], bootstrap_samples=50)).row
        rows.append(row)
        path = folder / f"{model}.parquet"
        pd.DataFrame([row]).to_parquet(path)
        paths.append(str(path))
        vpath = folder / model / "MATH" / "main" / "verdicts.parquet"
        vpath.parent.mkdir(parents=True)
        write_parquet(
            frame, vpath, VERDICTS, {"identity": {"model": model, "benchmark": "MATH", "variant": "main"}}
        )
    return paths, pd.DataFrame(rows), verdicts, folder


def test_fixture_is_not_trivial(real_metrics):
    _, table, _, _ = real_metrics
    assert table["model"].tolist() == ["qwen-a", "qwen-b"]
    # neither all zeros nor all 100 %, and the two halves differ
    assert all(50 < v < 100 for v in table["pass@1"])
    assert table["pass@2"].iloc[0] != table["pass@2"].iloc[1]
    assert all(table["pass@4"] > table["pass@1"])


def test_pass_at_k_plot_shows_the_table_values(real_metrics):
    paths, table, _, _ = real_metrics
    fig = pass_at_k_figure(paths, "MATH", "main")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["qwen-a", "qwen-b"]  # config order, not alphabetical by accident
    for row in table.to_dict("records"):
        line = lines[row["model"]]
        assert list(line.get_xdata()) == [1, 2, 4]
        assert list(line.get_ydata()) == pytest.approx([row["pass@1"], row["pass@2"], row["pass@4"]])


def test_pass_at_k_svg_holds_one_marker_per_point(real_metrics, tmp_path):
    """Read back from the written file: a plot with axes and a legend but no line fails."""
    paths, _, _, _ = real_metrics
    svg = tmp_path / "p.svg"
    pass_at_k_plot(paths, "MATH", [str(svg)], "main")
    root = ET.parse(svg).getroot()
    markers = {
        group.get("id"): sum(1 for _ in group.iter(f"{SVG}use"))
        for group in root.iter(f"{SVG}g")
        if group.get("id", "").startswith("pass_at_k ")
    }
    assert markers == {"pass_at_k qwen-a": 3, "pass_at_k qwen-b": 3}  # one marker per (model, k)


def test_lengths_histograms_hold_every_counted_sample(real_metrics):
    _, _, verdicts, folder = real_metrics
    path = folder / "qwen-a" / "MATH" / "main" / "verdicts.parquet"
    fig = lengths_figure([str(path)], "qwen-a")
    ax = fig.axes[0]
    frame = verdicts["qwen-a"]
    heights = [sum(p.get_height() for p in container) for container in ax.containers]
    assert heights == [frame["correct"].sum(), (~frame["correct"]).sum()]
    assert sum(heights) == len(frame) == 400
    assert list(VERDICTS.names) == list(frame.columns)
    assert ax.get_xlabel() == "completion tokens"


def test_imports_without_token_counts_are_measured_in_characters(real_metrics, tmp_path):
    """JustRL's and Qwen's files carry no token counts: lengths are characters, and
    the axis and the metrics say so."""
    _, _, verdicts, _ = real_metrics
    frame = verdicts["qwen-b"].assign(completion_tokens=None)
    path = tmp_path / "qwen-b" / "MATH" / "main" / "verdicts.parquet"
    path.parent.mkdir(parents=True)
    write_parquet(
        frame, path, VERDICTS, {"identity": {"model": "qwen-b", "benchmark": "MATH", "variant": "main"}}
    )
    ax = lengths_figure([str(path)], "qwen-b").axes[0]
    assert ax.get_xlabel() == "response characters"
    heights = [sum(p.get_height() for p in container) for container in ax.containers]
    assert sum(heights) == 400
    pids = sorted(frame["problem_id"].unique(), key=lambda p: int(p[1:]))
    row = score(frame, _spec("qwen-b", pids, [1], bootstrap_samples=10)).row
    assert row["length_unit"] == "characters"
    assert row["mean_completion_tokens"] == pytest.approx(frame["response_chars"].mean())
    assert row["tokens_correct_median"] == pytest.approx(
        frame.loc[frame["correct"], "response_chars"].median()
    )
    counted = score(verdicts["qwen-b"], _spec("qwen-b", pids, [1], bootstrap_samples=10)).row
    assert counted["length_unit"] == "tokens"


def test_steps_plot_shows_each_run_with_its_interval(tmp_path):
    metrics = tmp_path / "m.parquet"
    rows = [
        {"model": f"r{r}-{s}", "benchmark": "AIME24", "variant": "main", "mean_at_n": m,
         "sampling_ci_low": m - 2.5, "sampling_ci_high": m + 3.0}
        for r, points in ((1, ((100, 20.0), (200, 31.25))), (2, ((100, 12.5), (300, 40.0))))
        for s, m in points
    ]  # fmt: skip
    pd.DataFrame(rows).to_parquet(metrics)
    models = {r["model"]: {"step": int(r["model"].split("-")[1]), "run": r["model"][:2]} for r in rows}
    fig = steps_figure([str(metrics)], "AIME24", models, "main")
    (ax,) = fig.axes
    lines = {c.get_label(): c.lines[0] for c in ax.containers}  # errorbar: (data line, caps, bars)
    assert list(lines) == ["r1", "r2"]
    assert list(lines["r1"].get_xdata()) == [100, 200]
    assert list(lines["r1"].get_ydata()) == [20.0, 31.25]
    assert list(lines["r2"].get_ydata()) == [12.5, 40.0]
    # the error bars span [low, high] of each point
    segments = np.concatenate([c.get_segments() for c in ax.collections])
    spans = sorted((float(s[0][1]), float(s[1][1])) for s in segments)
    assert spans == sorted((r["sampling_ci_low"], r["sampling_ci_high"]) for r in rows)
