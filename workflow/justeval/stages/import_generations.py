"""Grade-only runs: existing generations converted into the pipeline's schema.

Two formats are read:

``justrl``
    JustRL's released outputs: one JSON object per line with ``example_id``,
    ``prompt``, ``answer``, ``seed`` and ``response``, one line per (problem,
    seed), one file per benchmark. ``example_id`` is the problem's row in the
    benchmark (or its id); a problem's lines in file order are its samples.
``qwen``
    Qwen2.5-Math's evaluation harness: one line per problem with ``question``,
    ``gt``, ``code`` (the list of responses), ``pred`` (its extracted answers)
    and ``score`` (its verdicts), which the ``provided`` grading variant uses.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command
from justeval.io.identity import identity, variant_identity
from justeval.io.parquet import DataError, read_metadata, read_parquet, read_shards, sort_like, write_parquet
from justeval.io.schemas import BENCHMARK, GENERATIONS, VERDICTS
from justeval.sources.benchmarks import problem_id_of

log = logging.getLogger(__name__)


def read_jsonl(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise DataError(f"{path}: line {number}: not JSON ({exc})") from None
    return rows


def _require(record: dict, keys: list[str], path: str, number: int) -> None:
    for key in keys:
        if key not in record:
            raise DataError(f"{path}: line {number}: no field {key!r}")


def samples(
    path: str, fmt: str, benchmark: pd.DataFrame, name: str, layout: str | None = None
) -> pd.DataFrame:
    """Every sample of an output file: problem_id, sample_idx, seed, response, and
    the file's own verdict and extracted answer where it has them. ``layout`` is the
    benchmark's source layout: ``justrl`` when it was prepared from such a file."""
    self_sourced = layout == "justrl"
    records = read_jsonl(path)
    known = set(benchmark["problem_id"])
    rows = []
    if fmt == "qwen":
        for number, rec in enumerate(records, 1):
            _require(rec, ["code"], path, number)
            pid = problem_id_of("qwen", name, number - 1, rec)
            if pid not in known:
                raise DataError(f"{path}: line {number}: problem {pid!r} is not in benchmark {name}")
            scores = rec.get("score") or [None] * len(rec["code"])
            preds = rec.get("pred") or [None] * len(rec["code"])
            for idx, response in enumerate(rec["code"]):
                rows.append(
                    {"problem_id": pid, "sample_idx": idx, "seed": None, "response": response,
                     "provided_correct": scores[idx], "provided_answer": preds[idx]}
                )  # fmt: skip
    elif fmt == "justrl":
        ids = benchmark["problem_id"].tolist()
        counts: dict[str, int] = {}
        for number, rec in enumerate(records, 1):
            _require(rec, ["example_id", "response"], path, number)
            example = rec["example_id"]
            if self_sourced:  # the benchmark was prepared from this kind of file: ids as there
                pid = problem_id_of("justrl", name, number - 1, rec)
                if pid not in known:
                    raise DataError(
                        f"{path}: line {number}: example_id {example!r} is not in benchmark {name}"
                    )
            elif isinstance(example, int) or (isinstance(example, str) and example.isdigit()):
                if not 0 <= int(example) < len(ids):
                    raise DataError(f"{path}: line {number}: example_id {example} is not a row of {name}")
                pid = ids[int(example)]
            elif example in known:
                pid = example
            else:
                raise DataError(f"{path}: line {number}: example_id {example!r} is not in benchmark {name}")
            idx = counts.get(pid, 0)
            counts[pid] = idx + 1
            rows.append(
                {"problem_id": pid, "sample_idx": idx, "seed": rec.get("seed"), "response": rec["response"],
                 "provided_correct": None, "provided_answer": None}
            )  # fmt: skip
    else:
        raise DataError(f"unknown import format {fmt!r}")
    return pd.DataFrame(rows)


def count_tokens(responses: list[str], tokenizer: str | None) -> list[int] | None:
    """Completion tokens of each response under ``tokenizer`` (a folder or hub id), or
    None when no tokenizer is named (lengths are then counted in characters)."""
    if not tokenizer:
        return None
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(tokenizer)
    except (OSError, ValueError) as exc:
        raise DataError(f"import.tokenizer: cannot load {tokenizer!r}: {exc}") from None
    counts = [len(ids) for ids in tok(responses, add_special_tokens=False)["input_ids"]]
    log.info("counted completion tokens with %s: %d in all", tokenizer, sum(counts))
    return counts


