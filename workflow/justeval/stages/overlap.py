"""The `overlap` stage: which benchmark problems the user's training sets (or another
benchmark) already hold, as copies or as look-alikes; and `overlap-accuracy`: whether
leaving the copies out moves a model's accuracy.

``overlap`` reads the prepared benchmarks and the training sets named in its settings
(:mod:`justeval.sources.training_sets`; a training set a batch at a time, never whole, so
that its memory does not grow with the set), lets
:func:`justeval.analysis.contamination.find_pairs` find and classify the pairs (every
benchmark against every other benchmark and every training set), and writes the pairs
(CSV: every field, both texts whole), the counts (CSV) and a page for a person (Markdown:
counts, then the copies, then the look-alikes; texts cut, every cell escaped so that
nothing in the data is live HTML or a table cell break).

``overlap-accuracy`` reads those pairs and the verdict files: mean@N per model,
benchmark and grading variant, on every problem, without the problems a training set
holds a copy of (each set, and all sets together) and on those problems alone, with
95 % bootstrap intervals over problems.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated

from justeval.analysis.contamination import COPY, LOOK_ALIKE, Item, Pair, Settings, Stream, find_pairs
from justeval.command import Arg, command
from justeval.io.parquet import DataError, read_arrow, read_metadata, write_text_atomic
from justeval.io.schemas import BENCHMARK
from justeval.metrics.formatting import md_cell
from justeval.sources.training_sets import TrainingSet

log = logging.getLogger(__name__)

ALL_SETS = "all training sets"
TRAINING, BENCHMARK_KIND = "training", "benchmark"
MD_TEXT_CHARS = 300  # characters of a text shown in the Markdown (the CSV has them whole)
MD_LOOK_ALIKES = 300  # look-alike pairs listed in the Markdown (the CSV has them all)

PAIR_COLUMNS = [
    "benchmark", "problem_id", "other", "other_kind", "other_id", "other_row", "label", "score",
    "word_score", "reason", "answers", "numbers_only_benchmark", "numbers_only_other", "asked", "figure",
    "words_changed", "formulas", "answer", "other_answer", "text", "other_text",
]  # fmt: skip
SUMMARY_COLUMNS = ["benchmark", "other", "other_kind", "problems", "copy", "look_alike"]


# ------------------------------------------------------------------ reading


def read_benchmark(path: str) -> tuple[str, list[Item]]:
    """A prepared benchmark's name (from its metadata) and problems, with their gold answers."""
    name = read_metadata(path).get("benchmark")
    if not name:
        raise DataError(f"{path}: its metadata names no benchmark; rerun prepare-benchmark")
    table = read_arrow(path, BENCHMARK, columns=["problem_id", "problem", "answer", "source_row"])
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    items = [
        Item(str(pid), text or "", answer, row)
        for pid, text, answer, row in zip(
            cols["problem_id"], cols["problem"], cols["answer"], cols["source_row"], strict=True
        )
    ]
    return name, items


def read_training(entries: list[dict], taken: set[str]) -> dict[str, Stream]:
    """The training sets of ``settings["train"]``, by name: each opened (its format and
    columns checked at once) and read as a :class:`Stream`, a batch at a time, never held
    whole."""
    out: dict[str, Stream] = {}
    for i, entry in enumerate(entries):
        name = entry["name"]
        if name in taken or name in out:
            raise DataError(
                f"overlap.train[{i}]: {name!r} is already the name of a benchmark or training set"
            )
        source = TrainingSet(
            entry["path"],
            entry.get("column") or "problem",
            entry.get("answer_column"),
            entry.get("id_column"),
        )
        out[name] = Stream(items=functools.partial(_items, source), texts_at=source.texts_at)
    return out


def _items(source: TrainingSet) -> Iterator[Item]:
    for rows in source.batches():
        for r in rows:
            yield Item(r.id, r.text, r.answer, r.row)


# ------------------------------------------------------------------ tables


def pair_rows(pairs: list[Pair], training: set[str]) -> list[dict]:
    return [{**asdict(p), "other_kind": TRAINING if p.other in training else BENCHMARK_KIND} for p in pairs]


