"""The results_page stage: ``results/index.html``, the page a person opens.

Built from the files the other stages wrote, never recomputing a number: on its first
screen the accuracy table as JustRL publishes it (``tables/accuracy.csv``), each cell
with its 95 % sampling interval (``tables/scores.csv``) and the Δ against the
published figure where there is one (``tables/published.csv``, flagged when the
published figure is outside the interval), each cell linking its problem view
(``page/<model>/<benchmark>/``). Below: the sweep's curves by training step, pass@k,
the budget curve, and every analysis table of the run, sortable. The charts are
inline SVG drawn from the same rows as the tables beside them.

It also writes ``page/headline.html``, the headline table alone, which the Snakemake
report shows on its landing page.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command, layout
from justeval.io.parquet import DataError, write_text_atomic
from justeval.metrics.formatting import column_label, column_samples
from justeval.page.html import document, esc, sort_key, table
from justeval.page.svg import line_chart

log = logging.getLogger(__name__)

# the analysis tables, in the order the page shows them, with a heading each
SECTIONS = {
    "published": "Against the published figures",
    "paired": "Paired comparisons between models",
    "variants": "Grading variants against the primary one",
    "sweep": "Training-run sweep",
    "checkpoint_changes": "What changed between checkpoints",
    "budget": "Accuracy by token budget",
    "truncation": "Truncation",
    "coverage": "Coverage",
    "samples_needed": "Samples needed",
    "overlap_accuracy": "Accuracy without the training-set copies",
    "overlap": "Overlap with the training sets",
    "overlap_summary": "Overlap summary",
    "cost": "What the run spent",
    "scores": "Every metric",
}


def read_csv(path: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, keep_default_na=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the table ({exc})") from None


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def headline(accuracy: pd.DataFrame, scores: pd.DataFrame, published: pd.DataFrame, settings: dict) -> str:
    """The accuracy table, each cell with its interval and Δ against the published figure."""
    variants = settings["variants"]
    primary = variants[0]
    n_of = column_samples(scores)
    where: dict[str, tuple[str, str]] = {}
    for variant in variants:
        for bench in settings["benchmarks"]:
            where[column_label(bench, n_of.get(bench, 0), variant, primary)] = (bench, variant)
    score_of = {(r.model, r.benchmark, r.variant): r for r in scores.itertuples()} if len(scores) else {}
    pub_of = {(r.model, r.benchmark): r for r in published.itertuples()} if len(published) else {}
    head = "".join(f'<th scope="col" data-column="{esc(c)}">{esc(c)}</th>' for c in accuracy.columns)
    rows = []
    for row in accuracy.itertuples(index=False, name=None):
        model = str(row[0])
        cells = [f'<th scope="row" data-value="{esc(model)}">{esc(model)}</th>']
        for column, value in zip(accuracy.columns[1:], row[1:], strict=True):
            shown = f"{value:.2f}" if _finite(value) else ""
            extra, cls = "", "num"
            bench, variant = where.get(column, (None, None))
            s = score_of.get((model, bench, variant))
            if s is not None and s.n_samples < 2 and _finite(getattr(s, "bootstrap_ci_low", None)):
                # one sample per problem: no sampling variance to estimate; the bootstrap
                # over problems is the interval there is
                low, high = s.bootstrap_ci_low, s.bootstrap_ci_high
                boot = 'title="bootstrap over problems (N = 1)"'
                extra += f'<span class="ci" {boot}>[{low:.2f}, {high:.2f}] b</span>'
            elif s is not None and _finite(s.sampling_ci_low):
                extra += f'<span class="ci">[{s.sampling_ci_low:.2f}, {s.sampling_ci_high:.2f}]</span>'
            if s is not None and _finite(getattr(s, "benchmark_problems", None)):
                extra += _coverage(s)
            p = pub_of.get((model, bench)) if variant == primary else None
            if p is not None and _finite(p.published):
                outside = bool(p.published_outside_interval)
                cls += " outside" if outside else ""
                flag = " ⚑ outside the interval" if outside else ""
                extra += (
                    f'<span class="delta" data-delta="{p.delta!r}">Δ {p.delta:+.2f} vs {p.published:.2f} '
                    f"published{flag}</span>"
                )
            if bench is not None and shown and s is not None:
                shown = f'<a href="page/{esc(model)}/{esc(bench)}/index.html">{shown}</a>'
            data = f'data-column="{esc(column)}" data-value="{esc(sort_key(value))}"'
            cells.append(f'<td class="{cls}" {data}>{shown}{extra}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table class="sortable headline" id="accuracy">'
        "<caption>mean@N (%) by model and benchmark, Avg the unweighted mean over benchmarks; "
        "under each: the 95 % sampling interval (with one sample per problem, marked b: the "
        "bootstrap over problems), and Δ against the published figure where one exists. "
        "A click on a number opens the problems.</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _coverage(s) -> str:
    """An import's cell: the part of the benchmark it covers and its N per problem."""
    parts = []
    if s.n_problems < s.benchmark_problems:
        parts.append(f"{s.n_problems} of {s.benchmark_problems} problems")
    if s.min_samples != s.n_samples:
        parts.append(f"N = {s.min_samples}–{s.n_samples}")
    return f'<span class="part">{esc(", ".join(parts))}</span>' if parts else ""


