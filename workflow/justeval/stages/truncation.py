"""The truncation ledger (``results/tables/truncation.{md,csv}``): per model, benchmark
and grading variant, how many samples the length limit cut, how many of those were cut
inside a loop and how many while still progressing, and the accuracy of each group;
with a few examples of each class, escaped, in the Markdown.

The classes are decided by :mod:`justeval.analysis.truncation` on the generations'
texts; the counts and accuracies come from each variant's verdicts.
"""

from __future__ import annotations

import logging
from typing import Annotated

import pandas as pd

from justeval.analysis.truncation import (
    LEDGER_COLUMNS,
    LOOP,
    LoopRule,
    classify,
    examples,
    join,
    ledger_row,
)
from justeval.command import Arg, command
from justeval.io.identity import file_identity
from justeval.io.parquet import DataError, read_arrow, read_parquet, write_text_atomic
from justeval.io.schemas import GENERATIONS, VERDICTS
from justeval.metrics.formatting import markdown, md_block, md_cell, rounded, row_order

log = logging.getLogger(__name__)

TAIL_CHARS = 600  # characters of each example's tail shown
BEFORE_CHARS = 300  # characters shown before a loop starts
UNIT_CHARS = 3000  # a longer period is shown cut (the CSV has the counts, not the texts)
GENERATION_COLUMNS = ["problem_id", "sample_idx", "response", "finish_reason"]


def _read_generations(paths: list[str]) -> pd.DataFrame:
    frames = [read_arrow(p, GENERATIONS, columns=GENERATION_COLUMNS).to_pandas() for p in paths]
    return pd.concat(frames, ignore_index=True)


def ledger(
    verdicts: list[str], generations: list[str], settings: dict
) -> tuple[pd.DataFrame, list[tuple[str, str, str, list[dict]]]]:
    """The ledger's rows in the settings' order, and the examples of each (model, benchmark)
    with the verdicts of its first variant."""
    rule = LoopRule.from_settings(settings)
    per_class = int(settings["truncation_examples"])
    by_pair: dict[tuple[str, str], dict[str, str]] = {}
    for path in verdicts:
        ident = file_identity(path)
        variants = by_pair.setdefault((ident["model"], ident["benchmark"]), {})
        variant = ident.get("variant", "")
        if variant in variants:
            raise DataError(f"{path}: a second verdicts file of {ident} (the other: {variants[variant]})")
        variants[variant] = path
    shards: dict[tuple[str, str], list[str]] = {}
    for path in generations:
        ident = file_identity(path)
        shards.setdefault((ident["model"], ident["benchmark"]), []).append(path)
    models = row_order(settings.get("models"), [m for m, _ in by_pair])
    benches = row_order(settings.get("benchmarks"), [b for _, b in by_pair])
    variant_order = row_order(settings.get("variants"), [v for vs in by_pair.values() for v in vs])
    rows, shown = [], []
    for model, bench in sorted(by_pair, key=lambda k: (models[k[0]], benches[k[1]])):
        classes, texts = None, {}
        if (model, bench) in shards:
            gens = _read_generations(shards[(model, bench)])
            classes = classify(gens, rule)
            texts = {
                (pid, int(i)): t
                for pid, i, t in zip(gens["problem_id"], gens["sample_idx"], gens["response"], strict=True)
            }
        variants = by_pair[(model, bench)]
        for n, variant in enumerate(sorted(variants, key=variant_order.__getitem__)):
            path = variants[variant]
            merged = join(read_parquet(path, VERDICTS), classes, path)
            rows.append({"model": model, "benchmark": bench, "variant": variant, **ledger_row(merged, rule)})
            if n == 0 and classes is not None:
                shown.append((model, bench, variant, examples(merged, texts, per_class)))
        log.info("truncation: %s / %s done", model, bench)
    frame = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    for column in ("loop", "open", "loop_not_truncated", "repeated_box"):
        frame[column] = frame[column].astype("Int64")
    return frame, shown


