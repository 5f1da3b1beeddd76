"""How many samples each benchmark needs (``results/tables/samples_needed.{md,csv}``):
per benchmark, model and grading variant, the sampling half-width of mean@N now, the N
that brings it under the target, the half-width from resampling the problems (which N
cannot shrink) and the smallest difference between two models the benchmark resolves;
and the same for each compared pair of models on the primary variant, from their
per-problem differences. The formulas are in :mod:`justeval.analysis.samples`.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated

import numpy as np
import pandas as pd

from justeval.analysis.samples import (
    ANY_N,
    NOT_ESTIMABLE,
    PROBLEMS,
    UnevenSamples,
    counts,
    limit,
    needed_samples,
    paired_halfwidth,
    problem_floor,
    unit_variances,
)
from justeval.command import Arg, command
from justeval.io.identity import file_identity
from justeval.io.parquet import DataError, read_parquet, write_text_atomic
from justeval.io.schemas import VERDICTS
from justeval.metrics.formatting import markdown, md_cell, rounded, row_order
from justeval.metrics.scores import Z95, bootstrap_mean_interval, sampling_se

log = logging.getLogger(__name__)

COLUMNS = [
    "benchmark", "model", "vs", "variant", "problems", "samples", "estimate", "sampling_halfwidth",
    "n_for_target", "n_factor", "bootstrap_halfwidth", "problem_floor", "resolvable_difference",
    "resolvable_basis", "limit",
]  # fmt: skip
ONE_MODEL = (
    "one model: 1.96·√2·sampling SE (fixed problems; a second model with the same per-problem variance)"
)
PAIRED = "paired: 1.96·s(d)/√P over the per-problem differences (problems resampled)"


def _bootstrap_halfwidth(values: np.ndarray, settings: dict) -> float:
    lo, hi = bootstrap_mean_interval(values, int(settings["bootstrap_samples"]), int(settings["seed"]))
    return (hi - lo) / 2


def model_row(correct: pd.Series, n: int, target: float, settings: dict) -> dict:
    """The numbers of one (model, benchmark, variant), in percentage points."""
    problems = len(correct)
    accuracy = correct.to_numpy(dtype=float) / n
    v = unit_variances(correct.to_numpy(), n)
    variance_sum = float(v.sum())
    sampling = 100 * Z95 * sampling_se(correct.tolist(), n) if n >= 2 else math.nan
    floor = 100 * problem_floor(accuracy, v / n, Z95)
    needed = needed_samples(variance_sum, problems, target / 100, Z95) if n >= 2 else None
    return {
        "problems": problems,
        "samples": n,
        "estimate": 100 * float(accuracy.mean()),
        "sampling_halfwidth": sampling,
        "n_for_target": needed,
        "n_factor": needed / n if needed is not None else math.nan,
        "bootstrap_halfwidth": 100 * _bootstrap_halfwidth(accuracy, settings),
        "problem_floor": floor,
        "resolvable_difference": math.sqrt(2) * sampling,
        "resolvable_basis": ONE_MODEL,
        "limit": limit(variance_sum if n >= 2 else math.nan, sampling, floor),
    }


def pair_row(
    a: tuple[pd.Series, int], b: tuple[pd.Series, int], target: float, settings: dict
) -> dict | None:
    """Δ = mean@N(b) − mean@N(a) on the problems both have, in percentage points."""
    (ca, na), (cb, nb) = a, b
    common = [p for p in ca.index if p in cb.index]
    if not common:
        return None
    ca, cb = ca[common].to_numpy(), cb[common].to_numpy()
    problems = len(common)
    d = cb / nb - ca / na
    estimable = na >= 2 and nb >= 2
    va, vb = unit_variances(ca, na), unit_variances(cb, nb)
    noise = va / na + vb / nb
    sampling = 100 * Z95 * math.sqrt(float(noise.sum())) / problems if estimable else math.nan
    floor = 100 * problem_floor(d, noise, Z95)
    variance_sum = float(va.sum() + vb.sum()) if estimable else math.nan
    # both models at a common N: the one-sample variances add
    needed = needed_samples(variance_sum, problems, target / 100, Z95) if estimable else None
    same_n = na == nb
    return {
        "problems": problems,
        "samples": na if same_n else None,
        "estimate": 100 * float(d.mean()),
        "sampling_halfwidth": sampling,
        "n_for_target": needed,
        "n_factor": needed / na if needed is not None and same_n else math.nan,
        "bootstrap_halfwidth": 100 * _bootstrap_halfwidth(d, settings),
        "problem_floor": floor,
        "resolvable_difference": 100 * paired_halfwidth(d, Z95),
        "resolvable_basis": PAIRED + ("" if same_n else f"; N differs ({na} and {nb})"),
        "limit": limit(variance_sum, sampling, floor),
    }


def samples_table(verdicts: list[str], settings: dict) -> pd.DataFrame:
    """One row per (benchmark, model, variant), then one per compared pair on the primary
    variant, benchmarks in the settings' order."""
    target = float(settings["target_halfwidth"])
    if not target > 0:
        raise ValueError(f"target_halfwidth must be positive, got {target}")
    data: dict[tuple[str, str, str], tuple[pd.Series, int]] = {}
    uneven = []
    for path in verdicts:
        ident = file_identity(path)
        key = (ident["model"], ident["benchmark"], ident.get("variant", ""))
        if key in data:
            raise DataError(f"{path}: a second verdicts file of {ident}")
        try:
            data[key] = counts(read_parquet(path, VERDICTS), path)
        except UnevenSamples as exc:  # an import: N per problem is what its file holds
            uneven.append(
                f"{md_cell(key[0])} on {md_cell(key[1])} ({key[2]}): {exc}".replace(f"{path}: ", "")
            )
    models = row_order(settings.get("models"), [k[0] for k in data])
    benches = row_order(settings.get("benchmarks"), [k[1] for k in data])
    variants = row_order(settings.get("variants"), [k[2] for k in data])
    primary = min(variants, key=variants.__getitem__) if variants else ""
    listed = list(settings.get("models") or [])
    pairs = settings.get("compare") or [[listed[0], m] for m in listed[1:]]
    rows = []
    for bench in sorted(benches, key=benches.__getitem__):
        keys = sorted((k for k in data if k[1] == bench), key=lambda k: (models[k[0]], variants[k[2]]))
        for model, _, variant in keys:
            row = model_row(*data[(model, bench, variant)], target, settings)
            rows.append({"benchmark": bench, "model": model, "vs": "", "variant": variant, **row})
        for a, b in pairs:
            if (a, bench, primary) in data and (b, bench, primary) in data:
                row = pair_row(data[(a, bench, primary)], data[(b, bench, primary)], target, settings)
                if row is not None:
                    rows.append({"benchmark": bench, "model": a, "vs": b, "variant": primary, **row})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("problems", "samples", "n_for_target"):
        frame[column] = frame[column].astype("Int64")
    frame.attrs["uneven"] = uneven
    return frame


