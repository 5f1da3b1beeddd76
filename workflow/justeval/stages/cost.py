"""The cost stage: what the run spent on engines, per model, benchmark and stage.

Read from the engine jobs' own measurements: each generate and model_grade job
writes ``*.engine.json`` (loads, load and generation seconds, tokens, batch
occupancy) next to its Snakemake benchmark file ``*.tsv`` (wall time, memory).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command
from justeval.io.parquet import write_text_atomic
from justeval.metrics.formatting import markdown

log = logging.getLogger(__name__)

SUMS = ["jobs", "engine_loads", "load_seconds", "generation_seconds", "wall_seconds", "requests", "samples"]
SUMS += ["prompt_tokens", "completion_tokens"]


def job_row(stats_path: str) -> dict:
    """One engine job: its measurements and its Snakemake benchmark's wall time."""
    data = json.loads(Path(stats_path).read_text())
    tsv = Path(stats_path.removesuffix(".engine.json") + ".tsv")
    wall = None
    if tsv.is_file():
        bench = pd.read_csv(tsv, sep="\t")
        wall = float(bench["s"].iloc[-1]) if "s" in bench and len(bench) else None
    return {**data, "jobs": 1, "wall_seconds": wall}


def cost_table(rows: list[dict], models: list[str], benchmarks: list[str]) -> pd.DataFrame:
    """Per (model, benchmark, stage) sums, rates and batch occupancy, in config order,
    then one total row per stage."""
    frame = pd.DataFrame(rows)
    frame["wall_seconds"] = pd.to_numeric(frame["wall_seconds"], errors="coerce")
    frame["below_half_steps"] = frame["steps"] * frame["share_of_steps_below_half_peak"].fillna(0)
    keys = ["model", "benchmark", "stage"]
    grouped = frame.groupby(keys, sort=False)
    out = grouped[[*SUMS, "steps", "below_half_steps"]].sum(min_count=1)
    out["peak_in_flight"] = grouped["peak_in_flight"].max()
    out["first_to_last_finished_seconds"] = grouped["first_to_last_finished_seconds"].max()
    out = out.reset_index()
    totals = frame.groupby("stage", sort=False)[[*SUMS, "steps", "below_half_steps"]].sum(min_count=1)
    totals = totals.reset_index().assign(model="all", benchmark="all")
    out = pd.concat([_ordered(out, models, benchmarks), totals], ignore_index=True)
    out["tokens_per_second"] = out["completion_tokens"] / out["generation_seconds"].where(
        out["generation_seconds"] > 0
    )
    engine_seconds = out["load_seconds"] + out["generation_seconds"]
    out["engine_seconds_per_sample"] = engine_seconds / out["samples"].where(out["samples"] > 0)
    out["share_of_steps_below_half_peak"] = out["below_half_steps"] / out["steps"].where(out["steps"] > 0)
    columns = [*keys, "jobs", "engine_loads", "load_seconds", "generation_seconds", "wall_seconds", "samples"]
    columns += ["prompt_tokens", "completion_tokens", "tokens_per_second", "engine_seconds_per_sample"]
    columns += ["share_of_steps_below_half_peak", "first_to_last_finished_seconds"]
    return out[columns]


def _ordered(frame: pd.DataFrame, models: list[str], benchmarks: list[str]) -> pd.DataFrame:
    order = {"model": models, "benchmark": benchmarks, "stage": ["generate", "model_grade"]}
    key = {c: {name: i for i, name in enumerate(names)} for c, names in order.items()}
    return frame.sort_values(
        ["model", "benchmark", "stage"], key=lambda c: c.map(key[c.name]), kind="stable"
    ).reset_index(drop=True)


@command("cost", "engine loads, seconds and tokens per model, benchmark and stage")
def cost(
    *,
    stats: Annotated[list[str], Arg("the engine jobs' *.engine.json files", positional=True)] = (),
    settings: Annotated[dict, Arg("the run's layout (JSON)")],
    markdown_out: Annotated[str, Arg("the table (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the table (.csv)", flag="--csv")],
) -> None:
    order = settings.get("order") or {}
    if not stats:
        write_text_atomic(markdown_out, "# What the run spent on engines\n\nNo engine jobs in this run.\n")
        write_text_atomic(csv_out, ",".join(["model", "benchmark", "stage"]) + "\n")
        return
    table = cost_table([job_row(p) for p in stats], order.get("models", []), order.get("benchmarks", []))
    shown = table.copy()
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            shown[column] = shown[column].round(2)
    note = (
        "# What the run spent on engines\n\nPer model, benchmark and stage, from each engine job's own "
        "measurements (`results/runtime/<stage>/…engine.json` and Snakemake's benchmark files). "
        "Seconds are engine seconds (load + generation) of the jobs that ran in the run that wrote "
        "their files; a job that found every sample in its journal loads no engine. "
        "`share_of_steps_below_half_peak`: engine steps with fewer than half the job's peak requests "
        "in flight (running or waiting).\n\n"
    )
    write_text_atomic(markdown_out, note + markdown(shown))
    write_text_atomic(csv_out, table.to_csv(index=False))
    total = table[table["model"] == "all"]
    log.info("engine cost:\n%s", markdown(total))