def pass_at_k_charts(scores: pd.DataFrame, settings: dict) -> str:
    if scores.empty:
        return ""
    primary = settings["variants"][0]
    ks = sorted(int(c.split("@")[1]) for c in scores.columns if c.startswith("pass@"))
    if len(ks) < 2:
        return ""
    charts = []
    part = scores[scores["variant"] == primary]
    for bench in settings["benchmarks"]:
        rows = part[part["benchmark"] == bench]
        series = {
            r["model"]: [(k, r[f"pass@{k}"]) for k in ks if _finite(r[f"pass@{k}"])]
            for _, r in rows.iterrows()
        }
        if any(len(points) > 1 for points in series.values()):  # a curve, not one k
            charts.append(
                line_chart(series, f"pass@k: {bench}", "k", "pass@k (%)", f"pass-at-k-{bench}", log2_x=True)
            )
    return _charts("pass@k", charts)


def sweep_charts(sweep: pd.DataFrame, settings: dict) -> str:
    if sweep.empty:
        return ""
    charts = []
    for bench in [*settings["benchmarks"], "Avg"]:
        rows = sweep[sweep["benchmark"] == bench]
        if rows.empty:
            continue
        series = {
            str(run): list(zip(p["step"], p["mean_at_n"], strict=True))
            for run, p in rows.groupby("run", sort=False)
        }
        charts.append(line_chart(series, f"{bench} by training step", "step", "mean@N (%)", f"sweep-{bench}"))
    return _charts("Accuracy by training step", charts)


def budget_charts(budget: pd.DataFrame, settings: dict) -> str:
    if budget.empty or "budget" not in budget.columns:
        return ""
    primary = settings["variants"][0]
    charts = []
    part = budget[budget["variant"] == primary] if "variant" in budget.columns else budget
    for bench in settings["benchmarks"]:
        rows = part[part["benchmark"] == bench]
        if rows.empty:
            continue
        series = {
            str(m): list(zip(p["budget"], p["mean_at_n"], strict=True))
            for m, p in rows.groupby("model", sort=False)
        }
        charts.append(
            line_chart(
                series, f"{bench}: accuracy by budget", "token budget", "mean@N (%)", f"budget-{bench}"
            )
        )
    return _charts("Accuracy by token budget", charts)


def _charts(title: str, charts: list[str]) -> str:
    return f'<h3>{esc(title)}</h3><div class="charts">{"".join(charts)}</div>' if charts else ""


def page(tables: dict[str, pd.DataFrame], settings: dict, views: set[tuple[str, str]]) -> tuple[str, str]:
    """The page and the headline fragment."""
    accuracy = tables.pop("accuracy")
    scores, published = tables.get("scores", pd.DataFrame()), tables.get("published", pd.DataFrame())
    top = headline(accuracy, scores, published, settings)
    toc = ['<a href="#headline">accuracy</a>', '<a href="#curves">curves</a>']
    sections = []
    for name, title in SECTIONS.items():
        frame = tables.get(name)
        if frame is None or frame.empty:
            continue
        toc.append(f'<a href="#{name}">{esc(name.replace("_", " "))}</a>')
        sections.append(
            f'<h2 id="{name}">{esc(title)}</h2><div class="wide">{table(frame, f"table-{name}")}</div>'
        )
    curves = (
        sweep_charts(tables.get("sweep", pd.DataFrame()), settings)
        + pass_at_k_charts(scores, settings)
        + budget_charts(tables.get("budget", pd.DataFrame()), settings)
    )
    view_links = "".join(
        f'<li><a href="page/{esc(m)}/{esc(b)}/index.html">{esc(m)} on {esc(b)}</a></li>'
        for m in settings["models"]
        for b in settings["benchmarks"]
        if (m, b) in views
    )
    body = (
        "<h1>justeval results</h1>"
        f'<nav class="toc">{" ".join(toc)}</nav>'
        f'<h2 id="headline">Accuracy</h2><div class="wide">{top}</div>'
        f'<h2 id="curves">Curves</h2>{curves or "<p class=note>No curve in this run.</p>"}'
        + "".join(sections)
        + f'<h2 id="problems">Problems, sample by sample</h2><ul class="views">{view_links}</ul>'
    )
    return document("justeval results", body, scripts=["tables.js"]), top


@command("results-page", "results/index.html: the headline table, curves and every analysis table")
def results_page(
    *,
    accuracy: Annotated[str, Arg("tables/accuracy.csv")],
    tables: Annotated[list[str], Arg("the run's other tables (.csv); each shown by its name")] = (),
    views: Annotated[list[str], Arg("the problem views' folders (page/<model>/<benchmark>)")] = (),
    settings: Annotated[dict, Arg("the run's layout (JSON)", parse=layout)],
    output: Annotated[str, Arg("the page (index.html)")],
    headline_out: Annotated[str, Arg("the headline table alone (HTML)", flag="--headline")],
) -> None:
    frames = {"accuracy": read_csv(accuracy)}
    for path in tables:
        name = Path(path).stem
        if name not in SECTIONS:
            raise DataError(f"{path}: not a table the results page knows ({', '.join(SECTIONS)})")
        frames[name] = read_csv(path)
    pairs = {(Path(v).parent.name, Path(v).name) for v in views}
    html, top = page(frames, settings, pairs)
    write_text_atomic(output, html)
    write_text_atomic(headline_out, top + "\n")
    log.info("results page: %s (%.0f kB)", output, len(html.encode()) / 1e3)
