"""The coverage stage: pass@k of pairs of models for every k up to N, with a paired
bootstrap over problems, the crossover k* where the base catches up ("does RL only
sharpen?"), and the problems only one of the two solves; a table and one plot per
benchmark. The statistics are :mod:`justeval.analysis.coverage`'s."""

from __future__ import annotations

import logging
from typing import Annotated

import numpy as np
import pandas as pd

from justeval.analysis.coverage import Coverage, load_primary_verdicts, pair_coverage
from justeval.command import Arg, command, layout
from justeval.io.parquet import DataError, write_text_atomic
from justeval.metrics.figures import plots_by_benchmark, pyplot, save_figure
from justeval.metrics.formatting import checkpoint_runs, markdown, md_cell
from justeval.metrics.scores import pass_at_k

log = logging.getLogger(__name__)

KEYS = ["section", "base", "model", "benchmark", "problems", "n_base", "n_model"]
CURVE = ["k", "pass_base", "pass_base_low", "pass_base_high", "pass_model", "pass_model_low"]
CURVE += ["pass_model_high", "delta", "delta_low", "delta_high"]
CROSSING = ["base_below_at_1", "k_star", "k_star_low", "k_star_high", "share_crossing"]
CROSSING += ["share_base_not_below_at_1", "only_base", "only_model"]
ONLY = ["problem_id", "solved_by", "accuracy_base", "accuracy_model"]
COLUMNS = KEYS + CURVE + CROSSING + ONLY


def pairs(settings: dict) -> list[tuple[str, str]]:
    """The (base, model) pairs: ``coverage`` as named, or, when it names none, each
    training run's first checkpoint against its last."""
    models = settings["models"]
    named = settings["coverage"] or []
    if named:
        found = [(p["base"], p["model"]) for p in named]
        unknown = sorted({m for pair in found for m in pair if m not in models})
        if unknown:
            raise DataError(f"coverage names models that are not in the run: {unknown}")
    else:
        found = [(pts[0][1], pts[-1][1]) for pts in checkpoint_runs(models).values() if len(pts) > 1]
    return list(dict.fromkeys(found))


def compute(
    verdicts: dict[tuple[str, str], pd.DataFrame], settings: dict
) -> list[tuple[str, str, str, Coverage]]:
    """(base, model, benchmark, coverage) of every pair on every benchmark both have, in
    pair then config order."""
    out = []
    for base, model in pairs(settings):
        for bench in settings["benchmarks"]:
            fa, fb = verdicts.get((base, bench)), verdicts.get((model, bench))
            if fa is None or fb is None:
                continue
            result = pair_coverage(
                fa, fb, pass_at_k, resamples=settings["bootstrap_samples"], seed=settings["seed"]
            )
            out.append((base, model, bench, result))
    return out


