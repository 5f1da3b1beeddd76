"""What every reader returns, and what the readers share: record iteration over JSON lines,
JSON arrays and (streamed) JSON objects, a peek at a file's first records for detection, and
checked field access whose errors are one line naming the file, the line or row, and the field.

The uniform table (:data:`COLUMNS`), one row per sample:

``source_row``
    0-based position of the record in the file (the JSON line, the Parquet/CSV row, the
    entry of a JSON object or array; for MathArena's per-problem files, the run).
``source_id``
    the file's own problem id, as a string, or None when the file has none.
``problem``
    the problem text as the file has it (a prompt with its chat template and instructions
    stays raw: matching normalises it).
``gold``
    the file's gold answer, as a string, or None.
``sample_idx``
    0..n-1 within a problem, in file order. A problem is its ``source_id`` when the file
    has ids, else its text (else its row): samples of one problem spread over several
    records (one record per sample) are numbered together.
``response``
    the response text.
``provided_correct``
    the source's own verdict on this sample (True/False), or None when it has none.
``provided_answer``
    the answer the source extracted from the response, or None.
``seed``
    the sampling seed where the file records one, else None.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from justeval.io.parquet import DataError

COLUMNS = (
    "source_row",
    "source_id",
    "problem",
    "gold",
    "sample_idx",
    "response",
    "provided_correct",
    "provided_answer",
    "seed",
)

PEEK_RECORDS = 5  # records a detection reads at most
PEEK_KEYS = 16  # top-level entries of a JSON object a detection reads at most
CHUNK = 1 << 20  # characters read at a time from a JSON file streamed


@dataclass
class Released:
    """One released file read: its samples (``rows``, the columns of :data:`COLUMNS`), its
    format, the file-level results the source reports where the file (or its results
    file) carries them (``aggregate``: e.g. ``{"accuracy": 66.7}``), and what the reader
    noticed and decided (``notes``: skipped records, the filter or metric taken...)."""

    rows: pd.DataFrame
    fmt: str
    aggregate: dict | None = None
    notes: list[str] = field(default_factory=list)

    def problems(self) -> pd.DataFrame:
        """The file's distinct problems, in file order: ``source_id``, ``problem``, ``gold``,
        ``source_row`` (of its first sample) and ``n_samples``: the input of
        :func:`justeval.analysis.problem_matching.match_problems`."""
        rows = self.rows
        keys = [
            problem_key(s, p, r)
            for s, p, r in zip(rows["source_id"], rows["problem"], rows["source_row"], strict=True)
        ]
        first: dict[tuple, int] = {}
        counts: dict[tuple, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
            counts[key] = counts.get(key, 0) + 1
        out = rows.iloc[list(first.values())][["source_id", "problem", "gold", "source_row"]]
        return out.assign(n_samples=[counts[k] for k in first]).reset_index(drop=True)


def problem_key(source_id, problem, row) -> tuple:
    """What makes two samples samples of one problem: the id, else the text, else the row."""
    if source_id is not None:
        return ("id", source_id)
    if problem is not None:
        return ("text", problem)
    return ("row", row)


class Rows:
    """The rows of a file being read: numbers each problem's samples in file order (or
    takes the numbers the file gives, checking they do not repeat)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.rows: list[dict] = []
        self.counts: dict[tuple, int] = {}
        self.seen: dict[tuple, str] = {}

    def add(
        self,
        row: int,
        *,
        source_id: str | None,
        problem: str | None,
        gold: str | None,
        response: str,
        correct: bool | None = None,
        answer: str | None = None,
        seed: int | None = None,
        sample_idx: int | None = None,
        where: str | None = None,
    ) -> None:
        key = problem_key(source_id, problem, row)
        where = where or f"row {row}"
        if sample_idx is None:
            sample_idx = self.counts.get(key, 0)
        elif sample_idx < 0:
            raise DataError(f"{self.path}: {where}: sample index {sample_idx} is negative")
        elif (key, sample_idx) in self.seen:
            raise DataError(f"{self.path}: {where}: sample {sample_idx} of this problem is already at "
                            f"{self.seen[(key, sample_idx)]}")  # fmt: skip
        self.seen[(key, sample_idx)] = where
        self.counts[key] = max(self.counts.get(key, 0), sample_idx + 1)
        self.rows.append(
            {
                "source_row": row,
                "source_id": source_id,
                "problem": problem,
                "gold": gold,
                "sample_idx": sample_idx,
                "response": response,
                "provided_correct": correct,
                "provided_answer": answer,
                "seed": seed,
            }
        )

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            raise DataError(f"{self.path}: no samples")
        return rows_frame(self.rows)


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    """The uniform table of a list of row dicts: integer row and sample numbers, every other
    column an object column holding None where a value is missing."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["source_row"] = frame["source_row"].astype("int64")
    frame["sample_idx"] = frame["sample_idx"].astype("int64")
    for col in COLUMNS:
        if col not in ("source_row", "sample_idx"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


# ------------------------------------------------------------------ checked values


def short(value, limit: int = 60) -> str:
    """A value for an error message: one line, cut."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def text_of(value, path, where: str, name: str, required: bool = False) -> str | None:
    """A text field: strings as they are, numbers as their decimal text, None (or NaN) as
    None (an error when ``required``); anything else (a list, an object) is an error."""
    if missing(value):
        if required:
            raise DataError(f"{path}: {where}: field {name!r}: missing")
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    raise DataError(
        f"{path}: {where}: field {name!r}: expected text, found {type(value).__name__} {short(value)}"
    )


