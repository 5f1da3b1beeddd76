"""The rule_grade stage, and ``python -m justeval rule-grade`` for any file.

In the pipeline the gold answers come from the canonical benchmark file and
the output holds the grading columns only. On its own, the command grades any
Parquet or JSON-lines file with a gold column and a response column (a list
of responses per row is expanded to one row per response) and writes the
grading columns next to the input's.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .grading.runner import Grader
from .parquet_io import DataError, read_metadata, read_parquet, write_parquet, write_text_atomic
from .schemas import BENCHMARK, GENERATIONS, RULE_GRADES

log = logging.getLogger(__name__)

CHUNK = 2000  # responses per progress step
GRADE_COLUMNS = ["extracted_answer", "rule_correct", "status", "layer"]


def grade_frame(
    golds: list[str], responses: list, grader: str, timeout: float, jobs: int, progress: bool = True
) -> pd.DataFrame:
    """The grading columns for ``responses`` against ``golds``, with a progress bar."""
    from tqdm import tqdm

    engine = Grader(grader, timeout, jobs)
    results = []
    with tqdm(total=len(golds), desc=f"grading ({grader})", unit="resp", disable=not progress) as bar:
        for start in range(0, len(golds), CHUNK):
            chunk = engine.grade(golds[start : start + CHUNK], responses[start : start + CHUNK])
            results.extend(chunk)
            bar.update(len(chunk))
    stats = engine.stats
    log.info(
        "graded %d responses (%d distinct answers, %d past the cheap layers) with %s in %.2f s "
        "(%.0f responses/s); layers %s; worker restarts after timeouts: see warnings above",
        stats.responses,
        stats.distinct_pairs,
        stats.sent_to_workers,
        grader,
        stats.seconds,
        stats.responses / stats.seconds if stats.seconds else float("inf"),
        dict(stats.layer_counts),
    )
    return pd.DataFrame(
        {
            "extracted_answer": [r.extracted_answer for r in results],
            "rule_correct": [r.rule_correct for r in results],
            "status": [r.status for r in results],
            "layer": [r.layer for r in results],
        }
    )


def run(generations: str, benchmark: str, settings: dict, output: str, jobs: int = 1) -> None:
    """The pipeline stage: one shard of generations against the canonical benchmark."""
    gens = read_parquet(generations, GENERATIONS)
    bench = read_parquet(benchmark, BENCHMARK)
    gold = dict(zip(bench["problem_id"], bench["answer"], strict=True))
    unknown = sorted(set(gens["problem_id"]) - set(gold))
    if unknown:
        raise DataError(f"{generations}: problem ids not in {benchmark}: {unknown[:5]}")
    grades = grade_frame(
        gens["problem_id"].map(gold).tolist(),
        gens["response"].tolist(),
        settings["grader"],
        settings["timeout"],
        jobs,
    )
    frame = pd.concat([gens[["problem_id", "sample_idx"]], grades], axis=1)
    frame["grader"] = settings["grader"]
    log.info("statuses: %s", frame["status"].value_counts().to_dict())
    write_parquet(
        frame,
        output,
        RULE_GRADES,
        metadata={
            "stage": "rule_grade",
            "settings": settings,
            "generations": read_metadata(generations).get("settings_hash"),
        },
    )


# ---------------------------------------------------------------- files outside the pipeline


def read_table(path: str) -> pd.DataFrame:
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".json"):
        try:
            return pd.read_json(path, lines=True)
        except ValueError as exc:
            raise DataError(f"{path}: not JSON lines ({exc})") from None
    return read_parquet(path)


def write_table(frame: pd.DataFrame, path: str, metadata: dict) -> None:
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".json"):
        lines = (json.dumps(rec, ensure_ascii=False, default=str) for rec in frame.to_dict("records"))
        write_text_atomic(path, "".join(line + "\n" for line in lines))
    else:
        write_parquet(pa.Table.from_pandas(frame, preserve_index=False), path, metadata=metadata)


def grade_file(
    source: str,
    output: str,
    grader: str = "justeval",
    timeout: float = 5.0,
    jobs: int | None = None,
    gold_column: str = "answer",
    response_column: str = "response",
) -> pd.DataFrame:
    frame = read_table(source)
    for column, option in ((gold_column, "--gold-column"), (response_column, "--response-column")):
        if column not in frame.columns:
            raise DataError(
                f"{source}: no column {column!r} (columns: {', '.join(map(str, frame.columns))}); "
                f"name it with {option}"
            )
    clash = [c for c in GRADE_COLUMNS if c in frame.columns]
    if clash:
        raise DataError(f"{source}: already has column(s) {clash}; rename them first")
    if frame[response_column].map(lambda v: isinstance(v, (list, tuple)) or hasattr(v, "tolist")).any():
        frame = frame.assign(response_idx=frame[response_column].map(lambda v: list(range(len(v)))))
        frame = frame.explode([response_column, "response_idx"], ignore_index=True)
    missing_gold = frame[gold_column].isna() | (frame[gold_column].astype(str).str.strip() == "")
    if missing_gold.any():
        row = int(missing_gold.idxmax())
        raise DataError(f"{source}: row {row} column {gold_column!r}: empty gold answer")
    golds = [_gold_text(g) for g in frame[gold_column]]
    responses = [None if pd.isna(r) else str(r) for r in frame[response_column]]
    jobs = jobs or os.cpu_count() or 1
    grades = grade_frame(golds, responses, grader, timeout, jobs)
    out = pd.concat([frame.reset_index(drop=True), grades], axis=1)
    write_table(
        out,
        output,
        {
            "stage": "rule-grade",
            "source": source,
            "grader": grader,
            "timeout": timeout,
        },
    )
    return out


def _gold_text(value) -> str:
    from .benchmarks import unwrap_gold

    return unwrap_gold(str(value))
