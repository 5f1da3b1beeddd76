"""The budget curve (``results/tables/budget.{md,csv}``, ``results/plots/budget/<benchmark>.{png,svg}``):
the accuracy each model would have had on each benchmark had every sample been cut at B
tokens, for each budget B, from the one run at the largest budget
(:mod:`justeval.analysis.budget` says how, and why that is the same sample).

Two commands:

``budget-grade``
    one model, benchmark and grading variant: cuts the samples longer than each budget
    with the model's tokenizer, grades the cut texts with the variant's rule grader, and
    writes one row per (sample, budget). Where the variant has a verifier it also writes
    the cut samples the rule grader rejects as a benchmark, generations and rule-grade
    file of their own (problem id ``<problem>@<budget>``), which the ``model-grade``
    command judges like any other: the same prompt, parse and per-row cache, keyed by the
    cut text.
``budget-table``
    every model, benchmark and variant: mean@N with its sampling interval at each budget
    (the verifier's verdicts on the cut samples applied where given), the share of samples
    finished by B, the cut samples and those sent to the verifier; a plot per benchmark.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Annotated

import pandas as pd

from justeval.analysis.budget import (
    BUDGET_GRADES,
    LENGTH,
    NO_RULE_GRADER,
    NO_TOKEN_COUNTS,
    NO_TOKENIZER,
    SAMPLE_COLUMNS,
    CutStats,
    Cutter,
    apply_verifier,
    budget_counts,
    budget_rows,
    check_budgets,
    cut_and_grade,
    problem_counts,
)
from justeval.command import Arg, command, layout
from justeval.grading.runner import GRADER_SPECS, Grader
from justeval.io.identity import file_identity, identity
from justeval.io.parquet import (
    DataError,
    read_arrow,
    read_metadata,
    read_parquet,
    sort_like,
    write_parquet,
    write_text_atomic,
)
from justeval.io.schemas import BENCHMARK, GENERATIONS, RULE_GRADES, VERDICTS
from justeval.metrics.figures import plots_by_benchmark, pyplot, save_figure
from justeval.metrics.formatting import markdown, md_cell, rounded, row_order
from justeval.metrics.scores import Z95, sampling_se
from justeval.sources.models import load_manifest

log = logging.getLogger(__name__)

GRADE_KEYS = ("budgets", "rule_grade", "verifier")


def _setting(settings: dict, keys: tuple[str, ...], what: str) -> None:
    missing = [k for k in keys if k not in settings]
    if missing:
        raise DataError(f"{what} settings lack {', '.join(missing)}")


# ---------------------------------------------------------------- budget-grade


def _samples(
    verdicts: pd.DataFrame, generations: list[str], bench: pd.DataFrame, gold_column: str, label: str
):
    """The verdicts with each sample's response, prompt tokens and gold, in the benchmark's order."""
    columns = ["problem_id", "sample_idx", "response", "prompt_tokens", "settings_hash"]
    gens = pd.concat(
        [read_arrow(p, GENERATIONS, columns=columns).to_pandas() for p in generations], ignore_index=True
    )
    keys = ["problem_id", "sample_idx"]
    if gens.duplicated(keys).any():
        first = gens.loc[gens.duplicated(keys), keys].iloc[0].tolist()
        raise DataError(f"{label}: generations hold sample {first} twice")
    merged = verdicts.merge(gens, on=keys, how="left", indicator=True, validate="one_to_one")
    lost = merged["_merge"] != "both"
    if lost.any():
        raise DataError(
            f"{label}: sample {merged.loc[lost, keys].iloc[0].tolist()} has a verdict but no generation"
        )
    golds = bench.set_index("problem_id")[gold_column]
    unknown = sorted(set(merged["problem_id"]) - set(golds.index))
    if unknown:
        raise DataError(f"{label}: problems not in the benchmark: {unknown[:5]}")
    merged["gold"] = merged["problem_id"].map(golds)
    merged["sample_idx"] = merged["sample_idx"].astype(int)
    return sort_like(merged.drop(columns="_merge"), bench["problem_id"].tolist())


def _tokenizer_path(model_manifest: str | None, tokenizer: str | None) -> str | None:
    if model_manifest and tokenizer:
        raise DataError("budget-grade: give --model-manifest or --tokenizer, not both")
    if model_manifest:
        return load_manifest(model_manifest)["path"]
    return tokenizer or None


def _load_tokenizer(path: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # a folder without one, or a hub id not in the cache
        raise DataError(f"budget-grade: cannot load the tokenizer {path!r}: {exc}") from None


def _write_requests(
    requests: list[dict],
    samples: pd.DataFrame,
    bench: pd.DataFrame,
    benchmark: str,
    ident: dict,
    grader: str | None,
    paths: tuple[str, str, str],
) -> None:
    """The cut samples the verifier must judge, as a benchmark (one problem per
    (problem, budget)), generations (the cut texts) and rule grades: model-grade's inputs."""
    bench_path, gens_path, grades_path = paths
    problems = bench.set_index("problem_id")
    ids = list(dict.fromkeys(r["verifier_id"] for r in requests))
    source = {r["verifier_id"]: r["problem_id"] for r in requests}
    derived = pd.DataFrame(
        {
            "problem_id": ids,
            "problem": [problems.at[source[i], "problem"] for i in ids],
            "answer": [problems.at[source[i], "answer"] for i in ids],
            "answer_raw": [problems.at[source[i], "answer_raw"] for i in ids],
            "source_row": [int(problems.at[source[i], "source_row"]) for i in ids],
        }
    )
    meta = {**read_metadata(benchmark), "budget_cuts": True}
    write_parquet(derived, bench_path, BENCHMARK, metadata=meta)
    seeds = samples["seed"].to_numpy()
    gens = pd.DataFrame(
        {
            "problem_id": [r["verifier_id"] for r in requests],
            "sample_idx": [r["sample_idx"] for r in requests],
            "seed": [int(seeds[r["position"]]) for r in requests],
            "response": [r["text"] for r in requests],
            "prompt_tokens": [samples["prompt_tokens"].iloc[r["position"]] for r in requests],
            "completion_tokens": [r["cut_tokens"] for r in requests],
            "finish_reason": [LENGTH] * len(requests),
            "model": [ident["model"]] * len(requests),
            "settings_hash": [samples["settings_hash"].iloc[r["position"]] for r in requests],
        }
    )
    gens["prompt_tokens"] = gens["prompt_tokens"].astype("Int64")
    gens["completion_tokens"] = gens["completion_tokens"].astype("Int64")
    own = identity(ident["model"], ident["benchmark"])
    write_parquet(gens, gens_path, GENERATIONS, metadata={"stage": "budget_grade", "identity": own})
    grades = pd.DataFrame(
        {
            "problem_id": gens["problem_id"],
            "sample_idx": gens["sample_idx"],
            "extracted_answer": [r["extracted_answer"] for r in requests],
            "rule_correct": [r["rule_correct"] for r in requests],
            "status": [r["status"] for r in requests],
            "layer": [r["layer"] for r in requests],
            "grader": [grader] * len(requests),
        }
    )
    write_parquet(grades, grades_path, RULE_GRADES, metadata={"stage": "budget_grade", "identity": own})