def response_of(value, path, where: str, name: str) -> str:
    """A response: text (an empty string is a response; None is not)."""
    if not isinstance(value, str):
        found = "nothing" if missing(value) else f"{type(value).__name__} {short(value)}"
        raise DataError(f"{path}: {where}: field {name!r}: expected the response text, found {found}")
    return value


def gold_of(value, path, where: str, name: str) -> str | None:
    """A gold answer: text or a number; a list of one is its element (several: the first)."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return text_of(value, path, where, name)


_TRUE = {"true", "yes", "1", "1.0", "correct"}
_FALSE = {"false", "no", "0", "0.0", "incorrect", "wrong"}


def verdict_of(value, path, where: str, name: str) -> bool | None:
    """A verdict: a boolean, 0/1, or the words true/false (yes/no); None stays None."""
    if missing(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise DataError(
        f"{path}: {where}: field {name!r}: expected a verdict (true/false or 0/1), found {short(value)}"
    )


def int_of(value, path, where: str, name: str) -> int | None:
    if missing(value):
        return None
    if isinstance(value, bool):
        raise DataError(f"{path}: {where}: field {name!r}: expected an integer, found {short(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise DataError(f"{path}: {where}: field {name!r}: expected an integer, found {short(value)}")


def require(record: dict, names, path, where: str) -> None:
    for name in [names] if isinstance(names, str) else names:
        if name not in record:
            raise DataError(
                f"{path}: {where}: no field {name!r} (the record has {short(sorted(record), 120)})"
            )


def first_present(record: dict, names) -> str | None:
    """The first of ``names`` the record has (with a value), or None."""
    for name in names:
        if not missing(record.get(name)):
            return name
    return None


# ------------------------------------------------------------------ reading JSON


def check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; name one of its files")
    return path


def is_parquet(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def iter_jsonl(path) -> Iterator[tuple[int, object]]:
    """(line number, value) of every non-blank line. Records end at "\\n" only: a JSON
    string may hold U+2028 or a form feed unescaped, which str.splitlines() would cut at."""
    with open(path, encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise DataError(f"{path}: line {number}: not JSON ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).splitlines()[0]


_WS = " \t\r\n"
_DECODER = json.JSONDecoder()


class _Stream:
    """A JSON text read a chunk at a time, for decoding one top-level entry after another."""

    def __init__(self, fh, path):
        self.fh, self.path = fh, path
        self.buf, self.pos, self.eof = "", 0, False
        self.lines_before = 0  # line breaks in the text already dropped from the buffer

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(max(CHUNK, len(self.buf)))
        if not chunk:
            self.eof = True
            return False
        if self.pos > CHUNK:
            self.lines_before += self.buf.count("\n", 0, self.pos)
            self.buf, self.pos = self.buf[self.pos :], 0
        self.buf += chunk
        return True

    def line(self, pos: int | None = None) -> int:
        return self.lines_before + self.buf.count("\n", 0, self.pos if pos is None else pos) + 1

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf) or not self.fill():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def value(self, what: str):
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.fill():
                    continue
                raise DataError(
                    f"{self.path}: line {self.line(exc.pos)}: {what}: not JSON ({exc.msg})"
                ) from None
            if end >= len(self.buf) and not self.eof and self.fill():
                continue  # a number (or literal) may go on in the next chunk
            self.pos = end
            return value


def iter_json(path) -> Iterator[tuple[int, object, object]]:
    """(line number, key, value) of each top-level entry of a JSON object (the key is the
    entry's name) or array (its index), read a chunk at a time: the file is never held
    whole, and a caller that stops early reads only its beginning."""
    with open(path, encoding="utf-8", newline="") as fh:
        stream = _Stream(fh, path)
        opening = stream.peek()
        if opening not in ("{", "["):
            raise DataError(f"{path}: line {stream.line()}: not a JSON object or array")
        closing = "}" if opening == "{" else "]"
        stream.pos += 1
        index = 0
        while True:
            char = stream.peek()
            if char == closing:
                stream.pos += 1
                break
            if not char:
                kind = "object" if opening == "{" else "array"
                raise DataError(f"{path}: line {stream.line()}: the JSON {kind} is not closed")
            if index:
                if char != ",":
                    raise DataError(
                        f"{path}: line {stream.line()}: expected ',' between entries, found {char!r}"
                    )
                stream.pos += 1
            if opening == "{":
                stream.peek()
                line = stream.line()
                key = stream.value("an entry's name")
                if not isinstance(key, str):
                    raise DataError(f"{path}: line {line}: expected an entry's name, found {short(key)}")
                if stream.peek() != ":":
                    raise DataError(f"{path}: line {stream.line()}: expected ':' after {key!r}")
                stream.pos += 1
                value = stream.value(f"entry {key!r}")
            else:
                stream.peek()
                line, key = stream.line(), index
                value = stream.value(f"element {index}")
            yield line, key, value
            index += 1
        if stream.peek():
            raise DataError(f"{path}: line {stream.line()}: text after the end of the JSON value")


def _first_lines(path) -> tuple[str | None, str | None]:
    first = second = None
    with open(path, encoding="utf-8", newline="") as fh:
        for line in fh:
            if line.strip():
                if first is None:
                    first = line
                else:
                    second = line
                    break
    return first, second


def json_kind(path) -> str:
    """``jsonl`` (one JSON value a line), ``json-array`` or ``json-object`` (one value in the
    whole file): a complete JSON value on the first non-blank line, with more lines after it,
    makes JSON lines; otherwise the first character decides. A file of one line holding one
    object is a ``json-object`` (which readers of records take as one record)."""
    first, second = _first_lines(path)
    if first is None:
        raise DataError(f"{path}: empty file")
    if second is not None:
        try:
            json.loads(first)
            return "jsonl"
        except ValueError:
            pass
    start = first.lstrip()[:1]
    if start == "[":
        return "json-array"
    if start == "{":
        return "json-object"
    raise DataError(f"{path}: line 1: neither JSON lines nor a JSON object or array")


def iter_records(path) -> Iterator[tuple[int, int, object]]:
    """(position, line number, record) of a file of records: JSON lines, or a JSON array
    (one record an element); a file of one line holding one object is one record."""
    kind = json_kind(path)
    if kind == "jsonl":
        for position, (number, value) in enumerate(iter_jsonl(path)):
            yield position, number, value
    elif kind == "json-array":
        for number, index, value in iter_json(path):
            yield index, number, value
    elif _first_lines(path)[1] is None:
        for number, value in iter_jsonl(path):
            yield 0, number, value
    else:
        raise DataError(f"{path}: line 1: one JSON object, not JSON lines or an array of records")


def record_of(value, path, where: str) -> dict:
    if not isinstance(value, dict):
        raise DataError(
            f"{path}: {where}: expected a JSON object, found {type(value).__name__} {short(value)}"
        )
    return value


# ------------------------------------------------------------------ peeking, for detection


@dataclass(frozen=True)
class Shape:
    """What a detection sees of a file, from its schema or first records only:

    ``container``
        ``parquet``, ``csv``, ``jsonl``, ``json-array`` or ``json-object``.
    ``fields``
        the fields of its first records: the Parquet columns or CSV header; the keys of the
        first JSON lines or array elements; for a one-line JSON object, its keys.
    ``top_keys``
        for a JSON object, the names of its first entries.
    ``entry_fields``
        for a JSON object whose first entries are all objects (a dict of records), their keys.
    """

    container: str
    fields: frozenset = frozenset()
    top_keys: tuple = ()
    entry_fields: frozenset = frozenset()

    def describe(self) -> str:
        if self.entry_fields:
            what, names = "a JSON object of records with fields", sorted(self.entry_fields)
        elif self.container == "json-object":
            what, names = "a JSON object with entries", list(self.top_keys)
        else:
            label = {"jsonl": "JSON lines", "json-array": "a JSON array", "parquet": "a Parquet file",
                     "csv": "a CSV file"}[self.container]  # fmt: skip
            what, names = f"{label} with fields", sorted(self.fields)
        shown = ", ".join(map(str, names[:25])) + (", ..." if len(names) > 25 else "")
        return f"{what} {shown or '(none)'}"


def peek(path) -> Shape:
    """The :class:`Shape` of a file, from its schema or first records only."""
    path = check_file(path)
    if is_parquet(path):
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several kinds on a damaged file
            raise DataError(f"{path}: not a readable Parquet file ({_reason(exc)})") from None
        return Shape("parquet", frozenset(names))
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
        return Shape("csv", frozenset(header))
    kind = json_kind(path)
    fields: set = set()
    if kind == "jsonl":
        taken = 0
        for _, value in iter_jsonl(path):
            if isinstance(value, dict) and value:  # NeMo-Skills writes {} for a failed generation
                fields |= set(value)
                taken += 1
            if taken >= PEEK_RECORDS:
                break
        return Shape("jsonl", frozenset(fields))
    if kind == "json-array":
        for _, index, value in iter_json(path):
            if isinstance(value, dict):
                fields |= set(value)
            if index + 1 >= PEEK_RECORDS:
                break
        return Shape("json-array", frozenset(fields))
    keys: list = []
    records = 0
    for _, key, value in iter_json(path):
        keys.append(key)
        if isinstance(value, dict):
            records += 1
            fields |= set(value)
        if len(keys) >= PEEK_KEYS or (records >= 3 and records == len(keys)):
            break
    one_line = _first_lines(path)[1] is None
    return Shape(
        "json-object",
        frozenset(keys) if one_line else frozenset(),
        tuple(keys),
        frozenset(fields) if keys and records == len(keys) else frozenset(),
    )