def summary_rows(rows: list[dict], benchmarks: dict[str, list[Item]], training: list[str]) -> list[dict]:
    """Per benchmark and other set: how many of the benchmark's problems have a copy
    there, and how many have a look-alike there and no copy. The last row of each
    benchmark counts all training sets together."""
    labels: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (bench, set) -> pid -> label
    for row in rows:
        seen = labels[row["benchmark"], row["other"]]
        if seen.get(row["problem_id"]) != COPY:
            seen[row["problem_id"]] = row["label"]
    out = []
    for bench, items in benchmarks.items():
        others = [(b, BENCHMARK_KIND) for b in benchmarks if b != bench] + [(t, TRAINING) for t in training]
        for other, kind in others:
            seen = labels.get((bench, other), {})
            out.append(_count(bench, other, kind, len(items), seen))
        if training:
            union: dict[str, str] = {}
            for name in training:
                for pid, label in labels.get((bench, name), {}).items():
                    if union.get(pid) != COPY:
                        union[pid] = label
            out.append(_count(bench, ALL_SETS, TRAINING, len(items), union))
    return out


def _count(bench: str, other: str, kind: str, problems: int, seen: dict[str, str]) -> dict:
    values = list(seen.values())
    return {
        "benchmark": bench,
        "other": other,
        "other_kind": kind,
        "problems": problems,
        "copy": values.count(COPY),
        "look_alike": values.count(LOOK_ALIKE),
    }