@command("budget-grade", "cut one model's samples at each token budget and grade the cut texts again")
def budget_grade(
    *,
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    generations: Annotated[list[str], Arg("the generation shards (the texts)")],
    verdicts: Annotated[str, Arg("the variant's verdicts")],
    model_manifest: Annotated[
        str | None, Arg("the model's manifest: its folder's tokenizer cuts the texts")
    ] = None,
    tokenizer: Annotated[str | None, Arg("a tokenizer folder or hub id instead (imports)")] = None,
    settings: Annotated[
        dict,
        Arg('JSON: {"budgets": [B, ...], "rule_grade": {"grader", "timeout"} or null, "verifier": bool}'),
    ],
    jobs: Annotated[int | None, Arg("rule-grading worker processes (default 1)")] = None,
    output: Annotated[str, Arg("one row per (sample, budget) (Parquet)")],
    verifier_benchmark: Annotated[
        str | None, Arg("the cut samples for the verifier: their benchmark")
    ] = None,
    verifier_generations: Annotated[str | None, Arg("… their generations (the cut texts)")] = None,
    verifier_grades: Annotated[str | None, Arg("… their rule grades")] = None,
) -> None:
    _setting(settings, GRADE_KEYS, "budget-grade")
    budgets = check_budgets(settings["budgets"])
    rule = settings["rule_grade"]
    verifier = bool(settings["verifier"])
    request_paths = (verifier_benchmark, verifier_generations, verifier_grades)
    if any(request_paths) and not all(request_paths):
        raise DataError("budget-grade: give all three --verifier-* outputs, or none")
    ident = file_identity(verdicts)
    label = f"{ident['model']} / {ident['benchmark']} / {ident.get('variant')}"
    frame = read_parquet(verdicts, VERDICTS)
    bench = read_parquet(benchmark, BENCHMARK)
    grader = rule["grader"] if rule else None
    gold_column = "answer_raw" if grader and GRADER_SPECS[grader].raw_gold else "answer"
    notes: dict[str, str] = {}
    meta = {"stage": "budget_grade", "identity": ident, "settings": settings}

    if frame["completion_tokens"].isna().any():
        log.info("budget: %s: %s (an import without a tokenizer): left out", label, NO_TOKEN_COUNTS)
        write_parquet(pd.DataFrame(columns=BUDGET_GRADES.names), output, BUDGET_GRADES,
                      metadata={**meta, "note": NO_TOKEN_COUNTS})  # fmt: skip
        if all(request_paths):
            _write_requests([], frame.iloc[:0], bench, benchmark, ident, grader, request_paths)
        return

    samples = _samples(frame, list(generations), bench, gold_column, label)
    tokens = samples["completion_tokens"] = samples["completion_tokens"].astype(int)
    longest = int(tokens.max()) if len(tokens) else 0
    path = _tokenizer_path(model_manifest, tokenizer)
    usable = []
    for b in budgets:
        if b < longest and path is None:
            notes[str(b)] = NO_TOKENIZER
        elif b < longest and rule is None:
            notes[str(b)] = NO_RULE_GRADER
        else:
            usable.append(b)
    for b, why in notes.items():
        log.info("budget: %s at B = %s: %s", label, b, why)

    graded, stats = {}, CutStats()
    to_cut = [b for b in usable if b < longest]
    if to_cut:
        engine = Grader(rule["grader"], float(rule["timeout"]), jobs or 1)
        graded, stats = cut_and_grade(samples, to_cut, Cutter(_load_tokenizer(path)), engine.grade)
        log.info(
            "budget: %s: %d cuts graded with %s; of %d samples cut by the length limit, %d re-tokenize "
            "to their completion_tokens; %d cuts are not a prefix of their text",
            label, stats.cuts, rule["grader"], stats.length_samples, stats.same_length, stats.not_prefix,
        )  # fmt: skip
    rows, requests = budget_rows(samples[SAMPLE_COLUMNS], usable, graded, verifier)
    meta.update(tokenizer=path, notes=notes, retokenized=asdict(stats))
    write_parquet(rows, output, BUDGET_GRADES, metadata=meta)
    if all(request_paths):
        _write_requests(requests, samples, bench, benchmark, ident, grader, request_paths)
    log.info("budget: %s: %d rows, %d cut samples for the verifier", label, len(rows), len(requests))


