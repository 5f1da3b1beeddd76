"""The cross-model tables, in the layout of the JustRL README's tables."""

from __future__ import annotations

import math

import pandas as pd


def _fmt(value) -> str:
    """Floats with two decimals; counts as integers; missing values as a dash."""
    if value is None or value is pd.NA:
        return "–"
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

    rule = "| " + " | ".join(
        ("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)
    )
    return "\n".join([line([str(c) for c in cols]), rule + " |"] + [line(r) for r in cells]) + "\n"


_LATEX_SPECIAL = str.maketrans({"&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "@": r"@"})


def latex(frame: pd.DataFrame, caption: str = "") -> str:
    """A booktabs table; the best value of each numeric column is bold."""
    cols = list(frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in cols]
    best = {c: frame[c].max() for c, num in zip(cols, numeric, strict=True) if num}
    align = "".join("r" if num else "l" for num in numeric)
    lines = ["\\begin{table}[t]", "\\centering", "\\small", f"\\begin{{tabular}}{{{align}}}", "\\toprule"]
    lines.append(" & ".join(str(c).translate(_LATEX_SPECIAL) for c in cols) + " \\\\")
    lines.append("\\midrule")
    for row in frame.itertuples(index=False):
        cells = []
        for c, value in zip(cols, row, strict=True):
            text = _fmt(value).replace("–", "--").translate(_LATEX_SPECIAL)
            if c in best and isinstance(value, float) and not math.isnan(value) and value == best[c]:
                text = f"\\textbf{{{text}}}"
            cells.append(text)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if caption:
        lines.append(f"\\caption{{{caption.translate(_LATEX_SPECIAL)}}}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def column_label(benchmark: str, n: int, variant: str, primary: str) -> str:
    label = f"{benchmark} (@{n})"
    return label if variant == primary else f"{label} · {variant}"


def accuracy_table(
    scores: pd.DataFrame, models: list[str], benchmarks: list[str], variants: list[str] | None = None
) -> pd.DataFrame:
    """Rows models, columns ``<benchmark> (@N)`` with mean@N and Avg, one column set
    per grading variant (the primary one first, unlabelled).

    Avg is the unweighted mean over benchmarks, as in JustRL's tables; it is
    missing when a benchmark is.
    """
    if "variant" not in scores.columns:
        scores = scores.assign(variant="main")
    variants = variants or list(dict.fromkeys(scores["variant"]))
    primary = variants[0]
    n_of = scores.drop_duplicates("benchmark").set_index("benchmark")["n_samples"].to_dict()
    out = pd.DataFrame({"model": models})
    for variant in variants:
        part = scores[scores["variant"] == variant]
        if part.empty:
            continue
        wide = part.pivot(index="model", columns="benchmark", values="mean_at_n")
        wide = wide.reindex(index=models, columns=benchmarks)
        for b in benchmarks:
            out[column_label(b, n_of.get(b, 0), variant, primary)] = wide[b].to_numpy(dtype=float)
        avg = wide[benchmarks].mean(axis=1, skipna=False).to_numpy(dtype=float)
        out["Avg" if variant == primary else f"Avg · {variant}"] = avg
    return out


def scores_table(
    scores: pd.DataFrame, models: list[str], benchmarks: list[str], variants: list[str] | None = None
) -> pd.DataFrame:
    """All metrics, one row per (model, benchmark, variant), in config order."""
    variants = variants or list(dict.fromkeys(scores.get("variant", pd.Series(["main"]))))
    order = {
        (m, b, v): i
        for i, (m, b, v) in enumerate((m, b, v) for m in models for b in benchmarks for v in variants)
    }
    key = [
        order.get((r.model, r.benchmark, getattr(r, "variant", "main")), len(order))
        for r in scores.itertuples()
    ]
    frame = scores.assign(_order=key).sort_values("_order").drop(columns="_order")
    k_cols = sorted(
        (c for c in frame.columns if c.startswith(("pass@", "maj@"))),
        key=lambda c: (c.split("@")[0] != "pass", int(c.split("@")[1])),
    )
    other = [c for c in frame.columns if c not in k_cols]
    return frame[other + k_cols].reset_index(drop=True)


def checkpoint_runs(models: dict) -> dict[str, list[tuple[int, str]]]:
    """(step, model) of every model of the run's layout that has a step, by training
    run (``run`` when it names none), in step order (config order among equal steps)."""
    runs: dict[str, list[tuple[int, str]]] = {}
    for model, info in models.items():
        if info.get("step") is not None:
            runs.setdefault(info.get("run") or "run", []).append((int(info["step"]), model))
    return {run: sorted(points, key=lambda p: p[0]) for run, points in runs.items()}
