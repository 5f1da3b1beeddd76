"""The rule_grade stage, and ``python -m justeval rule-grade`` for any file.

In the pipeline the gold answers come from the canonical benchmark file and
the output holds the grading columns only. On its own, the command grades any
Parquet or JSON-lines file with a gold column and a response column (a list
of responses per row is expanded to one row per response) and writes the
grading columns next to the input's.

Both start the grading workers before they read anything, so that the
workers' start-up overlaps the read. A Parquet input with one response per row
goes through Arrow only: the responses become Python strings a chunk at a time,
the input's columns are written back as read, a chunk's rows while the next is
graded, and pandas is not imported (JSON lines, lists of responses and golds
that need unwrapping, see :func:`_gold_text`, still bring it in).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import pyarrow as pa

from justeval.command import Arg, command
from justeval.grading.pool import get_pool
from justeval.grading.runner import GRADER_SPECS, GRADERS, Grader, defaults
from justeval.io.parquet import (
    DataError,
    bool_array,
    count_rows,
    parquet_sink,
    read_arrow,
    read_metadata,
    string_array,
    write_parquet,
    write_text_atomic,
)
from justeval.io.provenance import versions
from justeval.io.schemas import BENCHMARK, GENERATIONS, RULE_GRADES

log = logging.getLogger(__name__)

CHUNK = 2000  # responses per progress step
GRADE_COLUMNS = ["extracted_answer", "rule_correct", "status", "layer"]
GRADE_SCHEMA = pa.schema(
    [
        ("extracted_answer", pa.string()),
        ("rule_correct", pa.bool_()),
        ("status", pa.string()),
        ("layer", pa.string()),
    ]
)


ROWS_PER_WORKER = 500  # workers started ahead: one per this many input rows, up to jobs


def start_workers(grader: str, timeout: float, jobs: int, source: str) -> None:
    """Start grading workers now, so that their start-up (~0.2 s each) overlaps the read
    of ``source``: as many as its size calls for (the pool starts more if work needs
    them); and look up the provenance record's package versions in a thread meanwhile
    (metadata files, read while this process waits on the disk or on the workers)."""
    rows = None if _is_json(source) else count_rows(source)
    get_pool(grader, jobs, timeout).start(1 if rows is None else max(1, rows // ROWS_PER_WORKER))
    threading.Thread(target=versions, name="provenance", daemon=True).start()


def _progress_bar(total: int, grader: str, progress: bool):
    """A tqdm bar on a terminal; nothing (and no tqdm import) when stderr is a log file."""
    if not (progress and sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"grading ({grader})", unit="resp")


def grade_frame(
    golds: list[str],
    responses: Sequence,
    grader: str,
    timeout: float,
    jobs: int,
    progress: bool = True,
    on_chunk: Callable[[int, pa.Table], None] | None = None,
) -> pa.Table:
    """The grading columns (:data:`GRADE_SCHEMA`) for ``responses`` against ``golds``
    (``responses`` is only sliced, :data:`CHUNK` at a time); ``on_chunk(start, columns)``
    gets each chunk's as soon as it is graded."""
    engine = Grader(grader, timeout, jobs)
    pool = get_pool(grader, jobs, timeout)
    failures_before, restarts_before = Counter(pool.failures), pool.restarts
    results = []
    bar = _progress_bar(len(golds), grader, progress)
    try:
        for start in range(0, len(golds), CHUNK):
            chunk = engine.grade(golds[start : start + CHUNK], responses[start : start + CHUNK])
            results.extend(chunk)
            if on_chunk is not None:
                on_chunk(start, _grade_columns(chunk))
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    stats = engine.stats
    failures, restarts = pool.failures - failures_before, pool.restarts - restarts_before
    trouble = ""
    if failures or restarts:
        trouble = (
            f"; {failures['timeout']} comparison(s) past the {timeout:g} s deadline, "
            f"{failures['error']} crashed a worker; workers restarted {restarts} time(s)"
        )
    log.info(
        "graded %d responses (%d distinct answers, %d past the cheap layers) with %s in %.2f s "
        "(%.0f responses/s); layers %s%s",
        stats.responses,
        stats.distinct_pairs,
        stats.sent_to_workers,
        grader,
        stats.seconds,
        stats.responses / stats.seconds if stats.seconds else float("inf"),
        dict(stats.layer_counts),
        trouble,
    )
    return _grade_columns(results)


