"""The rule_grade stage: grade one shard of generations with a rule grader."""

from __future__ import annotations

import logging
import time

import pandas as pd

from .grading import grade_responses
from .parquet_io import DataError, read_metadata, read_parquet, write_parquet
from .provenance import versions
from .schemas import BENCHMARK, GENERATIONS, RULE_GRADES

log = logging.getLogger(__name__)


def grade_frame(frame: pd.DataFrame, golds: pd.Series, grader: str, timeout: float) -> pd.DataFrame:
    """Grading columns for ``frame`` (a ``response`` per row) against ``golds``."""
    start = time.monotonic()
    results = grade_responses(golds.tolist(), frame["response"].tolist(), grader, timeout)
    elapsed = time.monotonic() - start
    log.info(
        "graded %d responses with %s in %.2f s (%.0f/s)",
        len(results),
        grader,
        elapsed,
        len(results) / elapsed if elapsed else float("inf"),
    )
    return pd.DataFrame(
        {
            "extracted_answer": [r.extracted_answer for r in results],
            "rule_correct": [r.rule_correct for r in results],
            "status": [r.status for r in results],
            "grader": grader,
        },
        index=frame.index,
    )


def run(generations: str, benchmark: str, settings: dict, output: str) -> None:
    gens = read_parquet(generations, GENERATIONS)
    bench = read_parquet(benchmark, BENCHMARK)
    gold = dict(zip(bench["problem_id"], bench["answer"], strict=True))
    unknown = sorted(set(gens["problem_id"]) - set(gold))
    if unknown:
        raise DataError(f"{generations}: problem ids not in {benchmark}: {unknown[:5]}")
    grades = grade_frame(gens, gens["problem_id"].map(gold), settings["grader"], settings["timeout"])
    frame = pd.concat([gens[["problem_id", "sample_idx"]], grades], axis=1)
    counts = frame["status"].value_counts().to_dict()
    log.info("statuses: %s", counts)
    write_parquet(
        frame,
        output,
        RULE_GRADES,
        metadata={
            "stage": "rule_grade",
            "settings": settings,
            "generations": read_metadata(generations).get("settings_hash"),
            "versions": versions(),
        },
    )