def to_csv(rows: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return buffer.getvalue()


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_page(
    rows: list[dict], summary: list[dict], benchmarks: dict, training: list[str], s: Settings
) -> str:
    copies = [r for r in rows if r["label"] == COPY]
    alikes = [r for r in rows if r["label"] == LOOK_ALIKE]
    text = [
        "# Overlap: benchmark problems that a training set or another benchmark already holds\n",
        "A **copy** is the same problem (same question and numbers, perhaps respelled or reworded); a "
        "**look-alike** is a similar text that asks something else (other numbers, another question on "
        "the same figure, one word changed). Pairs are found by MinHash LSH over normalised token "
        f"{s.ngram}-grams (Jaccard ≥ {s.threshold}) and by equal numbers with similar words (Jaccard of "
        f"words ≥ {s.word_threshold}, copies only); each pair is then decided by its answers (the rule "
        "grader), numbers, figure, asked-for part, words and formulas. `overlap.csv` has every pair with "
        "both texts whole.\n",
        "## Counts\n",
        "Problems of each benchmark with a copy / with only look-alikes in each set.\n",
    ]
    columns = [t for t in training] + ([ALL_SETS] if training else []) + ["other benchmarks (summed)"]
    by_key = {(r["benchmark"], r["other"]): r for r in summary}
    table = []
    for bench, items in benchmarks.items():
        line = [bench, len(items)]
        for col in columns[:-1]:
            r = by_key[bench, col]
            line.append(f"{r['copy']} / {r['look_alike']}")
        others = [by_key[bench, b] for b in benchmarks if b != bench]
        line.append(f"{sum(r['copy'] for r in others)} / {sum(r['look_alike'] for r in others)}")
        table.append(line)
    text.append(md_table(["benchmark", "problems", *columns], table))
    header = ["benchmark", "problem", "set", "row", "score", "why", "benchmark text", "other text", "answers"]

    def listed(items: list[dict]) -> list[list]:
        return [
            [
                r["benchmark"], r["problem_id"], r["other"], r["other_id"], f"{r['score']:.2f}",
                r["reason"], _short(r["text"]), _short(r["other_text"]),
                f"{r['answer'] or '–'} / {r['other_answer'] or '–'}",
            ]
            for r in items
        ]  # fmt: skip

    text.append(f"## Copies ({len(copies)} pairs)\n")
    text.append(md_table(header, listed(copies)) if copies else "None.\n")
    shown = alikes[:MD_LOOK_ALIKES]
    more = f"; the first {len(shown)}" if len(shown) < len(alikes) else ""
    text.append(f"## Look-alikes ({len(alikes)} pairs{more})\n")
    text.append(md_table(header, listed(shown)) if alikes else "None.\n")
    return "\n".join(text)


def _short(text: str | None) -> str:
    one = " ".join(str(text or "").split())
    return one if len(one) <= MD_TEXT_CHARS else one[: MD_TEXT_CHARS - 1] + "…"


# ------------------------------------------------------------------ commands


@command(
    "overlap", "benchmark problems that the training sets or other benchmarks hold: copies and look-alikes"
)
def overlap(
    *,
    benchmarks: Annotated[list[str], Arg("every prepared benchmark (Parquet)")],
    settings: Annotated[
        dict,
        Arg(
            'JSON: {"train": [{name, path, column, answer_column, id_column}], "ngram", "threshold", '
            '"word_threshold", "num_perm", "grader", "grader_timeout"}'
        ),
    ],
    markdown_out: Annotated[str, Arg("the page for a person (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the pairs (.csv)", flag="--csv")],
    summary_out: Annotated[str, Arg("the counts (.csv)", flag="--summary")],
) -> None:
    bench_items: dict[str, list[Item]] = {}
    for path in benchmarks:
        name, items = read_benchmark(path)
        if name in bench_items:
            raise DataError(f"{path}: benchmark {name!r} is given twice")
        bench_items[name] = items
    training = read_training(list(settings.get("train") or []), set(bench_items))
    options = Settings.from_mapping(settings)
    pairs = find_pairs(bench_items, training, options)
    rows = pair_rows(pairs, set(training))
    summary = summary_rows(rows, bench_items, list(training))
    write_text_atomic(csv_out, to_csv(rows, PAIR_COLUMNS))
    write_text_atomic(summary_out, to_csv(summary, SUMMARY_COLUMNS))
    write_text_atomic(markdown_out, markdown_page(rows, summary, bench_items, list(training), options))
    copies = sum(r["label"] == COPY for r in rows)
    log.info("overlap: %d pairs, %d copies, %d look-alikes", len(rows), copies, len(rows) - copies)


ACCURACY_COLUMNS = [
    "model", "benchmark", "variant", "training_set", "problems", "copies", "mean_at_n", "mean_at_n_low",
    "mean_at_n_high", "mean_without", "mean_without_low", "mean_without_high", "delta", "mean_on_copies",
]  # fmt: skip


def read_copies(path: str) -> tuple[dict[tuple[str, str], set[str]], list[str]]:
    """{(benchmark, training set): problem ids with a copy there} and the training sets'
    names, from the overlap stage's pairs file."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"benchmark", "problem_id", "other", "other_kind", "label"} - set(
                reader.fieldnames or []
            )
            if missing:
                raise DataError(f"{path}: not an overlap pairs file (missing column(s) {sorted(missing)})")
            copies: dict[tuple[str, str], set[str]] = defaultdict(set)
            names: list[str] = []
            for row in reader:
                if row["other_kind"] != TRAINING:
                    continue
                if row["other"] not in names:
                    names.append(row["other"])
                if row["label"] == COPY:
                    copies[row["benchmark"], row["other"]].add(row["problem_id"])
    except OSError as exc:
        raise DataError(f"{path}: cannot read the overlap pairs ({exc})") from None
    return copies, names


def accuracy_rows(
    verdict_paths: list[str], copies: dict[tuple[str, str], set[str]], sets: list[str], settings: dict
) -> list[dict]:
    """One row per (model, benchmark, variant, training set and all sets together)."""
    import numpy as np

    from justeval.io.identity import file_identity
    from justeval.io.parquet import read_parquet
    from justeval.io.schemas import VERDICTS
    from justeval.metrics.scores import bootstrap_mean_interval, per_problem

    resamples, seed = int(settings["bootstrap_samples"]), int(settings["seed"])

    def interval(values):
        if len(values) == 0:
            return float("nan"), float("nan"), float("nan")
        lo, hi = bootstrap_mean_interval(np.asarray(values, dtype=float), resamples, seed)
        return 100 * float(np.mean(values)), 100 * lo, 100 * hi

    rows = []
    for path in verdict_paths:
        ident = file_identity(path)
        accuracy = per_problem(read_parquet(path, VERDICTS))
        bench = ident["benchmark"]
        groups = [(name, copies.get((bench, name), set())) for name in sets]
        groups.append((ALL_SETS, set().union(*(c for _, c in groups))))
        mean, lo, hi = interval(accuracy.to_numpy())
        for name, out in groups:
            held = accuracy.index.isin(list(out))
            kept = accuracy[~held].to_numpy()
            w_mean, w_lo, w_hi = interval(kept)
            rows.append(
                {
                    "model": ident["model"],
                    "benchmark": bench,
                    "variant": ident.get("variant", ""),
                    "training_set": name,
                    "problems": len(accuracy),
                    "copies": int(held.sum()),
                    "mean_at_n": mean,
                    "mean_at_n_low": lo,
                    "mean_at_n_high": hi,
                    "mean_without": w_mean,
                    "mean_without_low": w_lo,
                    "mean_without_high": w_hi,
                    "delta": w_mean - mean,
                    "mean_on_copies": 100 * float(accuracy[held].mean()) if held.any() else float("nan"),
                }
            )
    models = {m: i for i, m in enumerate(settings.get("models") or [])}
    variants = {v: i for i, v in enumerate(settings.get("variants") or [])}
    benches = {b: i for i, b in enumerate(settings.get("benchmarks") or [])}
    for row in rows:  # benchmarks not in the settings: in the order the verdicts came
        benches.setdefault(row["benchmark"], len(benches))
    order = {name: i for i, name in enumerate([*sets, ALL_SETS])}
    rows.sort(
        key=lambda r: (
            models.get(r["model"], len(models)), r["model"], benches[r["benchmark"]],
            variants.get(r["variant"], len(variants)), r["variant"], order[r["training_set"]],
        )
    )  # fmt: skip
    return rows


@command(
    "overlap-accuracy", "accuracy with and without the benchmark problems a training set holds a copy of"
)
def overlap_accuracy(
    *,
    pairs: Annotated[str, Arg("the overlap stage's pairs (overlap.csv)")],
    verdicts: Annotated[list[str], Arg("every verdicts file (each model, benchmark and variant)")] = (),
    settings: Annotated[dict, Arg('JSON: {"models", "variants", "bootstrap_samples", "seed", "train"}')],
    markdown_out: Annotated[str, Arg("the table for a person (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the table (.csv)", flag="--csv")],
) -> None:
    copies, found_sets = read_copies(pairs)
    named = [t["name"] for t in settings.get("train") or []]
    sets = named + [s for s in found_sets if s not in named]
    rows = accuracy_rows(list(verdicts), copies, sets, settings)
    write_text_atomic(csv_out, to_csv([{k: _round(v) for k, v in r.items()} for r in rows], ACCURACY_COLUMNS))
    text = [
        "# Accuracy without the problems a training set holds a copy of\n",
        "mean@N (%) on every problem, without the problems the training set holds a copy of, and on those "
        "problems alone; intervals: 95 % bootstrap over problems. Look-alikes are kept: they are other "
        "problems.\n",
    ]
    if not sets:
        text.append("No training set is named (`overlap.train`): nothing to leave out.\n")
    if not rows:
        text.append("No verdicts yet.\n")
    else:
        header = ["model", "benchmark", "variant", "training set", "copies", "mean@N", "without copies", "Δ",
                  "on copies"]  # fmt: skip
        table = [
            [
                r["model"], r["benchmark"], r["variant"], r["training_set"],
                f"{r['copies']} / {r['problems']}",
                _with_interval(r["mean_at_n"], r["mean_at_n_low"], r["mean_at_n_high"]),
                _with_interval(r["mean_without"], r["mean_without_low"], r["mean_without_high"]),
                _number(r["delta"]), _number(r["mean_on_copies"]),
            ]
            for r in rows
        ]  # fmt: skip
        text.append(md_table(header, table))
    write_text_atomic(markdown_out, "\n".join(text))
    log.info("overlap-accuracy: %d rows", len(rows))


def _round(value):
    return round(value, 4) if isinstance(value, float) else value


def _number(value: float) -> str:
    return "–" if value != value else f"{value:.2f}"


def _with_interval(mean: float, lo: float, hi: float) -> str:
    return "–" if mean != mean else f"{mean:.2f} [{lo:.2f}, {hi:.2f}]"
