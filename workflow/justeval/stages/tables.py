"""The cross-model stages of tables.smk: the accuracy and scores tables (`table`),
comparisons with the published JustRL figures, paired bootstraps between models
and grading variants side by side (`compare`), a training run's checkpoints by
step (`sweep-table`), the per-problem drill-down (`drilldown`) and the run's
provenance (`provenance`)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd

from justeval.command import Arg, command, layout
from justeval.io.identity import file_identity
from justeval.io.parquet import read_metadata, read_parquet, read_shards, write_parquet, write_text_atomic
from justeval.io.provenance import record
from justeval.io.schemas import BENCHMARK, VERDICTS
from justeval.metrics.formatting import (
    accuracy_table,
    checkpoint_runs,
    column_samples,
    latex,
    markdown,
    md_cell,
    scores_table,
)
from justeval.metrics.scores import clusters, per_problem

log = logging.getLogger(__name__)


def load_verdicts(paths: list[str]) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Verdict files by the (model, benchmark, variant) their metadata names."""
    out = {}
    for path in paths:
        ident = file_identity(path)
        out[ident["model"], ident["benchmark"], ident["variant"]] = read_parquet(path, VERDICTS)
    return out


# ---------------------------------------------------------------- published figures


def published_comparison(metrics: pd.DataFrame, published: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """Δ = ours − published per benchmark, with our 95 % sampling interval; a flag
    where the published value lies outside it."""
    primary = settings["variants"][0]
    ours = metrics[metrics["variant"] == primary]
    rows = []
    rows_by_name = published.set_index("model")
    for model, info in settings["models"].items():
        name = info.get("published") or model
        if name not in rows_by_name.index:
            continue
        pub = rows_by_name.loc[name]
        for bench in settings["benchmarks"]:
            mine = ours[(ours["model"] == model) & (ours["benchmark"] == bench)]
            value = pub.get(bench)
            if mine.empty or value is None or pd.isna(value):
                continue
            m = mine.iloc[0]
            outside = not (m["sampling_ci_low"] <= float(value) <= m["sampling_ci_high"])
            rows.append(
                {
                    "model": model,
                    "published_as": name,
                    "benchmark": bench,
                    "ours": float(m["mean_at_n"]),
                    "published": float(value),
                    "delta": float(m["mean_at_n"]) - float(value),
                    "sampling_ci_low": float(m["sampling_ci_low"]),
                    "sampling_ci_high": float(m["sampling_ci_high"]),
                    "published_outside_interval": "yes" if outside else "no",
                }
            )
    columns = [
        "model", "published_as", "benchmark", "ours", "published", "delta",
        "sampling_ci_low", "sampling_ci_high", "published_outside_interval",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------- paired comparison


def paired_comparison(verdicts: dict[tuple[str, str, str], pd.DataFrame], settings: dict) -> pd.DataFrame:
    """For each pair (a, b): Δ = b − a in mean@N per benchmark and for Avg, with a
    95 % paired bootstrap over problems (the same problems resampled for both)."""
    primary = settings["variants"][0]
    models = list(settings["models"])
    pairs = settings.get("compare") or [[models[0], m] for m in models[1:]]
    resamples, seed = settings["bootstrap_samples"], settings["seed"]
    rows = []
    for a, b in pairs:
        deltas_by_bench = []
        for bench in settings["benchmarks"]:
            fa, fb = verdicts.get((a, bench, primary)), verdicts.get((b, bench, primary))
            if fa is None or fb is None:
                continue
            pa, pb = per_problem(fa), per_problem(fb)
            common = [p for p in pa.index if p in pb.index]
            if not common:
                continue
            d = (pb[common] - pa[common]).to_numpy(dtype=float)
            rng = np.random.default_rng(seed)
            boot = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
            deltas_by_bench.append(boot)
            rows.append(_paired_row(a, b, bench, pa[common].mean(), pb[common].mean(), boot, len(common)))
        if deltas_by_bench and len(deltas_by_bench) == len(settings["benchmarks"]):
            boot = np.mean(deltas_by_bench, axis=0)
            mean_a = np.mean([r["mean_a"] for r in rows if r["a"] == a and r["b"] == b]) / 100
            mean_b = np.mean([r["mean_b"] for r in rows if r["a"] == a and r["b"] == b]) / 100
            rows.append(_paired_row(a, b, "Avg", mean_a, mean_b, boot, None))
    columns = [
        "a",
        "b",
        "benchmark",
        "problems",
        "mean_a",
        "mean_b",
        "delta",
        "ci_low",
        "ci_high",
        "p_b_better",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["problems"] = frame["problems"].astype("Int64")  # a count (none for Avg), not a float
    return frame


def _paired_row(a, b, bench, mean_a, mean_b, boot, problems) -> dict:
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {
        "a": a,
        "b": b,
        "benchmark": bench,
        "problems": problems,
        "mean_a": 100 * float(mean_a),
        "mean_b": 100 * float(mean_b),
        "delta": 100 * (float(mean_b) - float(mean_a)),
        "ci_low": 100 * float(lo),
        "ci_high": 100 * float(hi),
        "p_b_better": float((boot > 0).mean()),
    }


# ---------------------------------------------------------------- grading variants


def variant_comparison(verdicts: dict[tuple[str, str, str], pd.DataFrame], settings: dict) -> pd.DataFrame:
    """Each variant against the primary one: verdicts that differ, and accuracies."""
    primary, others = settings["variants"][0], settings["variants"][1:]
    rows = []
    keys = ["problem_id", "sample_idx"]
    for (model, bench, variant), frame in verdicts.items():
        if variant == primary:
            continue
        base = verdicts.get((model, bench, primary))
        if base is None:
            continue
        both = base[keys + ["correct"]].merge(frame[keys + ["correct"]], on=keys, suffixes=("_p", "_v"))
        rows.append(
            {
                "model": model,
                "benchmark": bench,
                "variant": variant,
                "samples": len(both),
                "verdicts_differ": int((both["correct_p"] != both["correct_v"]).sum()),
                "only_primary_correct": int((both["correct_p"] & ~both["correct_v"]).sum()),
                "only_variant_correct": int((~both["correct_p"] & both["correct_v"]).sum()),
                "accuracy_primary": 100 * float(both["correct_p"].mean()),
                "accuracy_variant": 100 * float(both["correct_v"].mean()),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "model", "benchmark", "variant", "samples", "verdicts_differ", "only_primary_correct",
            "only_variant_correct", "accuracy_primary", "accuracy_variant",
        ],
    )  # fmt: skip
    # config order (variants, then models, then benchmarks), never alphabetical
    order = {
        "variant": {v: i for i, v in enumerate(others)},
        "model": {m: i for i, m in enumerate(settings["models"])},
        "benchmark": {b: i for i, b in enumerate(settings["benchmarks"])},
    }
    return frame.sort_values(
        ["variant", "model", "benchmark"], key=lambda c: c.map(order[c.name]), kind="stable"
    ).reset_index(drop=True)


def agreement_lines(variants: pd.DataFrame) -> list[str]:
    """Plain-language agreement of each variant with the primary one."""
    lines = []
    for variant, part in variants.groupby("variant", sort=False):
        total, differ = int(part["samples"].sum()), int(part["verdicts_differ"].sum())
        if total:
            lines.append(
                f"- `{variant}` agrees with the primary grading on {total - differ} of {total} samples "
                f"({100 * (total - differ) / total:.2f} %); {differ} verdicts differ."
            )
    return lines


def _disagreement_samples(verdicts, settings, limit: int = 20) -> list[str]:
    primary = settings["variants"][0]
    out = []
    for (model, bench, variant), frame in verdicts.items():
        base = verdicts.get((model, bench, primary))
        if variant == primary or base is None:
            continue
        keys = ["problem_id", "sample_idx"]
        cols = keys + ["correct", "extracted_answer", "status"]
        both = base[cols].merge(
            frame[keys + ["correct", "extracted_answer", "layer"]], on=keys, suffixes=("", "_v")
        )
        differ = both[both["correct"] != both["correct_v"]]
        # an imported file's own verdicts (`provided`): every disagreement, to adjudicate
        provided = bool(len(both)) and (both["layer"] == "provided").all()
        for row in (differ if provided else differ.head(limit)).itertuples():
            out.append(
                f"| {model} | {bench} | {variant} | {md_cell(row.problem_id)} #{row.sample_idx} "
                f"| {md_cell(row.extracted_answer)} | {md_cell(row.extracted_answer_v)} | {row.status} "
                f"| {row.correct} | {row.correct_v} |"
            )
    return out


@command("compare", "against the published figures, paired bootstraps, grading variants")
def compare(
    *,
    verdicts: Annotated[list[str], Arg("every verdicts file")],
    metrics: Annotated[list[str], Arg("every metrics file")],
    published: Annotated[str, Arg("the published JustRL figures (CSV)")],
    settings: Annotated[dict, Arg("the run's layout (JSON)", parse=layout)],
    markdown_out: Annotated[list[str], Arg("published, paired, variants (.md)", flag="--markdown", nargs=3)],
    csv_out: Annotated[list[str], Arg("published, paired, variants (.csv)", flag="--csv", nargs=3)],
    imported: Annotated[list[str], Arg("every import's imported.parquet (what each file reports)")] = (),
) -> None:
    """Writes the published, paired and variants comparisons (in that order)."""
    verdicts = load_verdicts(verdicts)
    metrics = read_shards(metrics)
    published = pd.read_csv(published)
    md_pub, md_paired, md_variants = markdown_out
    csv_pub, csv_paired, csv_variants = csv_out

    pub = published_comparison(metrics, published, settings)
    note = (
        "Δ = ours − published (mean@N, %); the interval is our 95 % sampling interval "
        "(mean@N ± 1.96 × sampling SE); `yes` flags a published value outside it.\n\n"
    )
    if pub.empty:
        note += (
            "No model of this run has a row in the published JustRL tables (set `published:` on a model).\n"
        )
    write_text_atomic(md_pub, "# Against the published JustRL figures\n\n" + note + "\n" + markdown(pub))
    write_text_atomic(csv_pub, pub.to_csv(index=False))

    paired = paired_comparison(verdicts, settings)
    text = (
        "# Paired comparisons\n\nΔ = b − a (mean@N, %) on the same problems, with a 95 % paired bootstrap "
        f"over problems ({settings['bootstrap_samples']} resamples, seed {settings['seed']}); `p_b_better` "
        "is the share of resamples where b is ahead. Avg resamples every benchmark.\n\n"
    )
    if paired.empty:
        text += "One model only: nothing to compare.\n"
    write_text_atomic(md_paired, text + markdown(paired))
    write_text_atomic(csv_paired, paired.to_csv(index=False))

    variants = variant_comparison(verdicts, settings)
    text = f"# Grading variants against the primary one (`{settings['variants'][0]}`)\n\n"
    if variants.empty:
        text += "One grading variant only: nothing to compare.\n"
    else:
        text += "\n".join(agreement_lines(variants)) + "\n\n" + markdown(variants)
        samples = _disagreement_samples(verdicts, settings)
        if samples:
            text += (
                "\n## Samples graded differently (up to 20 per model, benchmark and variant; every one "
                "against an imported file's own verdicts)\n\n"
                "| model | benchmark | variant | sample | extracted answer | variant's answer | rule status "
                "| primary correct | variant correct |\n" + "| --- " * 9 + "|\n" + "\n".join(samples) + "\n"
            )
    text += self_reported(imported, metrics, settings)
    write_text_atomic(md_variants, text)
    write_text_atomic(csv_variants, variants.to_csv(index=False))


def self_reported(imported: list[str], metrics: pd.DataFrame, settings: dict) -> str:
    """What imported files report of themselves (an accuracy in a results file, a
    summary), beside our mean@N of the same file's samples and the mean of the file's own
    per-sample verdicts where a `provided` variant has them."""
    rows = []
    mean = (
        {(r.model, r.benchmark, r.variant): r.mean_at_n for r in metrics.itertuples()} if len(metrics) else {}
    )
    primary = settings["variants"][0]
    for path in imported:
        meta = read_metadata(path)
        reported = meta.get("source_aggregate")
        if not reported:
            continue
        model, bench = meta["identity"]["model"], meta["identity"]["benchmark"]
        own = [v for v in settings["variants"][1:] if (model, bench, v) in mean]
        rows.append(
            {
                "model": model,
                "benchmark": bench,
                "the file reports": "; ".join(
                    ", ".join(
                        f"{k}={json.dumps(v, sort_keys=True)}"
                        for k, v in sorted(entry.items())
                        if k != "file"
                    )
                    for entry in reported.get("files", [reported])
                ),
                f"ours ({primary}), mean@N %": mean.get((model, bench, primary)),
                "its own verdicts, mean@N %": mean.get((model, bench, own[0])) if own else None,
            }
        )
    if not rows:
        return ""
    return (
        "\n## What the imported files report of themselves\n\n"
        "As the files (or their results files) give it, in their own units; ours are over the "
        "problems matched to the benchmark.\n\n" + markdown(pd.DataFrame(rows)) + "\n"
    )


# ---------------------------------------------------------------- sweeps


def sweep_frame(verdicts: dict[tuple[str, str, str], pd.DataFrame], settings: dict) -> pd.DataFrame:
    """One row per (run, step, benchmark or Avg): mean@N (%) and the paired Δ against
    the run's first checkpoint with its 95 % paired bootstrap over problems."""
    primary, benches = settings["variants"][0], list(settings["benchmarks"])
    rows = []
    for run, points in checkpoint_runs(settings["models"]).items():
        first = points[0][1]
        pairs = [[first, model] for _, model in points[1:]]
        by_pair = {}
        if pairs:  # (an empty `compare` would mean "every model against the first")
            paired = paired_comparison(verdicts, {**settings, "compare": pairs})
            by_pair = {(r.b, r.benchmark): r for r in paired.itertuples()}
        for step, model in points:
            means = []
            for bench in [*benches, "Avg"]:
                if bench == "Avg":
                    if len(means) != len(benches):
                        continue
                    mean = float(np.mean(means))
                else:
                    frame = verdicts.get((model, bench, primary))
                    if frame is None:
                        continue
                    mean = 100 * float(per_problem(frame).mean())
                    means.append(mean)
                pair = by_pair.get((model, bench))
                if model == first:
                    delta = (0.0, 0.0, 0.0)
                else:
                    delta = (pair.delta, pair.ci_low, pair.ci_high) if pair else (np.nan,) * 3
                rows.append(
                    {"run": run, "step": step, "model": model, "benchmark": bench, "mean_at_n": mean}
                    | dict(zip(("delta_vs_first", "ci_low", "ci_high"), delta, strict=True))
                )
    columns = ["run", "step", "model", "benchmark", "mean_at_n", "delta_vs_first", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)


BEST_STEP_CAVEAT = (
    "The best step is picked by the same test scores it is reported with, so its score "
    "overstates what that checkpoint would score on new problems (the maximum of many noisy "
    "estimates is biased upwards, more so the more checkpoints there are). Treat it as a "
    "candidate to confirm on held-out problems or fresh samples, not as a result."
)


def sweep_markdown(table: pd.DataFrame, settings: dict) -> str:
    lines = [
        "# Training-run sweep: accuracy by step\n",
        f"mean@N (%) of every checkpoint, primary grading variant `{settings['variants'][0]}`. "
        "Δ is each checkpoint minus the run's first one on the same problems, with a 95 % "
        f"paired bootstrap over problems ({settings['bootstrap_samples']} resamples, seed "
        f"{settings['seed']}); Avg resamples every benchmark.\n",
    ]
    if table.empty:
        return "\n".join([*lines, "No model of this run has a `step`: nothing to show.\n"])
    benches = [b for b in [*settings["benchmarks"], "Avg"] if b in set(table["benchmark"])]
    for run, part in table.groupby("run", sort=False):
        wide = part.pivot_table(index=["step", "model"], columns="benchmark", values="mean_at_n", sort=False)
        wide = wide.reindex(columns=benches).reset_index()
        avg = part[part["benchmark"] == "Avg"].set_index("model")
        first = part.sort_values("step", kind="stable")["model"].iloc[0]
        if not avg.empty:
            wide["Δ Avg [95 % CI]"] = [
                "first" if m == first else _delta_cell(avg.loc[m]) if m in avg.index else ""
                for m in wide["model"]
            ]
        lines += [f"## {run}\n", markdown(wide)]
        if not avg.empty:
            best = avg.sort_values(["mean_at_n", "step"], ascending=[False, True]).iloc[0]
            lines.append(
                f"Best step by Avg: **{int(best['step'])}** ({best.name}, {best['mean_at_n']:.2f}). "
                + BEST_STEP_CAVEAT
                + "\n"
            )
    return "\n".join(lines)


def _delta_cell(row) -> str:
    return f"{row['delta_vs_first']:+.2f} [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"


@command("sweep-table", "a training run's checkpoints: accuracy by step and Δ against the first")
def sweep_table(
    *,
    verdicts: Annotated[list[str], Arg("the primary variant's verdicts of every checkpoint")],
    settings: Annotated[dict, Arg("the run's layout (JSON)", parse=layout)],
    markdown_out: Annotated[str, Arg(flag="--markdown")],
    csv_out: Annotated[str, Arg(flag="--csv")],
) -> None:
    table = sweep_frame(load_verdicts(verdicts), settings)
    write_text_atomic(markdown_out, sweep_markdown(table, settings))
    write_text_atomic(csv_out, table.to_csv(index=False))


# ---------------------------------------------------------------- drill-down


@command("drilldown", "per-problem accuracy and answers of every model on one benchmark")
def drilldown(
    *,
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    verdicts: Annotated[list[str], Arg("the primary variant's verdicts of every model")],
    settings: Annotated[dict, Arg("JSON: the grader that groups answers")],
    parquet: str,
    markdown_out: Annotated[str, Arg(flag="--markdown")],
) -> None:
    """Each problem's accuracy per model and its distinct final answers with counts
    (answers that ``settings["grader"]``, the primary variant's rule grader, calls
    equivalent are counted together)."""
    from justeval.grading.runner import Grader

    bench = read_parquet(benchmark, BENCHMARK)
    by_model = load_verdicts(verdicts)
    grader = Grader(settings["grader"], timeout=settings["timeout"], jobs=1)
    table = bench[["problem_id", "answer"]].rename(columns={"answer": "gold"}).copy()
    md_rows = []
    for (model, _bench, _variant), frame in by_model.items():
        acc, answers = [], []
        groups = dict(tuple(frame.groupby("problem_id", sort=False)))
        for pid in table["problem_id"]:
            g = groups.get(pid)
            if g is None:
                acc.append(float("nan"))
                answers.append("")
                continue
            g = g.sort_values("sample_idx")
            extracted = [a if isinstance(a, str) else None for a in g["extracted_answer"]]
            found = clusters(extracted, grader.equivalent)
            parts = [f"{extracted[c[0]]} ×{len(c)}" for c in sorted(found, key=len, reverse=True)]
            missing = sum(a is None for a in extracted)
            if missing:
                parts.append(f"(no answer) ×{missing}")
            acc.append(100 * float(g["correct"].mean()))
            answers.append("; ".join(parts))
        table[f"{model} accuracy"] = acc
        table[f"{model} answers"] = answers
        md_rows.append(model)
    bench_meta = read_metadata(benchmark)
    write_parquet(table, parquet, metadata={"stage": "drilldown", "benchmark": bench_meta})
    shown = table.copy()
    for col in shown.columns:
        if col.endswith(" answers"):
            shown[col] = shown[col].str.slice(0, 120)
    title = f"# Per-problem drill-down: {bench_meta['benchmark']}\n\n"
    note = "Accuracy (%) per model on each problem and its distinct final answers with counts.\n\n"
    write_text_atomic(markdown_out, title + note + markdown(shown))


# ---------------------------------------------------------------- provenance


@command("provenance", "what the run's numbers trace back to")
def provenance(
    *,
    manifests: Annotated[list[str], Arg("every model manifest")] = (),
    benchmarks: Annotated[list[str], Arg("every prepared benchmark")],
    output: str,
) -> None:
    """Everything a number traces back to: software, config hash, git commit, model
    revisions and weight hashes, benchmark content hashes."""
    models = {}
    for path in manifests:
        data = json.loads(Path(path).read_text())
        models[Path(path).parent.name] = {
            k: data.get(k) for k in ("identity", "source", "resolved_revision", "weights_sha256")
        }
    bench = {}
    for path in benchmarks:
        meta = read_metadata(path)
        bench[meta["benchmark"]] = {
            k: meta.get(k) for k in ("source", "source_sha256", "content_sha256", "limit", "layout")
        }
    data = {**record(), "models": models, "benchmarks": bench, "host": os.uname().nodename}
    write_text_atomic(output, json.dumps(data, indent=2, sort_keys=True) + "\n")


def coverage_notes(scores: pd.DataFrame) -> list[str]:
    """A line for each (model, benchmark) scored on part of the benchmark or with
    another number of samples per problem than its column says (imports)."""
    if "benchmark_problems" not in scores.columns:
        return []
    lines = []
    n_of = column_samples(scores)
    for r in scores.drop_duplicates(["model", "benchmark"]).itertuples():
        partial = r.n_problems < r.benchmark_problems
        if partial or r.n_samples != n_of[r.benchmark] or r.min_samples != r.n_samples:
            n = f"{r.min_samples}–{r.n_samples}" if r.min_samples != r.n_samples else f"{r.n_samples}"
            lines.append(
                f"- {md_cell(r.model)} on {md_cell(r.benchmark)}: {r.n_problems} of {r.benchmark_problems} "
                f"problems, N = {n} per problem (an import: what its file holds)"
            )
    return lines


def _write_formats(
    frame: pd.DataFrame, paths: list[str], metadata: dict, caption: str = "", notes: list[str] = ()
) -> None:
    for path in paths:
        if path.endswith(".parquet"):
            write_parquet(frame, path, metadata=metadata)
        elif path.endswith(".csv"):
            write_text_atomic(path, frame.to_csv(index=False))
        elif path.endswith(".md"):
            write_text_atomic(path, markdown(frame) + ("\n" + "\n".join(notes) + "\n" if notes else ""))
        elif path.endswith(".tex"):
            write_text_atomic(path, latex(frame, caption))
        else:
            raise ValueError(f"unknown table format: {path}")


@command("table", "the cross-model accuracy and scores tables")
def table(
    *,
    scores: Annotated[list[str], Arg("every (model, benchmark) scores file", positional=True)],
    settings: Annotated[dict, Arg("the run's layout (JSON)", parse=layout)],
    accuracy: Annotated[list[str], Arg("accuracy table files (.md .csv .tex .parquet)")],
    scores_out: Annotated[list[str], Arg("scores table files (.md .csv .parquet)", flag="--scores")],
) -> None:
    frame = read_shards(scores)
    models, benchmarks = list(settings["models"]), list(settings["benchmarks"])
    metadata = {"stage": "table", "settings": settings}
    accuracy_table_ = accuracy_table(frame, models, benchmarks, settings["variants"])
    notes = coverage_notes(frame)
    _write_formats(accuracy_table_, accuracy, metadata, caption="mean@N accuracy (%)", notes=notes)
    _write_formats(scores_table(frame, models, benchmarks, settings["variants"]), scores_out, metadata)
    log.info("accuracy table:\n%s", markdown(accuracy_table_))
