"""The aggregate stage: metrics of one model, benchmark and grading variant, and the
per-(model, benchmark) score file (rules `aggregate` and `collect_scores`)."""

from __future__ import annotations

import json
import logging
import math
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command
from justeval.io.identity import file_identity, identity
from justeval.io.parquet import read_metadata, read_parquet, read_shards, write_parquet, write_text_atomic
from justeval.io.schemas import BENCHMARK, GENERATIONS, VERDICTS
from justeval.metrics.scores import Spec, metrics_schema, score

log = logging.getLogger(__name__)


def _clean(value):
    return None if isinstance(value, float) and math.isnan(value) else value


@command("aggregate", "metrics of one model, benchmark and grading variant")
def aggregate(
    *,
    verdicts: Annotated[str, Arg("the variant's verdicts file")],
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    generations: Annotated[list[str], Arg("the generation shards (for maj@k's answers)")],
    settings: Annotated[
        dict, Arg("N (null: as imported), k values, bootstrap, the clustering grader (JSON)")
    ],
    output: Annotated[str, Arg("metrics Parquet file (one row)")],
    details: Annotated[str, Arg("JSON file: the metrics and per-sample/problem details")],
) -> None:
    from justeval.grading.runner import Grader

    ident = file_identity(verdicts)
    model, name, variant = ident["model"], ident["benchmark"], ident["variant"]
    frame = read_parquet(verdicts, VERDICTS)
    bench = read_parquet(benchmark, BENCHMARK)
    gens = read_shards(generations, GENERATIONS)
    responses = frame.merge(
        gens[["problem_id", "sample_idx", "response"]], on=["problem_id", "sample_idx"], how="left"
    )
    # maj@k groups answers with the variant's own rule grader
    clustering = settings["clustering"]
    grader = Grader(clustering["grader"], timeout=clustering["timeout"], jobs=1)
    spec = Spec(
        model=model,
        benchmark=name,
        variant=variant,
        problem_ids=bench["problem_id"].tolist(),
        n_samples=settings["n_samples"],
        ks=settings["pass_k"],
        bootstrap_samples=settings["bootstrap_samples"],
        seed=settings["seed"],
        label=verdicts,
    )
    result = score(frame, spec, responses=responses["response"], equal=grader.equivalent)
    row = result.row
    if spec.n_samples is None:  # as imported: the problems present, n_i samples each
        fewest, most = row["min_samples"], row["n_samples"]
        each = f"{most}" if fewest == most else f"{fewest}–{most}"
        problems = f"{row['n_problems']} of {row['benchmark_problems']} problems"
        at = f"N (as imported: {problems}, {each} samples each)"
    else:
        at = str(spec.n_samples)
    log.info(
        "%s / %s / %s: mean@%s = %.2f%% (sampling ±%.2f, bootstrap %.2f–%.2f)",
        model,
        name,
        variant,
        at,
        row["mean_at_n"],
        1.96 * row["sampling_se"],
        row["bootstrap_ci_low"],
        row["bootstrap_ci_high"],
    )
    metadata = {
        "stage": "aggregate",
        "identity": ident,
        "settings": settings,
        "benchmark": read_metadata(benchmark),
    }
    write_parquet(pd.DataFrame([row]), output, metrics_schema(spec.ks), metadata=metadata)
    text = json.dumps(
        {"metrics": {k: _clean(v) for k, v in row.items()}, **result.details}, indent=2, sort_keys=True
    )
    write_text_atomic(details, text + "\n")


@command("collect-scores", "the metrics of every grading variant of a (model, benchmark)")
def collect_scores(
    *,
    metrics: Annotated[list[str], Arg("metrics files", positional=True)],
    output: str,
) -> None:
    frame = read_shards(metrics)
    ident = file_identity(metrics[0])
    metadata = {
        "stage": "collect_scores",
        "identity": identity(ident["model"], ident["benchmark"]),
        "sources": metrics,
    }
    write_parquet(frame, output, metadata=metadata)