# ---------------------------------------------------------------- budget-table

TABLE_COLUMNS = [
    "model", "benchmark", "variant", "budget", "n_samples", "mean_at_n", "sampling_se", "sampling_ci_low",
    "sampling_ci_high", "finished_pct", "samples", "cut", "to_verifier", "judged", "length_samples",
    "retokenized_same_length", "note",
]  # fmt: skip


def _names(value) -> list[str]:
    return list(value or [])


def curve_rows(rows: pd.DataFrame, ident: dict, meta: dict, label: str) -> list[dict]:
    """The table's rows of one model, benchmark and variant: one per budget, and one per
    budget (or for the whole) that has no number, with the reason."""
    base = {"model": ident["model"], "benchmark": ident["benchmark"], "variant": ident.get("variant", "")}
    retok = meta.get("retokenized") or {}
    extra = {
        "length_samples": retok.get("length_samples"),
        "retokenized_same_length": retok.get("same_length"),
    }
    if meta.get("note"):
        return [{**base, "note": meta["note"]}]
    out = [{**base, "budget": int(b), "note": why} for b, why in (meta.get("notes") or {}).items()]
    if rows.empty:
        return sorted(out, key=lambda r: r["budget"])
    counts, n = problem_counts(rows, label)
    for budget, correct in counts.items():
        part = rows[rows["budget"] == budget]
        c = budget_counts(part)
        mean = 100.0 * float((correct / n).mean())
        se = 100.0 * sampling_se(correct.tolist(), n)
        note = ""
        if c["to_verifier"] > c["judged"]:
            note = (
                f"{c['to_verifier'] - c['judged']} cut samples the rule grader rejects were not judged by "
                "the verifier: a lower bound"
            )
        out.append(
            {
                **base,
                "budget": budget,
                "n_samples": n,
                "mean_at_n": mean,
                "sampling_se": se,
                "sampling_ci_low": mean - Z95 * se,
                "sampling_ci_high": mean + Z95 * se,
                "finished_pct": 100.0 * c["finished"] / c["samples"],
                "samples": c["samples"],
                "cut": c["cut"],
                "to_verifier": c["to_verifier"],
                "judged": c["judged"],
                **extra,
                "note": note,
            }
        )
    return sorted(out, key=lambda r: r["budget"])


