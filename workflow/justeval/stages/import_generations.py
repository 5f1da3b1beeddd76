"""Grade-only runs: the released outputs of other harnesses in the pipeline's schema.

``import_generations`` reads an output file (or several of one run: NeMo-Skills' one
file per seed) with the readers of :mod:`justeval.sources.released` (lighteval,
SkyThought, NeMo-Skills, lm-evaluation-harness, OpenCompass, verl, MathArena, JustRL,
Qwen2.5-Math, or a generic table whose columns are named; ``auto`` recognises each by
its fields), finds which benchmark problem each of the file's problems is
(:mod:`justeval.analysis.problem_matching`: by id where the file's ids are the
benchmark's, else by the problem's text, exact then near), and writes:

* the generation shard: every sample of every matched problem, numbered 0..n-1 per
  problem in file order (a file's N is what it holds, per problem);
* ``imported.parquet``: each sample's origin (file, row, the file's own problem id) and
  the verdict and answer the file carries, which the ``provided`` variant reads;
* ``imported.md``: what was matched and how, every unmatched problem with the closest
  benchmark problem, benchmark problems the file does not cover (the run is scored on
  the n of P it covers), problems with fewer samples than the others.

The file's ids are tried as the benchmark's ids as they are, with the benchmark's name in
front (``AIME24-3``), and, for JustRL's and Qwen's row numbers, as the benchmark's row.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import pandas as pd

from justeval.analysis.problem_matching import ID_SHARE, match_problems
from justeval.command import Arg, command
from justeval.io.identity import identity, variant_identity
from justeval.io.parquet import (
    DataError,
    read_metadata,
    read_parquet,
    read_shards,
    write_parquet,
    write_text_atomic,
)
from justeval.io.schemas import BENCHMARK, GENERATIONS, IMPORTED, VERDICTS
from justeval.metrics.formatting import markdown, md_cell
from justeval.sources.released.common import problem_key
from justeval.sources.released.registry import detect, read_many

log = logging.getLogger(__name__)

ROW_NUMBERED = ("justrl", "qwen")  # formats whose numeric ids are the benchmark's rows


def benchmark_ids(source_ids: pd.Series, bench_ids: list[str], name: str, fmt: str) -> tuple[pd.Series, str]:
    """The file's ids as benchmark ids, by the first reading under which enough of the
    file's distinct ids are the benchmark's (unchanged where none is)."""
    known = set(bench_ids)
    readings = {
        "as written": lambda s: s,
        f"as {name}-<id>": lambda s: f"{name}-{s}",
    }
    if fmt in ROW_NUMBERED:
        readings["as the benchmark's row"] = lambda s: (
            bench_ids[int(s)] if s.isdigit() and int(s) < len(bench_ids) else s
        )
    distinct = [s for s in dict.fromkeys(source_ids) if isinstance(s, str)]
    for reading, how in readings.items():
        if distinct and sum(how(s) in known for s in distinct) >= ID_SHARE * len(distinct):
            return source_ids.map(lambda s, how=how: how(s) if isinstance(s, str) else s), reading
    return source_ids, "not the benchmark's"


def read_and_match(sources: list[str], settings: dict, bench: pd.DataFrame, name: str):
    """(samples with their benchmark problem ids, the matching, the format, the notes)."""
    fmt = settings["format"]
    fmt = detect(sources[0]) if fmt == "auto" else fmt
    released = read_many(sources, fmt, **settings.get("options", {}))
    rows = released.rows
    ids, reading = benchmark_ids(rows["source_id"], bench["problem_id"].tolist(), name, fmt)
    rows = rows.assign(file_id=rows["source_id"], source_id=ids)
    rows = rows.assign(key=_keys(rows))
    problems = released_problems(rows)
    matching = match_problems(problems[["source_id", "problem"]], bench[["problem_id", "problem"]])
    key = problems["key"].tolist()
    problem_of = dict(zip(key, matching.problem_ids(), strict=True))
    # a benchmark problem several file problems matched: the samples of the first only
    keep = {}
    for k, pid in problem_of.items():
        if isinstance(pid, str):
            keep.setdefault(pid, k)
    rows = rows.assign(
        problem_id=[problem_of[k] if keep.get(problem_of[k]) == k else None for k in rows["key"]]
    )
    notes = [f"format {fmt}; the file's ids read {reading}", *released.notes, *matching.notes]
    return rows, matching, problems, fmt, notes, released.aggregate


def _keys(rows: pd.DataFrame) -> list[tuple]:
    """Which problem each row is a sample of, as the readers decide it (the ids as read
    against the benchmark)."""
    columns = (rows["source_id"], rows["problem"], rows["source_file"], rows["source_row"])
    return [problem_key(s, p, (f, r)) for s, p, f, r in zip(*columns, strict=True)]


def released_problems(rows: pd.DataFrame) -> pd.DataFrame:
    """The distinct problems of the keyed rows, in file order, with their sample counts."""
    first = rows.drop_duplicates("key")
    counts = rows["key"].value_counts()
    return first.assign(n_samples=first["key"].map(counts)).reset_index(drop=True)


def report(
    name: str, model: str, bench: pd.DataFrame, samples: pd.DataFrame, matching, problems, notes
) -> str:
    covered = samples["problem_id"].nunique()
    per = samples.groupby("problem_id", sort=False)["sample_idx"].count()
    counts = matching.counts()
    low, high = (int(per.min()), int(per.max())) if len(per) else (0, 0)
    lines = [
        f"# {model} on {name}: what the imported file holds\n",
        f"- {covered} of {len(bench)} benchmark problems covered, {len(samples)} samples "
        f"(N = {low if low == high else f'{low} to {high}'} per problem).",
        f"- Matched by {matching.mode}: " + ", ".join(f"{k} {n}" for k, n in counts.items())
        + f"; {len(matching.unmatched)} of the file's {len(problems)} problems unmatched"
        + (f" ({int(problems.loc[matching.unmatched.index, 'n_samples'].sum())} samples not scored)."
           if len(matching.unmatched) else "."),
        *(f"- {md_cell(n)}" for n in notes),
        "",
    ]  # fmt: skip
    if len(per) and per.min() != per.max():
        few = per[per < per.max()]
        lines += [f"## Problems with fewer samples than the others ({len(few)})\n"]
        lines += [markdown(few.rename("samples").reset_index()), ""]
    if len(matching.unmatched):
        unmatched = problems.loc[matching.unmatched.index, ["source_row", "file_id", "n_samples"]].assign(
            problem=problems.loc[matching.unmatched.index, "problem"].map(
                lambda t: md_cell(t, 120) if isinstance(t, str) else ""
            ),
            note=matching.unmatched["note"].map(lambda t: md_cell(t, 160)),
        )
        lines += [
            f"## The file's problems no benchmark problem matched ({len(unmatched)})\n",
            markdown(unmatched),
            "",
        ]
    near = matching.matches[matching.matches["kind"] == "near"]
    if len(near):
        shown = near[["problem_id", "score"]].assign(
            file_problem=problems.loc[near.index, "problem"].map(
                lambda t: md_cell(t, 120) if isinstance(t, str) else ""
            )
        )
        lines += [f"## Near matches, to check by eye ({len(near)})\n", markdown(shown), ""]
    if len(matching.duplicates):
        lines += ["## Benchmark problems several file problems matched (the first one's samples kept)\n"]
        lines += [markdown(matching.duplicates[["problem_id", "source_id", "kind", "score"]]), ""]
    if matching.missing and covered < len(bench):
        shown = ", ".join(map(md_cell, matching.missing[:50])) + ("…" if len(matching.missing) > 50 else "")
        lines += [f"Benchmark problems not covered ({len(bench) - covered}): {shown}", ""]
    return "\n".join(lines)


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


@command("import-generations", "released outputs of another harness in the generation schema")
def import_generations(
    *,
    sources: Annotated[list[str], Arg("the released output file(s) of one run", positional=True)],
    output: Annotated[str, Arg("the generation shard to write")],
    imported: Annotated[str, Arg("each sample's origin and the file's own verdict (Parquet)")],
    report_out: Annotated[str, Arg("what was matched, what was not (.md)", flag="--report")],
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    model: Annotated[str, Arg("model alias")],
    settings: Annotated[dict, Arg("format, reader options, tokenizer (JSON)")],
) -> None:
    bench = read_parquet(benchmark, BENCHMARK)
    name = read_metadata(benchmark).get("benchmark", Path(benchmark).stem)
    rows, matching, problems, fmt, notes, aggregate = read_and_match(sources, settings, bench, name)
    if aggregate:  # what the source reports of itself, beside our figures
        notes.append(f"the source reports: {json.dumps(aggregate, sort_keys=True)}")
    frame = rows[rows["problem_id"].notna()].copy()
    if frame.empty:
        raise DataError(
            f"{sources[0]}: none of the file's {len(problems)} problems is a problem of benchmark {name} "
            f"(by id or by text; {matching.summary()})"
        )
    frame["sample_idx"] = frame.groupby("problem_id", sort=False).cumcount()
    order = {pid: i for i, pid in enumerate(bench["problem_id"])}
    frame = frame.sort_values(
        ["problem_id", "sample_idx"], key=lambda c: c.map(order) if c.name == "problem_id" else c
    )
    frame = frame.reset_index(drop=True)
    gens = frame[["problem_id", "sample_idx", "seed", "response"]].assign(
        prompt_tokens=None,
        completion_tokens=count_tokens(frame["response"].tolist(), settings.get("tokenizer")),
        finish_reason="unknown",
        model=model,
        settings_hash="imported",
    )
    meta = {"stage": "import_generations", "identity": identity(model, name), "sources": sources}
    meta |= {
        "settings": settings,
        "format": fmt,
        "matching": matching.summary(),
        "source_aggregate": aggregate,
    }
    write_parquet(gens, output, GENERATIONS, metadata=meta)
    origin = frame.assign(source_file=frame["source_file"].astype(str), source_id=frame["file_id"])
    write_parquet(origin[IMPORTED.names], imported, IMPORTED, metadata=meta)
    write_text_atomic(report_out, report(name, model, bench, frame, matching, problems, notes))
    log.info("%s: imported %d samples of %d problems (%s)", name, len(frame), frame["problem_id"].nunique(),
             matching.summary())  # fmt: skip


@command("provided-verdicts", "the verdicts an imported file carries, as final verdicts")
def provided_verdicts(
    *,
    imported: Annotated[str, Arg("the import's imported.parquet (each sample's own verdict)")],
    output: Annotated[str, Arg("the verdicts file to write", positional=True)],
    generations: Annotated[list[str], Arg("the imported generation shards")],
    variant: Annotated[str, Arg("the `provided` grading variant's name")],
) -> None:
    """The verdicts the file carries, as final verdicts (no rule grader, no verifier)."""
    gens = read_shards(generations, GENERATIONS)
    frame = read_parquet(imported, IMPORTED)
    meta = read_metadata(imported)
    if frame["provided_correct"].isna().any():
        row = frame[frame["provided_correct"].isna()].iloc[0]
        raise DataError(
            f"{', '.join(meta.get('sources', []))}: the file carries no verdict for problem "
            f"{row['problem_id']} sample {row['sample_idx']} ({meta.get('format')} format): a `provided` "
            "variant needs one for every sample"
        )
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
            "sources": meta.get("sources"),
        },
    )
    log.info("%d provided verdicts, %d correct", len(verdicts), int(correct.sum()))
