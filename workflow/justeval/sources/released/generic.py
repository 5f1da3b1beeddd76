"""Any table of responses whose columns the caller names (``generic``).

JSON lines, a JSON array of objects, Parquet or CSV, one record per problem or per sample.
The caller names the fields: ``response`` (required: a string, or a list of strings, one
per sample), ``problem`` and/or ``id`` (at least one: what identifies the problem), and
optionally ``gold``, ``sample`` (the sample's index; only with one response per record),
``correct`` (the source's verdict: a boolean, 0/1, or true/false/yes/no) or a list of them
aligned with a list of responses, ``answer`` (the extracted answer, or a list of them) and
``seed``. A name may be a dotted path into nested objects (``doc.problem``); an exact field
name wins over a path. A named field must be in every record (its value may be null).

The file's kind comes from its content (Parquet's magic bytes) or its suffix (``.csv``);
anything else is read as JSON lines or a JSON array. In a CSV every cell is text: a cell
that is a JSON list of strings (``["...", "..."]``) is read as that list.

Learnt from: nothing outside; it is the escape hatch for the layouts no reader knows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    check_file,
    gold_of,
    int_of,
    is_parquet,
    iter_records,
    record_of,
    response_of,
    short,
    text_of,
    verdict_of,
)

FORMAT = "generic"
_ABSENT = object()


def recognises(shape) -> bool:
    return False  # never detected: its columns must be named


def _records(path) -> Iterator[tuple[int, str, dict]]:
    if is_parquet(path):
        import pyarrow.parquet as pq

        try:
            records = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several kinds on a damaged file
            raise DataError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        for row, rec in enumerate(records):
            yield row, f"row {row}", rec
    elif path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            for row, rec in enumerate(reader):
                if None in rec:
                    raise DataError(f"{path}: row {row}: more cells than the header has columns")
                yield row, f"row {row}", {k: _cell(v) for k, v in rec.items()}
    else:
        for position, number, value in iter_records(path):
            yield position, f"line {number}", record_of(value, path, f"line {number}")


def _cell(text: str | None):
    if text is None or text == "":
        return None
    if text.startswith("[") and text.endswith("]"):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return text


def _get(rec: dict, name: str):
    if name in rec:
        return rec[name]
    value = rec
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _field(rec: dict, name: str | None, path, where: str):
    if name is None:
        return None
    value = _get(rec, name)
    if value is _ABSENT:
        raise DataError(f"{path}: {where}: no field {name!r} (the record has {short(sorted(rec), 120)})")
    return value


def _aligned(value, n: int, path, where, name) -> list:
    if isinstance(value, list):
        if len(value) != n:
            raise DataError(f"{path}: {where}: field {name!r}: {len(value)} values for {n} responses")
        return value
    return [value] * n


def read(
    path,
    *,
    response: str,
    problem: str | None = None,
    id: str | None = None,  # noqa: A002 - the caller's word for it
    gold: str | None = None,
    sample: str | None = None,
    correct: str | None = None,
    answer: str | None = None,
    seed: str | None = None,
) -> Released:
    """The named fields of every record (see the module's docstring)."""
    path = check_file(path)
    if problem is None and id is None:
        raise DataError(f"{path}: name the problem's field (problem=...) or its id's (id=...), or both")
    rows = Rows(path)
    for row, where, rec in _records(path):
        responses = _field(rec, response, path, where)
        if isinstance(responses, list):
            if sample is not None:
                raise DataError(f"{path}: {where}: field {response!r} holds a list of responses: a sample "
                                f"index field ({sample!r}) needs one response per record")  # fmt: skip
        else:
            responses = [responses]
        n = len(responses)
        corrects = _aligned(_field(rec, correct, path, where), n, path, where, correct)
        answers = _aligned(_field(rec, answer, path, where), n, path, where, answer)
        source_id = text_of(_field(rec, id, path, where), path, where, id or "id")
        text = text_of(_field(rec, problem, path, where), path, where, problem or "problem")
        if source_id is None and text is None:
            raise DataError(f"{path}: {where}: neither a problem nor an id")
        for i, value in enumerate(responses):
            rows.add(
                row,
                source_id=source_id,
                problem=text,
                gold=gold_of(_field(rec, gold, path, where), path, where, gold or "gold"),
                response=response_of(value, path, where, response),
                correct=verdict_of(corrects[i], path, where, correct or "correct"),
                answer=text_of(answers[i], path, where, answer or "answer"),
                seed=int_of(_field(rec, seed, path, where), path, where, seed or "seed"),
                sample_idx=int_of(_field(rec, sample, path, where), path, where, sample) if sample else None,
                where=where,
            )
    return Released(rows.frame(), FORMAT)
