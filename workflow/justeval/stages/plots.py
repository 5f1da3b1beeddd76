"""Plots (PNG and SVG): pass@k curves, response lengths, accuracy against training step."""

from __future__ import annotations

import math
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command, layout
from justeval.io.identity import file_identity
from justeval.io.parquet import read_parquet, read_shards
from justeval.io.schemas import VERDICTS
from justeval.metrics.figures import pyplot, save_figure
from justeval.metrics.formatting import checkpoint_runs
from justeval.metrics.scores import lengths


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, legend: bool):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize=7)
    return fig


def pass_at_k_series(frame: pd.DataFrame) -> dict[str, tuple[list[int], list[float]]]:
    """model -> (k values, pass@k in %) for every metrics row, in row order."""
    series = {}
    for data in frame.to_dict("records"):  # column names such as pass@4 are no identifiers
        ks = sorted(int(c.split("@")[1]) for c in data if c.startswith("pass@") and not _nan(data[c]))
        series[data["model"]] = (ks, [float(data[f"pass@{k}"]) for k in ks])
    return series


def pass_at_k_figure(metric_paths: list[str], benchmark: str, variant: str):
    """The pass@k curves of every model on one benchmark (a matplotlib figure)."""
    plt = pyplot()
    frame = read_shards(metric_paths)
    frame = frame[(frame["benchmark"] == benchmark) & (frame["variant"] == variant)]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    series = pass_at_k_series(frame)
    for model, (ks, values) in series.items():
        ax.plot(ks, values, marker="o", label=model, gid=f"pass_at_k {model}")
    ax.set_xscale("log", base=2)
    return _finish(fig, ax, "k", "pass@k (%)", f"{benchmark}: pass@k", legend=bool(series))


def pass_at_k_plot(metric_paths: list[str], benchmark: str, outputs: list[str], variant: str) -> None:
    save_figure(pass_at_k_figure(metric_paths, benchmark, variant), outputs)


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def lengths_figure(verdict_paths: list[str], model: str):
    """Histograms of completion lengths, correct against incorrect, one panel per benchmark."""
    plt = pyplot()
    frames = {file_identity(p)["benchmark"]: read_parquet(p, VERDICTS) for p in verdict_paths}
    n = max(1, len(frames))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, (bench, frame) in zip(axes.flat, frames.items(), strict=False):
        size, unit = lengths(frame)
        right, wrong = size[frame["correct"]].dropna(), size[~frame["correct"]].dropna()
        ax.set_title(bench)
        if right.empty and wrong.empty:
            ax.text(0.5, 0.5, "no responses", ha="center", va="center", transform=ax.transAxes)
            continue
        colors = ["tab:green", "tab:red"]
        ax.hist([right, wrong], bins=30, label=["correct", "incorrect"], color=colors, alpha=0.8)
        # imports without a tokenizer are measured in characters, and say so
        ax.set_xlabel("completion tokens" if unit == "tokens" else "response characters")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(frames) :]:
        ax.axis("off")
    fig.suptitle(f"{model}: response lengths")
    fig.tight_layout()
    return fig


def lengths_plot(verdict_paths: list[str], model: str, outputs: list[str]) -> None:
    save_figure(lengths_figure(verdict_paths, model), outputs)


def steps_figure(metric_paths: list[str], benchmark: str, models: dict, variant: str):
    """mean@N against training step with its 95 % sampling interval, one line per run."""
    plt = pyplot()
    frame = read_shards(metric_paths)
    frame = frame[(frame["benchmark"] == benchmark) & (frame["variant"] == variant)]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    rows = {model: part.iloc[0] for model, part in frame.groupby("model", sort=False)}
    runs = {
        run: [(step, rows[model]) for step, model in points if model in rows]
        for run, points in checkpoint_runs(models).items()
    }
    runs = {run: points for run, points in runs.items() if points}
    for run, points in runs.items():
        steps = [p[0] for p in points]
        means = [p[1]["mean_at_n"] for p in points]
        err = [[m - p[1]["sampling_ci_low"] for m, p in zip(means, points, strict=True)],
               [p[1]["sampling_ci_high"] - m for m, p in zip(means, points, strict=True)]]  # fmt: skip
        bars = ax.errorbar(steps, means, yerr=err, marker="o", capsize=3, label=run)
        bars.lines[0].set_gid(f"steps {run}")  # the data line: its markers are the checkpoints
    title = f"{benchmark}: accuracy by step (95 % sampling interval)"
    return _finish(fig, ax, "training step", "mean@N (%)", title, legend=bool(runs))


def steps_plot(
    metric_paths: list[str], benchmark: str, models: dict, outputs: list[str], variant: str
) -> None:
    save_figure(steps_figure(metric_paths, benchmark, models, variant), outputs)


PLOTS = ("pass-at-k", "lengths", "steps")


@command("plot", "pass@k curves, response lengths, accuracy by step")
def plot(
    *,
    kind: Annotated[str, Arg("which plot", positional=True, choices=PLOTS)],
    name: Annotated[str, Arg("benchmark (pass-at-k, steps) or model (lengths)", positional=True)],
    inputs: Annotated[list[str], Arg("metrics files (pass-at-k, steps) or verdicts files (lengths)")],
    settings: Annotated[dict, Arg("the plotted models and variants (JSON)", parse=layout)],
    outputs: Annotated[list[str], Arg("image files (.png, .svg)")],
) -> None:
    primary = settings["variants"][0]
    if kind == "pass-at-k":
        pass_at_k_plot(inputs, name, outputs, primary)
    elif kind == "lengths":
        lengths_plot(inputs, name, outputs)
    else:
        steps_plot(inputs, name, settings["models"], outputs, primary)