def budget_frame(grades: list[str], verifier_verdicts: list[str], settings: dict) -> pd.DataFrame:
    """Every row of the table, in the settings' order (models, benchmarks, variants), by budget."""
    by_key: dict[tuple[str, str, str], str] = {}
    for path in grades:
        ident = file_identity(path)
        key = (ident["model"], ident["benchmark"], ident.get("variant", ""))
        if key in by_key:
            raise DataError(f"{path}: a second budget file of {key} (the other: {by_key[key]})")
        by_key[key] = path
    judged: dict[tuple[str, str, str], str] = {}
    for path in verifier_verdicts:
        ident = file_identity(path)
        key = (ident["model"], ident["benchmark"], ident.get("variant", ""))
        if key in judged:
            raise DataError(f"{path}: a second verifier verdicts file of {key} (the other: {judged[key]})")
        judged[key] = path
    stray = sorted(set(judged) - set(by_key))
    if stray:
        raise DataError(f"verifier verdicts of {stray[0]} but no budget file of it")
    models = row_order(settings.get("models"), [k[0] for k in by_key])
    benches = row_order(settings.get("benchmarks"), [k[1] for k in by_key])
    variants = row_order(settings.get("variants"), [k[2] for k in by_key])
    out = []
    for key in sorted(by_key, key=lambda k: (models[k[0]], benches[k[1]], variants[k[2]])):
        path = by_key[key]
        meta = read_metadata(path)
        rows = read_parquet(path, BUDGET_GRADES)
        verdicts = read_parquet(judged[key], VERDICTS) if key in judged else None
        rows = apply_verifier(rows, verdicts, path)
        out.extend(curve_rows(rows, meta["identity"], meta, path))
        if meta.get("note"):
            log.info("budget: %s: %s, left out", " / ".join(key), meta["note"])
    frame = pd.DataFrame(out, columns=TABLE_COLUMNS)
    for column in ("budget", "n_samples", "samples", "cut", "to_verifier", "judged", "length_samples",
                   "retokenized_same_length"):  # fmt: skip
        frame[column] = frame[column].astype("Int64")
    frame["note"] = frame["note"].fillna("")
    return frame


def _interval(row) -> str:
    if row.mean_at_n is None or pd.isna(row.mean_at_n):
        return "–"
    return f"{row.mean_at_n:.2f} [{row.sampling_ci_low:.2f}, {row.sampling_ci_high:.2f}]"