def _grade_columns(results: list) -> pa.Table:
    columns = [
        string_array([r.extracted_answer for r in results]),
        bool_array([r.rule_correct for r in results]),
        string_array([r.status for r in results]),
        string_array([r.layer for r in results]),
    ]
    return pa.Table.from_arrays(columns, schema=GRADE_SCHEMA)


def grade_shard(
    generations: str, benchmark: str, settings: dict, output: str, jobs: int = 1, variant: str | None = None
) -> None:
    """The pipeline stage: one shard of generations against the canonical benchmark."""
    grader, timeout = settings["grader"], settings["timeout"]
    start_workers(grader, timeout, jobs, generations)
    gens = read_arrow(generations, GENERATIONS, columns=["problem_id", "sample_idx", "response"])
    gold_column = "answer_raw" if GRADER_SPECS[grader].raw_gold else "answer"
    bench = read_arrow(benchmark, BENCHMARK, columns=["problem_id", gold_column])
    gold = dict(zip(bench["problem_id"].to_pylist(), bench[gold_column].to_pylist(), strict=True))
    problem_ids = gens["problem_id"].to_pylist()
    unknown = sorted(set(problem_ids) - set(gold))
    if unknown:
        raise DataError(f"{generations}: problem ids not in {benchmark}: {unknown[:5]}")
    grades = grade_frame([gold[p] for p in problem_ids], _Responses(gens["response"]), grader, timeout, jobs)
    columns = [gens["problem_id"], gens["sample_idx"], *grades.columns, string_array([grader] * len(gens))]
    table = pa.Table.from_arrays(columns, names=RULE_GRADES.names)  # write_parquet casts
    statuses = Counter(grades["status"].to_pylist()).most_common()
    log.info("statuses: %s", dict(statuses))
    gens_meta = read_metadata(generations)
    write_parquet(
        table,
        output,
        RULE_GRADES,
        metadata={
            "stage": "rule_grade",
            **_identity(gens_meta, variant),
            "settings": settings,
            "generations": gens_meta.get("settings_hash"),
        },
    )


def _identity(gens_meta: dict, variant: str | None) -> dict:
    """The shard's model and benchmark (from its generations' metadata) and grading variant."""
    found = gens_meta.get("identity")
    return {"identity": {**found, "variant": variant}} if found and variant else {}


@command(
    "rule-grade",
    "grade responses with a rule grader: a pipeline shard (--benchmark) or any Parquet/JSON-lines file",
)
def rule_grade(
    source: Annotated[str, Arg("Parquet or JSON-lines file", positional=True)],
    output: Annotated[str, Arg("Parquet or JSON-lines file (by extension)", positional=True)],
    *,
    benchmark: Annotated[
        str | None, Arg("pipeline mode: the prepared benchmark with the gold answers")
    ] = None,
    variant: Annotated[str | None, Arg("pipeline mode: the grading variant's name")] = None,
    settings: Annotated[
        dict | None, Arg('pipeline mode: {"grader", "timeout", "version"} (JSON), from the rule\'s params')
    ] = None,
    grader: Annotated[
        str | None, Arg("outside the pipeline: the rule grader (default: the config's)", choices=GRADERS)
    ] = None,
    timeout: Annotated[
        float | None, Arg("outside the pipeline: seconds per comparison (default: the config's)")
    ] = None,
    jobs: Annotated[int | None, Arg("worker processes (default: all cores)")] = None,
    gold_column: str = "answer",
    response_column: Annotated[str, Arg("a string or a list of strings per row")] = "response",
) -> None:
    if benchmark:
        # the pipeline's grader and deadline are its settings (the rule's params): an
        # option beside them would be ignored, so it is refused
        given = [f"--{o}" for o, v in (("grader", grader), ("timeout", timeout)) if v is not None]
        if given or not settings:
            what = f"{' and '.join(given)} cannot be combined with" if given else "needs --settings with"
            raise DataError(f"rule-grade: {what} --benchmark (in the pipeline the grader is in --settings)")
        grade_shard(source, benchmark, settings, output, jobs=jobs or 1, variant=variant)
    else:
        check_file_options(source, output, timeout)
        grader, timeout = defaults(grader, timeout)
        grade_file(
            source,
            output,
            grader=grader,
            timeout=timeout,
            jobs=jobs,
            gold_column=gold_column,
            response_column=response_column,
        )