def _pp(value: float) -> str:
    return "–" if value != value else f"±{value:.2f}"


def _needed(row) -> str:
    if row.limit == NOT_ESTIMABLE:
        return "–"
    if pd.isna(row.n_for_target):
        return ANY_N
    return (
        f"{int(row.n_for_target):,} ({row.n_factor:.1f}×)"
        if row.n_factor == row.n_factor
        else f"{row.n_for_target:,}"
    )


def findings(frame: pd.DataFrame, target: float) -> list[str]:
    """Plain sentences: where the problem set, not N, is the limit; where no N reaches the
    target over problems; where N = 1 hides the sampling error."""
    lines = []
    several = frame["variant"].nunique() > 1
    for row in frame.itertuples(index=False):
        what = (
            f"{md_cell(row.model)} on {md_cell(row.benchmark)}"
            if not row.vs
            else f"{md_cell(row.vs)} − {md_cell(row.model)} on {md_cell(row.benchmark)}"
        )
        if several:
            what += f" ({md_cell(row.variant)})"
        if row.limit == PROBLEMS:
            text = (
                f"- {what}: **the problem set, not N, is the limit**: the {row.problems} problems alone give "
                f"{_pp(row.problem_floor)} points, sampling {_pp(row.sampling_halfwidth)}"
            )
            if row.problem_floor > target:
                text += f"; no N brings the interval over problems under ±{target:g}"
            lines.append(text + ".")
        elif row.limit == ANY_N:
            lines.append(f"- {what}: every problem is all solved or all failed at N = {row.samples}: any N.")
        elif row.limit == NOT_ESTIMABLE:
            shown = f"the bootstrap over problems, {_pp(row.bootstrap_halfwidth)}"
            if row.vs:
                shown += f", and the paired resolvable difference, {_pp(row.resolvable_difference)}"
            lines.append(
                f"- {what}: at N = 1 the sampling error cannot be told apart from the problems'; only "
                f"intervals that hold both are shown ({shown})."
            )
    return lines