def _example_text(item: dict) -> str:
    head = (
        f"**{item['class']}**: problem {md_cell(item['problem_id'])}, sample {item['sample_idx']} "
        f"({'correct' if item['correct'] else 'wrong'}), {len(item['text']):,} characters."
    )
    text = item["text"]
    if item["class"] != LOOP:
        return f"{head} Its last {TAIL_CHARS} characters:\n\n{md_block(text[-TAIL_CHARS:])}"
    loop = item["loop"]
    unit = item["unit"]
    shown = unit if len(unit) <= UNIT_CHARS else unit[:UNIT_CHARS] + " […]"
    share = 100 * loop.chars / max(len(text), 1)
    return (
        f"{head} The last {loop.chars:,} characters ({share:.0f} %) repeat a period of {loop.period:,} "
        f"characters {loop.repeats:.1f} times. The period, once:\n\n{md_block(shown)}\n"
        f"The {BEFORE_CHARS} characters before the loop starts:\n\n"
        f"{md_block(text[max(0, loop.start - BEFORE_CHARS) : loop.start])}\n"
        f"The last {TAIL_CHARS} characters:\n\n{md_block(text[-TAIL_CHARS:])}"
    )


def page(frame: pd.DataFrame, shown: list, settings: dict) -> str:
    rule = LoopRule.from_settings(settings)
    text = [
        "# Truncated samples: loops and open cuts\n",
        "Per model, benchmark and grading variant: `truncated` samples were cut by the length limit "
        "(`finish_reason` = length). A truncated sample is a **loop** when its text ends in an exact "
        f"repetition: a period of at most {rule.max_period:,} characters that the last characters of the "
        f"text repeat at least {rule.min_repeats:g} times over at least {rule.min_chars:,} characters "
        "(the last copy may be cut anywhere); otherwise it is **open**, still progressing when it was cut. "
        "A list counting up or a table whose rows differ is not a loop. `other_finish`: samples whose "
        "finish reason is neither stop nor length (aborted, or imported without one); "
        "`loop_not_truncated`: samples not marked as cut whose text ends in a loop all the same (an import "
        "without a finish reason cut by its harness's limit, or a model that stopped inside a loop). "
        f"`repeated_box`: samples not cut that write their last `\\boxed{{…}}` {rule.min_repeats:g} "
        "or more times. Accuracies in %: of all samples, of those that stopped, of the truncated ones, "
        "of the loops and of the open ones; a dash where there are none. Loop counts are missing where "
        "no generations were given (their texts decide the class).\n",
    ]
    text.append(markdown(frame) if not frame.empty else "No verdicts.\n")
    if any(items for *_, items in shown):
        per_class = int(settings["truncation_examples"])
        text.append(f"\n## Examples\n\nThe first {per_class} truncated samples of each class.\n")
        for model, bench, variant, items in shown:
            if not items:
                continue
            text.append(f"### {md_cell(model)} · {md_cell(bench)} (verdicts: {md_cell(variant)})\n")
            text.extend(_example_text(item) for item in items)
    return "\n".join(text)


@command("truncation", "samples cut by the length limit, classed as loops or open, with their accuracy")
def truncation(
    *,
    verdicts: Annotated[list[str], Arg("every verdicts file (each model, benchmark and variant)")],
    generations: Annotated[list[str], Arg("the generation shards whose texts are classed")] = (),
    settings: Annotated[
        dict,
        Arg(
            'JSON: {"loop_max_period", "loop_min_repeats", "loop_min_chars", "truncation_examples", '
            '"models", "benchmarks", "variants"}'
        ),
    ],
    markdown_out: Annotated[str, Arg("the ledger with examples (.md)", flag="--markdown")],
    csv_out: Annotated[str, Arg("the ledger (.csv)", flag="--csv")],
) -> None:
    frame, shown = ledger(list(verdicts), list(generations), settings)
    write_text_atomic(csv_out, rounded(frame).to_csv(index=False))
    write_text_atomic(markdown_out, page(frame, shown, settings))
    log.info("truncation: %d rows", len(frame))
