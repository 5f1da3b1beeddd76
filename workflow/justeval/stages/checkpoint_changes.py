"""The checkpoint-changes stage (sweeps): per consecutive pair of checkpoints of a
training run, the problems learned and forgotten beyond sampling noise (Fisher's exact
test per problem, Benjamini-Hochberg across the problems of the pair and benchmark), and
how much picking the best checkpoint by its test score flatters it (best step picked on
random halves of the problems, scored on the other halves). The statistics are
:mod:`justeval.analysis.checkpoints`'s."""

from __future__ import annotations

import logging
from itertools import pairwise
from typing import Annotated

import numpy as np
import pandas as pd

from justeval.analysis.checkpoints import (
    bh_adjust,
    fisher_exact,
    random_halves,
    selection,
    smallest_p,
    split_seed,
)
from justeval.analysis.coverage import load_primary_verdicts, problem_counts
from justeval.command import Arg, command, layout
from justeval.io.parquet import write_text_atomic
from justeval.metrics.formatting import checkpoint_runs, markdown, md_cell

log = logging.getLogger(__name__)

KEYS = ["section", "run", "benchmark"]
CHANGE = ["from_step", "from_model", "to_step", "to_model", "problem_id", "n_from", "correct_from"]
CHANGE += [
    "n_to",
    "correct_to",
    "accuracy_from",
    "accuracy_to",
    "change",
    "p_value",
    "q_value",
    "significant",
]
SELECT = ["checkpoints", "problems", "splits", "best_step", "best_model", "best_accuracy", "honest_accuracy"]
SELECT += ["honest_low", "honest_high", "gap", "gap_low", "gap_high", "picked_best_share"]
COLUMNS = KEYS + CHANGE + SELECT


def change_rows(
    run: str, bench: str, a: tuple[int, str], b: tuple[int, str], fa, fb, fdr: float
) -> list[dict]:
    """One row per problem both checkpoints have: counts, Fisher's p, BH's q, and whether
    the change is listed (q <= fdr)."""
    (step_a, model_a), (step_b, model_b) = a, b
    ca, na = problem_counts(fa, f"{model_a} {bench}")
    cb, nb = problem_counts(fb, f"{model_b} {bench}")
    problems = [p for p in ca.index if p in cb.index]
    p_values = [fisher_exact(int(ca[p]), na, int(cb[p]), nb) for p in problems]
    q_values = bh_adjust(p_values)
    rows = []
    for pid, p, q in zip(problems, p_values, q_values, strict=True):
        acc_a, acc_b = ca[pid] / na, cb[pid] / nb
        change = "learned" if acc_b > acc_a else "forgotten" if acc_b < acc_a else "same"
        rows.append(
            {"section": "change", "run": run, "benchmark": bench, "from_step": step_a, "from_model": model_a}
            | {"to_step": step_b, "to_model": model_b, "problem_id": pid, "n_from": na}
            | {"correct_from": int(ca[pid]), "n_to": nb, "correct_to": int(cb[pid])}
            | {"accuracy_from": 100 * acc_a, "accuracy_to": 100 * acc_b, "change": change}
            | {"p_value": p, "q_value": float(q), "significant": bool(change != "same" and q <= fdr)}
        )
    return rows


def _accuracies(frames: list[pd.DataFrame], label: str) -> np.ndarray:
    """(checkpoints, problems) per-problem accuracy on the problems every checkpoint has."""
    counts = [problem_counts(f, label) for f in frames]
    problems = [p for p in counts[0][0].index if all(p in c.index for c, _ in counts)]
    return np.array([c[problems].to_numpy() / n for c, n in counts], dtype=float)