@command("import-generations", "existing outputs of another harness in the generation schema")
def import_generations(
    *,
    source: Annotated[str, Arg("JSON-lines output file (justrl or qwen format)", positional=True)],
    output: Annotated[str, Arg("the generation shard to write", positional=True)],
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    model: Annotated[str, Arg("model alias")],
    settings: Annotated[dict, Arg("format, tokenizer, sample range and N (JSON)")],
) -> None:
    bench = read_parquet(benchmark, BENCHMARK)
    meta = read_metadata(benchmark)
    name = meta.get("benchmark", Path(benchmark).stem)
    frame = samples(source, settings["format"], bench, name, meta.get("layout"))
    n = settings["n_samples"]
    per_problem = frame.groupby("problem_id")["sample_idx"].count()
    wrong = per_problem[per_problem != n]
    if len(wrong) or len(per_problem) != len(bench):
        detail = (
            f"problem {wrong.index[0]!r} has {int(wrong.iloc[0])}" if len(wrong) else "problems are missing"
        )
        raise DataError(
            f"{source}: {detail} samples; benchmark {name} has n_samples {n} and {len(bench)} problems"
        )
    start, stop = settings["samples"]
    frame = frame[(frame["sample_idx"] >= start) & (frame["sample_idx"] < stop)]
    frame = sort_like(frame, bench["problem_id"])
    frame = frame.assign(
        prompt_tokens=None,
        completion_tokens=count_tokens(frame["response"].tolist(), settings.get("tokenizer")),
        finish_reason="unknown",
        model=model,
        settings_hash="imported",
    )
    write_parquet(
        frame.reset_index(drop=True),
        output,
        GENERATIONS,
        metadata={
            "stage": "import_generations",
            "identity": identity(model, name),
            "source": source,
            "settings": settings,
        },
    )
    log.info("imported %d samples of %s from %s", len(frame), name, source)


@command("provided-verdicts", "the verdicts an imported file carries, as final verdicts")
def provided_verdicts(
    *,
    source: Annotated[str, Arg("the imported output file", positional=True)],
    output: Annotated[str, Arg("the verdicts file to write", positional=True)],
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    generations: Annotated[list[str], Arg("the imported generation shards")],
    variant: Annotated[str, Arg("the `provided` grading variant's name")],
) -> None:
    """The verdicts the file carries, as final verdicts (no rule grader, no verifier)."""
    bench = read_parquet(benchmark, BENCHMARK)
    meta = read_metadata(benchmark)
    name = meta.get("benchmark", Path(benchmark).stem)
    gens = read_shards(generations, GENERATIONS)
    fmt = read_metadata(generations[0])["settings"]["format"]
    frame = samples(source, fmt, bench, name, meta.get("layout"))
    if frame["provided_correct"].isna().any():
        raise DataError(f"{source}: the file carries no verdicts for every sample ({fmt} format)")
    gens = gens.assign(response_chars=gens["response"].map(lambda r: len(r) if isinstance(r, str) else 0))
    columns = ["problem_id", "sample_idx", "seed", "completion_tokens", "finish_reason", "response_chars"]
    merged = gens[columns].merge(
        frame[["problem_id", "sample_idx", "provided_correct", "provided_answer"]],
        on=["problem_id", "sample_idx"],
        how="left",
        validate="one_to_one",
    )
    correct = merged["provided_correct"].astype(bool)
    verdicts = merged.assign(
        extracted_answer=merged["provided_answer"].map(lambda a: None if a is None else str(a)),
        rule_correct=correct,
        status=correct.map({True: "match", False: "mismatch"}),
        layer="provided",
        sent_to_verifier=False,
        verifier_verdict=None,
        verifier_output=None,
        input_truncated=False,
        correct=correct,
    )
    write_parquet(
        verdicts,
        output,
        VERDICTS,
        metadata={
            "stage": "provided_verdicts",
            "identity": variant_identity(generations[0], variant),
            "source": source,
        },
    )
    log.info("%s: %d provided verdicts, %d correct", name, len(verdicts), int(correct.sum()))
