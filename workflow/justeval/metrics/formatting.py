"""The cross-model tables, in the layout of the JustRL README's tables, and the one way
text from models and datasets is written into Markdown and LaTeX: as data, never as
markup (a cell that ends no cell or row, no live HTML, link or emphasis; a code block
no backtick in it can close)."""

from __future__ import annotations

import html
import math
import re

import pandas as pd


def _fmt(value) -> str:
    """Floats with two decimals; counts as integers; missing values as a dash."""
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.2f}"
    return str(value)


# control characters (line and paragraph separators included): a cell is one line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# what makes Markdown: a cell break, links, emphasis, code, strike-through, math
_MARKUP = re.compile(r"[|`*_\[\]~$]")
_BACKTICKS = re.compile(r"`+")


def md_cell(value, width: int | None = None) -> str:
    """``value`` as one GitHub-flavoured Markdown table cell that shows it literally: one
    line (control characters as spaces), cut to ``width`` characters, backslashes and
    the characters that make Markdown escaped with a backslash, ``<`` ``>`` ``&`` as HTML
    entities. Numbers as in :func:`markdown` (two decimals)."""
    text = " ".join(_CONTROL.sub(" ", _fmt(value)).split())
    if width is not None and len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    text = _MARKUP.sub(r"\\\g<0>", text.replace("\\", "\\\\"))
    return html.escape(text, quote=False)


def md_code(text) -> str:
    """``text`` as an inline code span on one line: a fence of more backticks than any run
    inside it (HTML and Markdown inside a code span are shown, never interpreted)."""
    text = " ".join(_CONTROL.sub(" ", "" if text is None else str(text)).split())
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(text, info: str = "text") -> str:
    """``text`` as a fenced code block that nothing inside it can close (the fence is
    longer than any run of backticks in it); control characters other than newlines and
    tabs are dropped."""
    text = "" if text is None else str(text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text.replace("\r\n", "\n").replace("\r", "\n"))
    fence = "`" * max(4, max((len(m) for m in _BACKTICKS.findall(text)), default=0) + 1)
    return f"{fence}{info}\n{text}\n{fence}\n"


def row_order(names, seen) -> dict[str, int]:
    """Position of each name in a table: the settings' order (``names``, any iterable or
    None) first, then the order the others were ``seen``."""
    order = {name: i for i, name in enumerate(names or [])}
    for name in seen:
        order.setdefault(name, len(order))
    return order


def rounded(frame: pd.DataFrame, decimals: int = 4) -> pd.DataFrame:
    """A table for a CSV: floats to ``decimals`` places; counts stay integers."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "f":
            out[column] = out[column].round(decimals)
    return out


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (numbers with two decimals; text escaped by
    :func:`md_cell`, so nothing in it breaks the table or becomes markup)."""
    cols = [md_cell(c) for c in frame.columns]
    cells = [[md_cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(str(c))] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]

    def line(values):
        padded = [
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "| " + " | ".join(
        ("-" * max(w - 1, 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)
    )
    return "\n".join([line(cols), rule + " |"] + [line(r) for r in cells]) + "\n"


# every character LaTeX gives a meaning, as text (a cell can start no command)
_LATEX_SPECIAL = str.maketrans(
    {
        "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
        "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    }
)  # fmt: skip


def latex_text(value) -> str:
    """Text as LaTeX text: specials escaped, control characters and newlines as spaces."""
    return " ".join(_CONTROL.sub(" ", str(value)).split()).translate(_LATEX_SPECIAL)


def latex(frame: pd.DataFrame, caption: str = "") -> str:
    """A booktabs table; the best value of each numeric column is bold."""
    cols = list(frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in cols]
    best = {c: frame[c].max() for c, num in zip(cols, numeric, strict=True) if num}
    align = "".join("r" if num else "l" for num in numeric)
    lines = ["\\begin{table}[t]", "\\centering", "\\small", f"\\begin{{tabular}}{{{align}}}", "\\toprule"]
    lines.append(" & ".join(latex_text(c) for c in cols) + " \\\\")
    lines.append("\\midrule")
    for row in frame.itertuples(index=False):
        cells = []
        for c, value in zip(cols, row, strict=True):
            text = latex_text(_fmt(value).replace("–", "--"))
            if c in best and isinstance(value, float) and not math.isnan(value) and value == best[c]:
                text = f"\\textbf{{{text}}}"
            cells.append(text)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if caption:
        lines.append(f"\\caption{{{latex_text(caption)}}}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def column_label(benchmark: str, n: int, variant: str, primary: str) -> str:
    label = f"{benchmark} (@{n})"
    return label if variant == primary else f"{label} · {variant}"


def column_samples(scores: pd.DataFrame) -> dict[str, int]:
    """The N each benchmark's accuracy column says (``AIME24 (@32)``): its first row's."""
    if scores.empty:
        return {}
    return scores.drop_duplicates("benchmark").set_index("benchmark")["n_samples"].to_dict()


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
    n_of = column_samples(scores)
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