def page(frame: pd.DataFrame, settings: dict) -> str:
    target = float(settings["target_halfwidth"])
    text = [
        "# Samples needed\n",
        "Per benchmark, model and grading variant (then each compared pair, Δ = second − first, on the "
        "primary variant), in percentage points. `sampling`: half-width of mean@N's 95 % interval over "
        "reruns on these problems, 1.96·√(Σ v_i / N) / P with v_i = c_i(N−c_i)/(N(N−1)); `N for "
        f"±{target:g}`: the N that brings it under ±{target:g} (it shrinks as 1/√N), and how many times the "
        "current N that is; `bootstrap`: half-width of the 95 % bootstrap interval over problems; "
        "`floor`: the part of it no N removes, 1.96·√(s²(c/N) − mean(v_i/N)) / √P (the bootstrap is about "
        "√(sampling² + floor²)); `resolvable`: the smallest difference between two models the benchmark "
        "resolves at this N (basis in the CSV: one model, 1.96·√2·SE, an approximation that assumes a second "
        "model with the same per-problem variance and ignores how their difference varies by problem; a "
        "pair, 1.96·s(d)/√P over its per-problem differences). `limit`: `problems` when the floor is at "
        "least the sampling half-width (more samples barely help), `N` when sampling dominates, `any N` "
        "when every problem is all solved or all failed, `n/a` at N = 1.\n",
    ]
    if frame.empty:
        text.append("No verdicts.\n")
        return "\n".join(text)
    shown = pd.DataFrame(
        {
            "benchmark": frame["benchmark"],
            "model": [
                m if not vs else f"{vs} − {m}" for m, vs in zip(frame["model"], frame["vs"], strict=True)
            ],
            "variant": frame["variant"],
            "problems": frame["problems"],
            "samples": frame["samples"],
            "mean@N / Δ": frame["estimate"],
            "sampling": [_pp(v) for v in frame["sampling_halfwidth"]],
            f"N for ±{target:g}": [_needed(r) for r in frame.itertuples(index=False)],
            "bootstrap": [_pp(v) for v in frame["bootstrap_halfwidth"]],
            "floor": [_pp(v) for v in frame["problem_floor"]],
            "resolvable": [_pp(v) for v in frame["resolvable_difference"]],
            "limit": frame["limit"],
        }
    )
    text.append(markdown(shown))
    lines = findings(frame, target)
    if lines:
        text.append("\n" + "\n".join(lines) + "\n")
    if frame.attrs.get("uneven"):
        text.append("\nNot estimated, problems with different numbers of samples (imports):\n")
        text += [f"- {line}" for line in frame.attrs["uneven"]]
    return "\n".join(text)


@command("samples-needed", "how many samples each benchmark needs, and when the problem set is the limit")
def samples_needed(
    *,
    verdicts: Annotated[list[str], Arg("every verdicts file (each model, benchmark and variant)")],
    settings: Annotated[
        dict,
        Arg(
            'JSON: {"target_halfwidth", "bootstrap_samples", "seed", "models", "benchmarks", "variants", '
            '"compare"}'
        ),
    ],
    markdown_out: Annotated[str, Arg("the table for a person (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the table (.csv)", flag="--csv")],
) -> None:
    frame = samples_table(list(verdicts), settings)
    write_text_atomic(csv_out, rounded(frame).to_csv(index=False))
    write_text_atomic(markdown_out, page(frame, settings))
    log.info("samples-needed: %d rows", len(frame))