def page(frame: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "model": frame["model"],
            "benchmark": frame["benchmark"],
            "variant": frame["variant"],
            "B": frame["budget"],
            "mean@N (%) [95 % sampling interval]": [_interval(r) for r in frame.itertuples()],
            "N": frame["n_samples"],
            "finished by B (%)": frame["finished_pct"],
            "samples": frame["samples"],
            "cut": frame["cut"],
            "cut → verifier": frame["to_verifier"],
            "note": frame["note"],
        }
    )
    text = [
        "# Accuracy against the token budget\n",
        "For each budget B, mean@N had every sample been cut at B tokens, read from the run at the "
        "largest budget: a sample of at most B completion tokens keeps its verdict (with a per-request "
        "seed it is the sample a run at budget B draws); a longer one is **cut**, its text tokenized "
        "again with the model's tokenizer and its first B tokens decoded, and graded again by the "
        "variant's rule grader; a cut text the rule grader rejects goes to the variant's verifier "
        "(`cut → verifier`). The interval is mean@N's 95 % sampling interval (these problems, new seeds). "
        "`finished by B`: samples of at most B tokens that stopped on their own. A run at budget B would "
        "draw these samples only where the engine's numbers do not depend on the batch "
        "(docs/analyses.md).\n",
    ]
    text.append(markdown(shown) if not frame.empty else "No budget rows.\n")
    retok = frame.dropna(subset=["length_samples"]).drop_duplicates(["model", "benchmark", "variant"])
    retok = retok[retok["length_samples"] > 0]
    if not retok.empty:
        text.append(
            "\nRe-tokenizing: of the samples the length limit cut, how many tokenize back to their "
            "`completion_tokens` (where they do not, the model emitted a split its tokenizer would not "
            "make, and the cuts of those samples are a few tokens off):\n"
        )
        for r in retok.itertuples():
            text.append(
                f"- {md_cell(r.model)} · {md_cell(r.benchmark)}: {r.retokenized_same_length} of "
                f"{r.length_samples}"
            )
        text.append("")
    return "\n".join(text)


def budget_figure(frame: pd.DataFrame, benchmark: str, variant: str):
    """mean@N (%) against B on a log2 axis, one line per model (gid ``budget <model>``) with
    its 95 % sampling band, for ``benchmark`` and ``variant``."""
    plt = pyplot()
    from matplotlib.ticker import NullLocator

    part = frame[
        (frame["benchmark"] == benchmark) & (frame["variant"] == variant) & frame["mean_at_n"].notna()
    ]
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    budgets = sorted({int(b) for b in part["budget"]})
    for model, rows in part.groupby("model", sort=False):
        rows = rows.sort_values("budget")
        xs = rows["budget"].astype(int).to_numpy()
        ax.plot(xs, rows["mean_at_n"].to_numpy(dtype=float), marker="o", markersize=3, label=model,
                gid=f"budget {model}")  # fmt: skip
        ax.fill_between(xs, rows["sampling_ci_low"].to_numpy(dtype=float),
                        rows["sampling_ci_high"].to_numpy(dtype=float), alpha=0.2, linewidth=0)  # fmt: skip
    if budgets:
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [f"{b:,}" for b in budgets], rotation=45, ha="right")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.legend(fontsize=7)
    else:
        ax.text(
            0.5, 0.5, "no budget rows (no token counts?)", ha="center", va="center", transform=ax.transAxes
        )
    ax.set_xlabel("token budget B")
    ax.set_ylabel("mean@N (%)")
    ax.set_title(f"{benchmark}: accuracy against the token budget ({variant})")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


@command("budget-table", "accuracy against the token budget: the table and a plot per benchmark")
def budget_table(
    *,
    grades: Annotated[list[str], Arg("every budget-grade output (each model, benchmark and variant)")],
    verifier_verdicts: Annotated[
        list[str], Arg("model-grade's verdicts on the budget's cut samples, where a variant has a verifier")
    ] = (),
    settings: Annotated[
        dict, Arg('the run\'s layout (JSON: "models", "benchmarks", "variants", "order")', parse=layout)
    ],  # fmt: skip
    markdown_out: Annotated[str, Arg("the table (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the table (.csv)", flag="--csv")],
    plots: Annotated[
        list[str], Arg("one image per benchmark and format: <folder>/<benchmark>.png, .svg")
    ] = (),
) -> None:
    _setting(settings, ("variants",), "budget-table")
    frame = budget_frame(list(grades), list(verifier_verdicts), settings)
    write_text_atomic(csv_out, rounded(frame).to_csv(index=False))
    write_text_atomic(markdown_out, page(frame))
    primary = _names(settings["variants"])[0] if _names(settings["variants"]) else ""
    for bench, outputs in plots_by_benchmark(list(plots), "budget").items():
        save_figure(budget_figure(frame, bench, primary), outputs)
    numbers = frame["mean_at_n"].notna()
    log.info("budget: %d rows with a number, %d without", int(numbers.sum()), int((~numbers).sum()))