# ---------------------------------------------------------------- files outside the pipeline

OUTPUT_SUFFIXES = (".parquet", ".jsonl", ".json")


def check_file_options(source: str, output: str, timeout: float | None) -> None:
    """The command's options for a file, checked before anything is read (one line each):
    a deadline that leaves time to compare, an output whose name says a format this
    command writes, an output that is not the input."""
    if timeout is not None and not timeout > 0:
        raise DataError(f"rule-grade: --timeout {timeout:g}: give a positive number of seconds")
    if Path(output).suffix.lower() not in OUTPUT_SUFFIXES:
        raise DataError(
            f"rule-grade: {output}: the output is written as Parquet (.parquet) or JSON lines "
            "(.jsonl, .json); name it so"
        )
    src, out = Path(source), Path(output)
    if src.resolve() == out.resolve() or (src.exists() and out.exists() and src.samefile(out)):
        raise DataError(f"rule-grade: {output} is the input; write the graded rows to another file")


def _is_json(path: str) -> bool:
    return Path(path).suffix.lower() in (".jsonl", ".json")


def read_table(path: str):
    """A Parquet file as an Arrow table; a JSON-lines file as a pandas DataFrame."""
    if _is_json(path):
        import pandas as pd

        if not Path(path).is_file():
            raise DataError(f"{path}: no such file")
        try:
            # dtype=False: a gold written as the string "204" stays the string "204"
            with open(path, encoding="utf-8") as fh:
                return pd.read_json(fh, lines=True, dtype=False, convert_dates=False)
        except ValueError as exc:
            raise DataError(f"{path}: not JSON lines ({exc})") from None
    return read_arrow(path)


def write_table(table, path: str, metadata: dict) -> None:
    """An Arrow table or a pandas DataFrame, as Parquet or JSON lines (by extension)."""
    if _is_json(path):
        frame = table.to_pandas() if isinstance(table, pa.Table) else table
        lines = (json.dumps(rec, ensure_ascii=False, default=str) for rec in frame.to_dict("records"))
        write_text_atomic(path, "".join(line + "\n" for line in lines))
    else:
        write_parquet(table, path, metadata=metadata)


def _columns(table) -> list[str]:
    return list(map(str, table.column_names if isinstance(table, pa.Table) else table.columns))


def _is_list_type(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)