def selection_rows(run: str, points: list[tuple[int, str]], verdicts, settings: dict) -> list[dict]:
    """The naive best step and its honest estimate, per benchmark (the checkpoints that
    have it) and for Avg (when every checkpoint has every benchmark)."""
    splits, seed = settings["selection_splits"], settings["seed"]
    rows, per_bench = [], {}
    for bench in settings["benchmarks"]:
        have = [(s, m) for s, m in points if (m, bench) in verdicts]
        if len(have) < 2:
            continue
        acc = _accuracies([verdicts[m, bench] for _, m in have], f"{run} {bench}")
        if acc.shape[1] < 2:
            continue
        masks = random_halves(acc.shape[1], splits, split_seed(seed, bench))
        if len(have) == len(points):
            per_bench[bench] = (acc, masks)
        rows.append(_selection_row(run, bench, have, [acc], [masks], splits, acc.shape[1]))
    if len(per_bench) == len(settings["benchmarks"]) and len(settings["benchmarks"]) > 1:
        accs, masks = zip(*per_bench.values(), strict=True)
        rows.append(_selection_row(run, "Avg", points, list(accs), list(masks), splits, None))
    return rows


def _selection_row(run, bench, points, accs, masks, splits, problems) -> dict:
    result = selection(accs, masks)
    step, model = points[result.best]
    summary = {k: (100 * v if k != "picked_best_share" else v) for k, v in result.summary().items()}
    return {"section": "selection", "run": run, "benchmark": bench, "checkpoints": len(points)} | {
        "problems": problems,
        "splits": splits,
        "best_step": step,
        "best_model": model,
        **summary,
    }


def changes_frame(verdicts: dict[tuple[str, str], pd.DataFrame], settings: dict) -> pd.DataFrame:
    """The CSV: `change` rows (every problem of every consecutive pair of checkpoints and
    benchmark) then `selection` rows, run by run in config order."""
    rows = []
    for run, points in checkpoint_runs(settings["models"]).items():
        for a, b in pairwise(points):
            for bench in settings["benchmarks"]:
                fa, fb = verdicts.get((a[1], bench)), verdicts.get((b[1], bench))
                if fa is not None and fb is not None:
                    rows += change_rows(run, bench, a, b, fa, fb, settings["fdr"])
        rows += selection_rows(run, points, verdicts, settings)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ["from_step", "to_step", "n_from", "correct_from", "n_to", "correct_to", "checkpoints"]:
        frame[column] = frame[column].astype("Int64")
    for column in ["problems", "splits", "best_step"]:
        frame[column] = frame[column].astype("Int64")
    frame["significant"] = frame["significant"].astype("boolean")
    return frame


# ---------------------------------------------------------------- Markdown


def pair_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """Per consecutive pair and benchmark: problems tested, problems whose accuracy moved,
    those listed as learned or forgotten, the smallest p-value possible, the smallest q."""
    rows = []
    keys = ["from_step", "to_step", "benchmark"]
    for (step_a, step_b, bench), part in changes.groupby(keys, sort=False):
        listed = part[part["significant"]]
        n_a, n_b = int(part["n_from"].iloc[0]), int(part["n_to"].iloc[0])
        rows.append(
            {
                "from step": int(step_a),
                "to step": int(step_b),
                "benchmark": bench,
                "problems": len(part),
                "moved": int((part["change"] != "same").sum()),
                "learned": int((listed["change"] == "learned").sum()),
                "forgotten": int((listed["change"] == "forgotten").sum()),
                "smallest p possible": f"{smallest_p(n_a, n_b):.3g}",
                "smallest q": f"{float(part['q_value'].min()):.3g}",
            }
        )
    return pd.DataFrame(rows)


