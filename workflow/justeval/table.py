"""The cross-model table, in the layout of the JustRL README's tables."""

from __future__ import annotations

import math

import pandas as pd


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.2f}"
    return str(value)


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (numbers with two decimals)."""
    cols = list(frame.columns)
    cells = [[_fmt(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(str(c))] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in cols]

    def line(values):
        padded = [
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "| "
        + " | ".join(
            ("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)
        )
        + " |"
    )
    return "\n".join([line([str(c) for c in cols]), rule] + [line(r) for r in cells]) + "\n"


def accuracy_table(scores: pd.DataFrame, models: list[str], benchmarks: list[str]) -> pd.DataFrame:
    """Rows models, columns ``<benchmark> (@N)`` with mean@N, last column Avg.

    Avg is the unweighted mean over benchmarks, as in JustRL's tables.
    """
    n_of = scores.drop_duplicates("benchmark").set_index("benchmark")["n_samples"].to_dict()
    wide = scores.pivot(index="model", columns="benchmark", values="mean_at_n")
    wide = wide.reindex(index=models, columns=benchmarks)
    wide["Avg"] = wide[benchmarks].mean(axis=1, skipna=False)
    wide.columns = [f"{b} (@{n_of[b]})" if b in n_of else b for b in benchmarks] + ["Avg"]
    return wide.reset_index().rename(columns={"index": "model"})


def scores_table(scores: pd.DataFrame, models: list[str], benchmarks: list[str]) -> pd.DataFrame:
    """All per-(model, benchmark) metrics, one row each, in config order."""
    order = {(m, b): i for i, (m, b) in enumerate((m, b) for m in models for b in benchmarks)}
    key = scores.apply(lambda r: order.get((r["model"], r["benchmark"]), len(order)), axis=1)
    frame = scores.assign(_order=key).sort_values("_order").drop(columns="_order")
    pass_cols = sorted((c for c in frame.columns if c.startswith("pass@")), key=lambda c: int(c[5:]))
    other = [c for c in frame.columns if not c.startswith("pass@")]
    return frame[other + pass_cols].reset_index(drop=True)
