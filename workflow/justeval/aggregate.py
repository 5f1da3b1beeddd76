"""The aggregate stage (metrics per model and benchmark) and the table stage."""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa

from .metrics import score
from .parquet_io import read_metadata, read_parquet, write_parquet, write_text_atomic
from .provenance import versions
from .schemas import BENCHMARK, SCORES_COLUMNS, VERDICTS
from .table import accuracy_table, markdown, scores_table

log = logging.getLogger(__name__)


def scores_schema(ks: list[int]) -> pa.Schema:
    return pa.schema(SCORES_COLUMNS + [(f"pass@{k}", pa.float64()) for k in ks])


def run_aggregate(verdicts: str, benchmark: str, model: str, name: str, settings: dict, output: str) -> None:
    frame = read_parquet(verdicts, VERDICTS)
    bench = read_parquet(benchmark, BENCHMARK)
    row = score(
        frame,
        bench["problem_id"].tolist(),
        settings["n_samples"],
        settings["pass_k"],
        model,
        name,
        label=verdicts,
    )
    log.info("%s / %s: mean@%d = %.2f%%", model, name, settings["n_samples"], row["mean_at_n"])
    write_parquet(
        pd.DataFrame([row]),
        output,
        scores_schema(settings["pass_k"]),
        metadata={
            "stage": "aggregate",
            "settings": settings,
            "benchmark": read_metadata(benchmark),
            "versions": versions(),
        },
    )


def _write_formats(frame: pd.DataFrame, paths: list[str], metadata: dict) -> None:
    for path in paths:
        if path.endswith(".parquet"):
            write_parquet(frame, path, metadata=metadata)
        elif path.endswith(".csv"):
            write_text_atomic(path, frame.to_csv(index=False))
        elif path.endswith(".md"):
            write_text_atomic(path, markdown(frame))
        else:
            raise ValueError(f"unknown table format: {path}")


def run_table(scores: list[str], settings: dict, accuracy_out: list[str], scores_out: list[str]) -> None:
    frame = pd.concat([read_parquet(p) for p in scores], ignore_index=True)
    models, benchmarks = settings["models"], settings["benchmarks"]
    metadata = {"stage": "table", "settings": settings, "versions": versions()}
    accuracy = accuracy_table(frame, models, benchmarks)
    _write_formats(accuracy, accuracy_out, metadata)
    _write_formats(scores_table(frame, models, benchmarks), scores_out, metadata)
    log.info("accuracy table:\n%s", markdown(accuracy))