def _interval_cell(value: float, low: float, high: float) -> str:
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def changes_markdown(frame: pd.DataFrame, settings: dict) -> str:
    fdr = settings["fdr"]
    lines = [
        "# What changed between checkpoints\n",
        f"Primary grading variant `{settings['variants'][0]}`. **Learned and forgotten**: for each pair of "
        "consecutive checkpoints of a training run and each benchmark, every problem's correct samples "
        "(c of N at each checkpoint) are compared with Fisher's exact test (two-sided); the p-values of "
        "the pair's problems on that benchmark are adjusted with Benjamini–Hochberg, and a problem is "
        f"listed when its q ≤ {fdr} (expected share of false discoveries among the listed: at most "
        f"{fdr}). `moved` counts every problem whose accuracy changed at all, most of it sampling noise; "
        "`smallest p possible` is the smallest p-value the test can give with these N (0 of N against N "
        "of N): with few samples per problem nothing can be listed.\n",
        "**Picking the best checkpoint**: the naive best is the step with the best accuracy on all "
        "problems (Avg: the mean over benchmarks; the earliest step wins a tie), reported with that "
        "same accuracy. The honest estimate picks the best step on a random half of the problems and "
        "scores it on the other half, over "
        f"{settings['selection_splits']} seeded splits (seed {settings['seed']}); intervals are the "
        "2.5 and 97.5 % quantiles over the splits. `gap` = naive best − honest estimate: how much the "
        "naive pick flatters itself (picking on half the problems is noisier, so the gap is a little "
        "larger than the optimism alone). `picked best share`: splits whose pick is the naive best step.\n",
    ]
    if frame.empty:
        lines.append(
            "No training run with two or more checkpoints (models with a `step`): nothing to show.\n"
        )
        return "\n".join(lines)
    for run, part in frame.groupby("run", sort=False):
        lines.append(f"## {md_cell(run)}\n")
        changes = part[part["section"] == "change"]
        lines.append("### Learned and forgotten\n")
        if changes.empty:
            lines.append("No pair of consecutive checkpoints shares a benchmark.\n")
        else:
            lines.append(markdown(pair_summary(changes)))
            listed = changes[changes["significant"].fillna(False).astype(bool)]
            if listed.empty:
                lines.append(f"No problem changed beyond sampling noise (q ≤ {fdr}).\n")
            else:
                shown = pd.DataFrame(
                    {
                        "from step": listed["from_step"].astype(int),
                        "to step": listed["to_step"].astype(int),
                        "benchmark": listed["benchmark"],
                        "problem": listed["problem_id"],
                        "change": listed["change"],
                        "correct from": [
                            f"{a}/{n}" for a, n in zip(listed["correct_from"], listed["n_from"], strict=True)
                        ],
                        "correct to": [
                            f"{b}/{n}" for b, n in zip(listed["correct_to"], listed["n_to"], strict=True)
                        ],
                        "p": listed["p_value"].map(lambda v: f"{v:.3g}"),
                        "q": listed["q_value"].map(lambda v: f"{v:.3g}"),
                    }
                )
                lines.append(markdown(shown))
        chosen = part[part["section"] == "selection"]
        lines.append("### Picking the best checkpoint\n")
        if chosen.empty:
            lines.append("Fewer than two checkpoints on every benchmark: nothing to pick.\n")
        else:
            table = pd.DataFrame(
                {
                    "benchmark": chosen["benchmark"],
                    "checkpoints": chosen["checkpoints"].astype(int),
                    "naive best step": chosen["best_step"].astype(int),
                    "naive best (%)": chosen["best_accuracy"],
                    "honest estimate (%) [95 %]": [
                        _interval_cell(*v)
                        for v in zip(
                            chosen["honest_accuracy"],
                            chosen["honest_low"],
                            chosen["honest_high"],
                            strict=True,
                        )
                    ],
                    "gap (points) [95 %]": [
                        _interval_cell(*v)
                        for v in zip(chosen["gap"], chosen["gap_low"], chosen["gap_high"], strict=True)
                    ],
                    "picked best share": chosen["picked_best_share"],
                }
            )
            lines.append(markdown(table))
    return "\n".join(lines)


@command("checkpoint-changes", "problems learned and forgotten between checkpoints; the best step's optimism")
def checkpoint_changes(
    *,
    verdicts: Annotated[list[str], Arg("the primary variant's verdicts of every checkpoint")],
    settings: Annotated[dict, Arg("the run's layout, fdr and selection_splits (JSON)", parse=layout)],
    markdown_out: Annotated[str, Arg("the table (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the table (.csv)", flag="--csv")],
) -> None:
    frame = changes_frame(load_primary_verdicts(verdicts, settings["variants"][0]), settings)
    write_text_atomic(markdown_out, changes_markdown(frame, settings))
    write_text_atomic(csv_out, frame.to_csv(index=False))
    listed = frame[(frame["section"] == "change") & frame["significant"].fillna(False).astype(bool)]
    log.info("checkpoint changes: %d problems learned or forgotten beyond noise", len(listed))
