"""The aggregate stage (metrics of one model, benchmark and grading variant), the
per-(model, benchmark) score file, and the cross-model tables."""

from __future__ import annotations

import json
import logging
import math

import pandas as pd

from .metrics import score
from .parquet_io import read_metadata, read_parquet, write_parquet, write_text_atomic
from .schemas import BENCHMARK, GENERATIONS, VERDICTS, metrics_schema
from .table import accuracy_table, latex, markdown, scores_table

log = logging.getLogger(__name__)


def _clean(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def run_aggregate(
    verdicts: str,
    benchmark: str,
    generations: list[str],
    model: str,
    name: str,
    variant: str,
    settings: dict,
    output: str,
    details_out: str,
) -> None:
    from .grading.runner import Grader

    frame = read_parquet(verdicts, VERDICTS)
    bench = read_parquet(benchmark, BENCHMARK)
    gens = pd.concat([read_parquet(p, GENERATIONS) for p in generations], ignore_index=True)
    responses = frame.merge(
        gens[["problem_id", "sample_idx", "response"]], on=["problem_id", "sample_idx"], how="left"
    )
    # maj@k groups answers with the variant's own rule grader
    clustering = settings["clustering"]
    grader = Grader(clustering["grader"], timeout=clustering["timeout"], jobs=1)
    row, details = score(
        frame,
        bench["problem_id"].tolist(),
        settings["n_samples"],
        settings["pass_k"],
        model,
        name,
        label=verdicts,
        variant=variant,
        responses=responses["response"],
        equal=grader.equivalent,
        bootstrap_samples=settings["bootstrap_samples"],
        seed=settings["seed"],
    )
    log.info(
        "%s / %s / %s: mean@%d = %.2f%% (sampling ±%.2f, bootstrap %.2f–%.2f)",
        model,
        name,
        variant,
        settings["n_samples"],
        row["mean_at_n"],
        1.96 * row["sampling_se"],
        row["bootstrap_ci_low"],
        row["bootstrap_ci_high"],
    )
    metadata = {"stage": "aggregate", "settings": settings, "benchmark": read_metadata(benchmark)}
    write_parquet(pd.DataFrame([row]), output, metrics_schema(settings["pass_k"]), metadata=metadata)
    text = json.dumps(
        {"metrics": {k: _clean(v) for k, v in row.items()}, **details}, indent=2, sort_keys=True
    )
    write_text_atomic(details_out, text + "\n")


def collect_scores(metrics: list[str], output: str) -> None:
    frame = pd.concat([read_parquet(p) for p in metrics], ignore_index=True)
    write_parquet(frame, output, metadata={"stage": "collect_scores", "sources": metrics})


def _write_formats(frame: pd.DataFrame, paths: list[str], metadata: dict, caption: str = "") -> None:
    for path in paths:
        if path.endswith(".parquet"):
            write_parquet(frame, path, metadata=metadata)
        elif path.endswith(".csv"):
            write_text_atomic(path, frame.to_csv(index=False))
        elif path.endswith(".md"):
            write_text_atomic(path, markdown(frame))
        elif path.endswith(".tex"):
            write_text_atomic(path, latex(frame, caption))
        else:
            raise ValueError(f"unknown table format: {path}")


def run_table(scores: list[str], settings: dict, accuracy_out: list[str], scores_out: list[str]) -> None:
    frame = pd.concat([read_parquet(p) for p in scores], ignore_index=True)
    models, benchmarks = list(settings["models"]), list(settings["benchmarks"])
    metadata = {"stage": "table", "settings": settings}
    accuracy = accuracy_table(frame, models, benchmarks, settings["variants"])
    _write_formats(accuracy, accuracy_out, metadata, caption="mean@N accuracy (%)")
    _write_formats(scores_table(frame, models, benchmarks, settings["variants"]), scores_out, metadata)
    log.info("accuracy table:\n%s", markdown(accuracy))