def grade_file(
    source: str,
    output: str,
    grader: str,
    timeout: float,
    jobs: int | None = None,
    gold_column: str = "answer",
    response_column: str = "response",
) -> None:
    jobs = jobs or os.cpu_count() or 1
    start_workers(grader, timeout, jobs, source)
    table = read_table(source)
    for column, option in ((gold_column, "--gold-column"), (response_column, "--response-column")):
        if column not in _columns(table):
            raise DataError(
                f"{source}: no column {column!r} (columns: {', '.join(_columns(table))}); "
                f"name it with {option}"
            )
    clash = [c for c in GRADE_COLUMNS if c in _columns(table)]
    if clash:
        raise DataError(f"{source}: already has column(s) {clash}; rename them first")
    if isinstance(table, pa.Table) and _is_list_type(table.schema.field(response_column).type):
        table = table.to_pandas()  # lists of responses: expanded by pandas below
    metadata = {"stage": "rule-grade", "source": source, "grader": grader, "timeout": timeout}
    raw = GRADER_SPECS[grader].raw_gold  # justrl: the gold as written (it unwraps a box itself)
    if isinstance(table, pa.Table):
        golds, responses = _arrow_texts(source, table, gold_column, response_column, raw)
        if not _is_json(output):  # each chunk written while the next is graded
            schema = pa.schema([*table.schema.remove_metadata(), *GRADE_SCHEMA])
            with parquet_sink(output, schema, metadata) as sink:

                def write_chunk(start: int, grades: pa.Table) -> None:
                    rows = table.slice(start, grades.num_rows)
                    sink.write(pa.Table.from_arrays([*rows.columns, *grades.columns], schema=schema))

                grade_frame(golds, responses, grader, timeout, jobs, on_chunk=write_chunk)
            return
        grades = grade_frame(golds, responses, grader, timeout, jobs)
        out = table
        for name in GRADE_COLUMNS:
            out = out.append_column(grades.schema.field(name), grades[name])
    else:
        import pandas as pd

        table, golds, responses = _pandas_texts(source, table, gold_column, response_column, raw)
        grades = grade_frame(golds, responses, grader, timeout, jobs)
        out = pd.concat([table.reset_index(drop=True), grades.to_pandas()], axis=1)
    write_table(out, output, metadata)


def _arrow_texts(source: str, table: pa.Table, gold_column: str, response_column: str, raw: bool):
    """The gold texts and responses of a table with one response per row."""
    golds = []
    unwrapped: dict = {}
    for row, value in enumerate(table[gold_column].to_pylist()):
        if value is None or value != value or str(value).strip() == "":  # null, NaN or blank
            raise DataError(f"{source}: row {row} column {gold_column!r}: empty gold answer")
        text = str(value)
        if text not in unwrapped:
            unwrapped[text] = text if raw else _gold_text(text)
        golds.append(unwrapped[text])
    return golds, _Responses(table[response_column])


class _Responses:
    """A response column that turns into Python strings one slice at a time, as
    :func:`grade_frame` asks for them: never all ~30k-character texts at once."""

    def __init__(self, column: pa.ChunkedArray):
        self.column = column

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, item: slice) -> list[str | None]:
        start, stop, _ = item.indices(len(self.column))
        values = self.column.slice(start, max(0, stop - start)).to_pylist()
        return [r if type(r) is str else None if r is None or r != r else str(r) for r in values]


def _pandas_texts(source: str, frame, gold_column: str, response_column: str, raw: bool):
    """The frame with lists of responses expanded, its gold texts and its responses."""
    import pandas as pd

    if frame[response_column].map(lambda v: isinstance(v, (list, tuple)) or hasattr(v, "tolist")).any():
        frame = frame.assign(response_idx=frame[response_column].map(lambda v: list(range(len(v)))))
        frame = frame.explode([response_column, "response_idx"], ignore_index=True)
    missing_gold = frame[gold_column].isna() | (frame[gold_column].astype(str).str.strip() == "")
    if missing_gold.any():
        row = int(missing_gold.idxmax())
        raise DataError(f"{source}: row {row} column {gold_column!r}: empty gold answer")
    golds = [str(g) if raw else _gold_text(g) for g in frame[gold_column]]
    responses = [None if pd.isna(r) else str(r) for r in frame[response_column]]
    return frame, golds, responses


def _gold_text(value) -> str:
    """``benchmarks.unwrap_gold(str(value))``. A gold it would return unchanged (no
    surrounding blanks, no box, not wrapped in ``$``) is returned here directly: the
    benchmarks module imports pandas and numpy (~0.5 s). tests/unit/test_rule_grade_io.py
    checks the two agree on every gold of the nine benchmarks."""
    text = str(value)
    if (
        text == text.strip()
        and "\\boxed" not in text
        and "\\fbox" not in text
        and not (text.startswith("$") and text.endswith("$"))
    ):
        return text
    from justeval.sources.benchmarks import unwrap_gold

    return unwrap_gold(text)