def coverage_frame(results: list[tuple[str, str, str, Coverage]]) -> pd.DataFrame:
    """The CSV: per pair and benchmark, one `pass_at_k` row per k (in %), one `crossover`
    row, one `only_one` row per problem only one of the two solves."""
    rows = []
    for base, model, bench, c in results:
        keys = {"base": base, "model": model, "benchmark": bench, "problems": len(c.problems)}
        keys |= {"n_base": c.n_base, "n_model": c.n_model}
        for i, k in enumerate(c.ks):
            rows.append(
                {"section": "pass_at_k", **keys, "k": k}
                | _triple("pass_base", c.base[i], c.base_interval[:, i])
                | _triple("pass_model", c.model[i], c.model_interval[:, i])
                | _triple("delta", c.delta[i], c.delta_interval[:, i])
            )
        counts = c.only["solved_by"].value_counts()
        rows.append(
            {
                "section": "crossover",
                **keys,
                "base_below_at_1": c.base_below_at_1,
                "k_star": c.kstar,
                "k_star_low": c.kstar_interval[0],
                "k_star_high": c.kstar_interval[1],
                "share_crossing": c.share_crossing,
                "share_base_not_below_at_1": c.share_not_below_at_1,
                "only_base": int(counts.get("base", 0)),
                "only_model": int(counts.get("model", 0)),
            }
        )
        for row in c.only.itertuples(index=False):
            rows.append(
                {"section": "only_one", **keys, "problem_id": row.problem_id, "solved_by": row.solved_by}
                | {"accuracy_base": 100 * row.accuracy_base, "accuracy_model": 100 * row.accuracy_model}
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ["problems", "n_base", "n_model", "k", "k_star", "k_star_low", "k_star_high"]:
        frame[column] = frame[column].astype("Int64")
    for column in ["only_base", "only_model"]:
        frame[column] = frame[column].astype("Int64")
    frame["base_below_at_1"] = frame["base_below_at_1"].astype("boolean")
    return frame


def _triple(name: str, value: float, interval: np.ndarray) -> dict:
    return {
        name: 100 * float(value),
        f"{name}_low": 100 * float(interval[0]),
        f"{name}_high": 100 * float(interval[1]),
    }


# ---------------------------------------------------------------- Markdown


def kstar_text(c: Coverage) -> str:
    n = len(c.ks)
    low, high = c.kstar_interval
    if c.kstar is None:
        point = f"none up to N = {n}"
    elif not c.base_below_at_1:
        point = "1 (the base is not below at k = 1: no crossover)"
    else:
        point = str(c.kstar)
    interval = f"[{'none' if low is None else low}, {'none' if high is None else high}]"
    return f"{point} {interval}"


def _cell(value: float, interval: np.ndarray) -> str:
    return f"{100 * value:.2f} [{100 * interval[0]:.2f}, {100 * interval[1]:.2f}]"


def shown_ks(c: Coverage) -> list[int]:
    """k values shown in the Markdown: powers of two, N, and k*."""
    n = len(c.ks)
    ks = {k for k in c.ks if k & (k - 1) == 0} | {n}
    if c.kstar is not None:
        ks.add(c.kstar)
    return sorted(ks)


def coverage_markdown(results: list[tuple[str, str, str, Coverage]], settings: dict) -> str:
    lines = [
        "# Coverage: pass@k of two models up to N\n",
        f"Unbiased pass@k (%) of each pair for every k from 1 to N, primary grading variant "
        f"`{settings['variants'][0]}`, on the problems both models have, with 95 % intervals from a paired "
        f"bootstrap over problems ({settings['bootstrap_samples']} resamples, seed {settings['seed']}; the "
        "same resampled problems for both models). Δ = model − base. k* is the smallest k where the base's "
        "pass@k is at least the model's, a crossover when the base is below at k = 1 (a sign that the "
        "model's lead comes from sharpening what the base already solves sometimes); its interval is "
        "the 2.5 and 97.5 % quantiles of k* over the resamples, `none` when the base stays below up to N. "
        "`only base` / `only model`: problems with at least one correct sample of N for one model and none "
        "for the other. This page shows k = 1, 2, 4, …, N and k*; the CSV holds every k.\n",
    ]
    if not results:
        lines.append(
            "No pair to compare: name pairs in `analysis.coverage`, or run a sweep (its first "
            "checkpoint against its last).\n"
        )
        return "\n".join(lines)
    summary = pd.DataFrame(
        [
            {
                "base": base,
                "model": model,
                "benchmark": bench,
                "problems": len(c.problems),
                "samples (N)": len(c.ks),
                "pass@1 base": 100 * c.base[0],
                "pass@1 model": 100 * c.model[0],
                "pass@N base": 100 * c.base[-1],
                "pass@N model": 100 * c.model[-1],
                "k* [95 % CI]": kstar_text(c),
                "only base": int((c.only["solved_by"] == "base").sum()),
                "only model": int((c.only["solved_by"] == "model").sum()),
            }
            for base, model, bench, c in results
        ]
    )
    lines += ["## Summary\n", markdown(summary)]
    for (base, model), group in _by_pair(results).items():
        lines.append(f"## {md_cell(base)} → {md_cell(model)}\n")
        for bench, c in group:
            n = len(c.ks)
            lines.append(f"### {md_cell(bench)} ({len(c.problems)} problems, N = {n})\n")
            shown = [c.ks.index(k) for k in shown_ks(c)]
            table = pd.DataFrame(
                {
                    "k of N": [c.ks[i] for i in shown],
                    f"base {base} [95 % CI]": [_cell(c.base[i], c.base_interval[:, i]) for i in shown],
                    f"model {model} [95 % CI]": [_cell(c.model[i], c.model_interval[:, i]) for i in shown],
                    "Δ [95 % CI]": [_cell(c.delta[i], c.delta_interval[:, i]) for i in shown],
                }
            )
            lines.append(markdown(table))
            lines.append(
                f"k*: {kstar_text(c)}. The base is not below at k = 1 in "
                f"{100 * c.share_not_below_at_1:.1f} % of the resamples, and at least the model's by k = N "
                f"(k* ≤ N, k = 1 included) in {100 * c.share_crossing:.1f} %.\n"
            )
            if c.only.empty:
                lines.append("Every problem one of the two solves, the other solves too.\n")
            else:
                only = c.only.assign(
                    accuracy_base=100 * c.only["accuracy_base"], accuracy_model=100 * c.only["accuracy_model"]
                ).rename(
                    columns={
                        "problem_id": "problem",
                        "solved_by": "solved by",
                        "accuracy_base": f"base {base} (%)",
                        "accuracy_model": f"model {model} (%)",
                    }
                )
                lines += ["Solved by only one of the two (accuracy over N samples):\n", markdown(only)]
    return "\n".join(lines)


def _by_pair(results) -> dict[tuple[str, str], list[tuple[str, Coverage]]]:
    out: dict[tuple[str, str], list[tuple[str, Coverage]]] = {}
    for base, model, bench, c in results:
        out.setdefault((base, model), []).append((bench, c))
    return out


# ---------------------------------------------------------------- plots


def coverage_figure(results: list[tuple[str, str, str, Coverage]], benchmark: str):
    """One panel per pair on ``benchmark``: both pass@k curves (%) with their 95 % bands,
    k on a log2 axis (N = 1: one point each, with error bars), the crossover k* (a dashed
    line, gid ``crossover``) and its interval (a grey span, to N when its upper end is
    "none up to N") where the base catches up from below."""
    plt = pyplot()
    from matplotlib.ticker import NullLocator

    mine = [(base, model, c) for base, model, bench, c in results if bench == benchmark]
    fig, axes = plt.subplots(max(1, len(mine)), 1, figsize=(4.8, 3.2 * max(1, len(mine))), squeeze=False)
    if not mine:
        ax = axes[0, 0]
        ax.text(
            0.5, 0.5, "no pair of models on this benchmark", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_title(f"{benchmark}: coverage")
        ax.axis("off")
        return fig
    for ax, (base, model, c) in zip(axes[:, 0], mine, strict=True):
        ks, n = c.ks, len(c.ks)
        for role, name, curve, band, color in (
            ("base", base, c.base, c.base_interval, "tab:blue"),
            ("model", model, c.model, c.model_interval, "tab:orange"),
        ):
            ax.plot(
                ks, 100 * curve, marker="o", markersize=3, color=color, label=name, gid=f"coverage {role}"
            )
            if n > 1:
                ax.fill_between(ks, 100 * band[0], 100 * band[1], color=color, alpha=0.2, linewidth=0)
            else:  # one point: its interval as an error bar
                err = 100 * np.vstack([curve - band[0], band[1] - curve])
                shift = 2 ** (-0.03 if role == "base" else 0.03)  # side by side, not on top
                ax.errorbar([shift], 100 * curve, yerr=err, fmt="none", ecolor=color, capsize=3)
        if c.base_below_at_1 and c.kstar is not None:
            ax.axvline(
                c.kstar, color="black", linestyle="--", linewidth=1, label=f"k* = {c.kstar}", gid="crossover"
            )
            low, high = c.kstar_interval
            if low is not None:
                label = f"k* 95 % interval [{low}, {'none up to N' if high is None else high}]"
                ax.axvspan(
                    low,
                    high or n,
                    color="gray",
                    alpha=0.12,
                    linewidth=0,
                    label=label,
                    gid="crossover interval",
                )
        ax.set_xscale("log", base=2)
        ticks = sorted({k for k in ks if k & (k - 1) == 0} | {n})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(0.8, n * 1.25)
        ax.set_xlabel("k")
        ax.set_ylabel("pass@k (%)")
        ax.set_title(f"{benchmark}: {base} → {model} ({len(c.problems)} problems, N = {n})")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


@command("coverage", "pass@k up to N of pairs of models, the crossover k*, problems only one solves")
def coverage(
    *,
    verdicts: Annotated[list[str], Arg("the primary variant's verdicts of the paired models")],
    settings: Annotated[dict, Arg("the run's layout and the coverage pairs (JSON)", parse=layout)],
    markdown_out: Annotated[str, Arg("the table (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the table (.csv)", flag="--csv")],
    plots: Annotated[list[str], Arg("one image per benchmark and format: <folder>/<benchmark>.png, .svg")],
) -> None:
    results = compute(load_primary_verdicts(verdicts, settings["variants"][0]), settings)
    write_text_atomic(markdown_out, coverage_markdown(results, settings))
    write_text_atomic(csv_out, coverage_frame(results).to_csv(index=False))
    for bench, outputs in plots_by_benchmark(plots, "coverage", settings["benchmarks"]).items():
        save_figure(coverage_figure(results, bench), outputs)
    for base, model, bench, c in results:
        log.info("coverage %s -> %s on %s: k* %s", base, model, bench, kstar_text(c))
