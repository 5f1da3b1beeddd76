"""Training sets: the problems (and answers, where a set has them) of a user's RL
training data, for the overlap stage to compare the benchmarks with.

Formats, told apart by their content (not their names):

Parquet
    read with ``pyarrow.parquet``, one record batch at a time, only the columns asked for;
JSON lines
    one object per line, read a batch of lines at a time with the ``json`` module and made
    a record batch by pyarrow;
JSON array
    ``[{...}, {...}]`` (as LIMR publishes its sets), read one object at a time with the
    ``json`` module's decoder (:func:`_json_array_records`: the file is never held whole),
    a batch of objects at a time made a record batch by pyarrow;
Arrow
    one Arrow IPC file (stream or file format), read with ``pyarrow.ipc``, a record batch
    at a time;
Hugging Face ``datasets`` folder
    what ``Dataset.save_to_disk`` writes (``state.json``, ``dataset_info.json`` and
    ``data-0000k-of-0000N.arrow`` files in Arrow IPC *stream* format), read with
    ``pyarrow.ipc.open_stream`` one record batch at a time; or what
    ``DatasetDict.save_to_disk`` writes (``dataset_dict.json`` naming the splits, one
    such folder per split): every split is read, its rows' ids are ``<split>:<row>``.
    The ``datasets`` library is not needed.

Every format is read in batches of at most :data:`BATCH_ROWS` rows (:class:`TrainingSet`),
so that a set of any size is read in bounded memory; :func:`read_training_set` gives
all the rows at once, for small sets and tests. In JSON (lines or array) a field whose
values are of several scalar types (an answer that is 5 in one row and "\\frac{1}{2}" in
another) is made text; its types are the first batch's, and a later batch whose type
differs from them is made text too.

The problem column holds a string, or a chat: a list of ``{role, content}`` messages
(or ShareGPT's ``{from, value}``), read as its **last** user (``human``) message (a
few-shot prompt puts its worked examples in the earlier turns and the problem to solve
in the last). A column may be a field of a struct column, written with a dot (verl's
``reward_model.ground_truth``). The answer and id columns are optional and may hold
numbers, read as text; a ``\\boxed{}`` in an answer is left for the comparison to
unwrap. A row whose problem cell is empty is left out.

Every problem with the input is one :class:`~justeval.io.parquet.DataError` line naming
the file: a file in none of these formats, a missing column (naming the columns there
are), a column that holds no text, a set without a row.

The reading is pyarrow's (or the ``json`` module's); the format detection, the column
checks and the chat reading are ours.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from justeval.io.parquet import DataError

PARQUET_MAGIC = b"PAR1"
ARROW_FILE_MAGIC = b"ARROW1"
ARROW_STREAM_MARK = b"\xff\xff\xff\xff"
BATCH_ROWS = 4096


@dataclass(frozen=True)
class TrainingRow:
    """One problem of a training set: its id (the row number, ``<split>:<row>`` in a
    folder of splits, or the id column's value), its row number in its file (or split),
    its text and its answer (None when the set has no answer column or the cell is empty)."""

    id: str
    row: int
    text: str
    answer: str | None


class TrainingSet:
    """A training set opened for reading in batches: its format found and its columns
    checked at once (:class:`~justeval.io.parquet.DataError` on a problem), its rows read
    as they are asked for, never all at once."""

    def __init__(
        self, path: str | Path, column: str, answer_column: str | None = None, id_column: str | None = None
    ):
        self.path = Path(path).expanduser()
        self.column, self.answer_column, self.id_column = column, answer_column, id_column
        self._parts = list(_sources(self.path, detect_format(self.path)))
        for split, batches in self._parts:
            where = self._where(split)
            schema = batches.schema
            _check_column(schema, column, where, chat=True)
            for other in (answer_column, id_column):
                if other:
                    _check_column(schema, other, where, chat=False)

    def _where(self, split: str) -> str:
        return f"{self.path}" + (f" (split {split})" if split else "")

    def batches(self) -> Iterator[list[TrainingRow]]:
        """The rows, in order, a batch (at most :data:`BATCH_ROWS` rows of the file) at a
        time. Rows whose problem cell is empty are left out; a set with no row left is an
        error (raised once every batch is read)."""
        wanted = [c for c in (self.column, self.answer_column, self.id_column) if c]
        found = False
        for split, batches in self._parts:
            row = 0
            for batch in batches(wanted):
                texts = _texts(batch, self.column)
                n = len(texts)
                answers = _strings(batch, self.answer_column) if self.answer_column else [None] * n
                ids = _strings(batch, self.id_column) if self.id_column else [None] * n
                rows = []
                for text, answer, ident in zip(texts, answers, ids, strict=True):
                    if text and text.strip():
                        default = f"{split}:{row}" if split else str(row)
                        rows.append(TrainingRow(ident if ident is not None else default, row, text, answer))
                    row += 1
                if rows:
                    found = True
                    yield rows
        if not found:
            raise DataError(
                f"{self.path}: the training set holds no problem (0 rows, or column {self.column!r} is empty)"
            )

    def __iter__(self) -> Iterator[TrainingRow]:
        for rows in self.batches():
            yield from rows

    def texts_at(self, wanted: Callable[[int], bool]) -> Iterator[tuple[int, str]]:
        """(position, problem text) of the rows whose position ``wanted`` accepts: the
        position counts every row of the file (of all splits, in order; rows with an empty
        problem cell too), ``wanted`` is asked about each in turn, and only the problem
        column of the accepted rows is made Python text (a sample, read cheaply)."""
        position = 0
        for _, batches in self._parts:
            for batch in batches([self.column]):
                picks = [k for k in range(batch.num_rows) if wanted(position + k)]
                if picks:
                    taken = batch.take(pa.array(picks, pa.int64()))
                    for k, text in zip(picks, _texts(taken, self.column), strict=True):
                        if text and text.strip():
                            yield position + k, text
                position += batch.num_rows


def read_training_set(
    path: str | Path, column: str, answer_column: str | None = None, id_column: str | None = None
) -> list[TrainingRow]:
    """All the rows of a training set at once (see :class:`TrainingSet`, which reads them a
    batch at a time, and the module docstring for the formats). Rows whose problem cell is
    empty are left out; a set with no row left is an error."""
    return list(TrainingSet(path, column, answer_column, id_column))


def detect_format(path: Path) -> str:
    """``parquet``, ``jsonl``, ``json-array``, ``arrow-stream``, ``arrow-file`` or
    ``datasets`` (a folder), from what the path holds."""
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return "datasets"
        found = ", ".join(sorted(p.name for p in path.iterdir())[:8]) or "nothing"
        raise DataError(
            f"{path}: a folder that is not a Hugging Face datasets folder (no dataset_dict.json or "
            f"state.json; it holds: {found})"
        )
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(4096)
        while head and not head.strip():  # only whitespace so far: is there anything after it?
            head = fh.read(1 << 20)
    if not head.strip():
        raise DataError(f"{path}: the file is empty")
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(ARROW_FILE_MAGIC):
        return "arrow-file"
    if head.startswith(ARROW_STREAM_MARK):
        return "arrow-stream"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")  # a byte-order mark, whitespace
    if text.startswith(b"["):
        return "json-array"
    if text.startswith(b"{"):
        return "jsonl"
    shown = head[:24].decode("utf-8", "replace").replace("\n", "\\n")
    raise DataError(
        f"{path}: not a training set in any known format (Parquet, JSON lines, JSON array, Arrow, "
        f"Hugging Face datasets folder); it starts with {shown!r}"
    )


def peek_columns(path: str | Path) -> list[str] | None:
    """The column names of a training set when they can be had without reading its rows
    (Parquet, Arrow, a datasets folder: the schema; JSON lines: the first record's keys);
    None for a JSON array, which only a whole read shows. For the checks when Snakemake
    reads the workflow (raises DataError, as :func:`detect_format`)."""
    path = Path(path).expanduser()
    kind = detect_format(path)
    if kind == "json-array":
        return None
    if kind == "jsonl":
        with open(path, encoding="utf-8-sig") as fh:
            first = next((line for line in fh if line.strip()), "")
        try:
            record = json.loads(first)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: its first line is not a JSON object ({_one_line(exc)})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}: its first line is not a JSON object")
        return list(record)
    return training_columns(path)


def training_columns(path: str | Path) -> list[str]:
    """The column names of a training set (its first split's, for a folder of splits)."""
    path = Path(path).expanduser()
    for _, batches in _sources(path, detect_format(path)):
        schema = batches.schema  # type: ignore[attr-defined]
        return list(schema.names)
    return []


# ------------------------------------------------------------------ sources


class _Batches:
    """A callable ``(columns) -> iterator of record batches`` with the source's schema."""

    def __init__(self, schema_of, read):
        self._schema_of = schema_of
        self._read = read

    @property
    def schema(self) -> pa.Schema:
        return self._schema_of()

    def __call__(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        return self._read(columns)


def _sources(path: Path, kind: str) -> Iterator[tuple[str, _Batches]]:
    """(split name or "", its batches) for each part of a training set."""
    if kind == "datasets":
        yield from _datasets_folder(path)
    elif kind == "parquet":
        yield "", _parquet(path)
    elif kind in ("arrow-stream", "arrow-file"):
        yield "", _arrow([path], kind == "arrow-file")
    elif kind == "jsonl":
        yield "", _json(path, lambda: _json_lines_records(path))
    else:
        yield "", _json(path, lambda: _json_array_records(path))


def _parquet(path: Path) -> _Batches:
    import pyarrow.parquet as pq

    def schema() -> pa.Schema:
        try:
            return pq.read_schema(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({_one_line(exc)})") from None

    def read(columns: list[str]) -> Iterator[pa.RecordBatch]:
        top = list(dict.fromkeys(c.split(".")[0] for c in columns if c.split(".")[0] in schema().names))
        try:
            with pq.ParquetFile(path) as source:
                yield from source.iter_batches(BATCH_ROWS, columns=top, use_threads=False)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({_one_line(exc)})") from None

    return _Batches(schema, read)


def _arrow(files: list[Path], file_format: bool) -> _Batches:
    import pyarrow.ipc as ipc

    def open_reader(file: Path):
        try:
            return ipc.open_file(file) if file_format else ipc.open_stream(file)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{file}: not a readable Arrow file ({_one_line(exc)})") from None

    def schema() -> pa.Schema:
        return open_reader(files[0]).schema

    def read(columns: list[str]) -> Iterator[pa.RecordBatch]:
        for file in files:
            reader = open_reader(file)
            try:
                if file_format:
                    parts = (reader.get_batch(i) for i in range(reader.num_record_batches))
                else:
                    parts = iter(reader)
                for batch in parts:  # a file written as one large batch is still read in small ones
                    for start in range(0, batch.num_rows, BATCH_ROWS):
                        yield batch.slice(start, BATCH_ROWS)
            except (OSError, pa.ArrowInvalid) as exc:
                raise DataError(f"{file}: not a readable Arrow file ({_one_line(exc)})") from None

    return _Batches(schema, read)


def _json(path: Path, records: Callable[[], Iterator[dict]]) -> _Batches:
    """Record batches of at most :data:`BATCH_ROWS` of a JSON file's objects (``records``
    gives them afresh, in order, at each call). The schema is the first batch's (every
    field found there, in the order first seen); its types are the ones later batches are
    held to (see :func:`_json_column`). A field that forms no column (a list of numbers
    and text) is text in the schema, and an error only when it is read."""
    first: list[pa.Schema] = []

    def head() -> pa.Schema:
        if not first:
            chunk = _take(records(), BATCH_ROWS)
            fields = []
            for name in dict.fromkeys(k for record in chunk for k in record):
                try:
                    kind = _json_column([r.get(name) for r in chunk], None, path).type
                except DataError:
                    kind = pa.string()  # the error is the read's, should this field be asked for
                fields.append(pa.field(name, kind))
            first.append(pa.schema(fields))
        return first[0]

    def read(columns: list[str]) -> Iterator[pa.RecordBatch]:
        types = {f.name: f.type for f in head()}
        top = list(dict.fromkeys(c.split(".")[0] for c in columns if c.split(".")[0] in types))
        source = records()
        try:
            while chunk := _take(source, BATCH_ROWS, close=False):
                yield _json_batch(chunk, top, types, path)
        finally:
            source.close()

    return _Batches(head, read)


def _take(source: Iterator[dict], n: int, close: bool = True) -> list[dict]:
    """The next ``n`` (or fewer) records of ``source``; the source closed after them unless
    told not to (its file is then closed at once)."""
    try:
        return list(itertools.islice(source, n))
    finally:
        if close:
            source.close()  # type: ignore[attr-defined]


def _json_batch(records: list[dict], names: list[str], types: dict, path: Path) -> pa.RecordBatch:
    arrays = [_json_column([r.get(name) for r in records], types.get(name), path) for name in names]
    return pa.RecordBatch.from_arrays(arrays, names=names)


_PLAIN = (str, dict, list, type(None))


def _json_column(values: list, like: pa.DataType | None, path: Path) -> pa.Array:
    """One field of a batch of JSON records as an Arrow array: its own type where pyarrow
    finds one and it is ``like`` (the first batch's type, when there is one); otherwise
    its numbers and other scalars made text (a field of several types across the rows)."""
    try:
        array = pa.array(values)
        if like is None or array.type == like or pa.types.is_null(array.type) or pa.types.is_null(like):
            return array
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    fixed = [v if isinstance(v, _PLAIN) else str(v) for v in values]
    try:
        return pa.array(fixed)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        error = _one_line(exc)
    # a field that is a chat on some rows and plain text on others (hand-made sets mix
    # them): each chat read as its last user turn, so the field is text throughout
    as_text = [_chat_text(v) if isinstance(v, list) else v for v in fixed]
    if all(v is None or isinstance(v, str) for v in as_text):
        return pa.array(as_text, pa.string())
    raise DataError(f"{path}: the JSON records do not form one table ({error})") from None


def _chat_text(messages: list) -> str | None:
    """A chat given as a JSON list of messages, as its last user turn's text (None when
    the list is no chat)."""
    for speaker, text in CHAT_FIELDS:
        if messages and all(isinstance(m, dict) and speaker in m and text in m for m in messages):
            return _last_user_turn(messages, speaker, text)
    return None


def _json_lines_records(path: Path) -> Iterator[dict]:
    """The objects of a JSON lines file, one line at a time (blank lines skipped)."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"{path}: not readable as JSON lines (line {number}: {_one_line(exc)})"
                    ) from None
                if not isinstance(record, dict):
                    raise DataError(f"{path}: line {number} is not a JSON object")
                yield record
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not readable as JSON lines ({_one_line(exc)})") from None


JSON_CHUNK = 1 << 20  # characters of a JSON array read at a time
_JSON_SPACE = re.compile(r"[ \t\r\n]*")


def _json_array_records(path: Path) -> Iterator[dict]:
    """The objects of a JSON array, one at a time, in bounded memory: the text is read
    :data:`JSON_CHUNK` characters at a time and each value decoded where it starts by the
    ``json`` module's decoder (``raw_decode``); a value that the end of the text read so
    far cuts is decoded again once more is read. Every value must be an object."""
    decode = json.JSONDecoder().raw_decode

    def bad(message: str) -> DataError:
        return DataError(f"{path}: not readable as a JSON array ({message})")

    try:
        with open(path, encoding="utf-8-sig") as fh:
            text, at, dropped, count = "", 0, 0, 0

            def more() -> bool:
                """Read on (at least as much again as is left unread); False at the end."""
                nonlocal text, at, dropped
                chunk = fh.read(max(JSON_CHUNK, len(text) - at))
                if not chunk:
                    return False
                text, dropped, at = text[at:] + chunk, dropped + at, 0
                return True

            def next_char() -> str:
                """The next character that is not white space ("" at the end), not consumed."""
                nonlocal at
                while True:
                    at = _JSON_SPACE.match(text, at).end()
                    if at < len(text):
                        return text[at]
                    if not more():
                        return ""

            if next_char() != "[":
                raise bad("it does not start with [")
            at += 1
            if next_char() == "]":
                at += 1
            else:
                while True:
                    next_char()
                    while True:
                        try:
                            value, at = decode(text, at)
                            break
                        except json.JSONDecodeError as exc:
                            if not more():
                                raise bad(f"{exc.msg} at character {dropped + exc.pos}") from None
                    if not isinstance(value, dict):
                        raise DataError(
                            f"{path}: a JSON array of objects was expected (one object per problem)"
                        )
                    count += 1
                    yield value
                    sep = next_char()
                    at += 1
                    if sep == "]":
                        break
                    if sep != ",":
                        raise bad(f"expected ',' or ']' at character {dropped + at - 1}")
            if next_char():
                raise bad(f"extra data at character {dropped + at}")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(_one_line(exc)) from None
    if not count:
        raise DataError(f"{path}: the training set holds no problem (an empty JSON array)")


def _datasets_folder(path: Path) -> Iterator[tuple[str, _Batches]]:
    """The splits of a ``DatasetDict`` folder, or the one ``Dataset`` folder."""
    index = path / "dataset_dict.json"
    if index.is_file():
        try:
            splits = json.loads(index.read_text())["splits"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{index}: not a datasets split list ({_one_line(exc)})") from None
        for split in splits:
            yield str(split), _dataset(path / str(split))
        return
    yield "", _dataset(path)


def _dataset(folder: Path) -> _Batches:
    """The Arrow stream files of one ``Dataset`` folder, in the order its state.json lists them."""
    state = folder / "state.json"
    try:
        files = [folder / f["filename"] for f in json.loads(state.read_text())["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{state}: not a datasets folder's state ({_one_line(exc)})") from None
    missing = [f.name for f in files if not f.is_file()]
    if missing or not files:
        raise DataError(f"{folder}: data file(s) missing: {', '.join(missing) or 'none listed'}")
    return _arrow(files, file_format=False)


# ------------------------------------------------------------------ columns


def _field_type(schema: pa.Schema, column: str) -> pa.DataType | None:
    """The type of a column, or of a struct column's field (``reward_model.ground_truth``)."""
    if column in schema.names:
        return schema.field(column).type
    head, _, rest = column.partition(".")
    if not rest or head not in schema.names:
        return None
    kind = schema.field(head).type
    for part in rest.split("."):
        if not pa.types.is_struct(kind) or kind.get_field_index(part) < 0:
            return None
        kind = kind.field(part).type
    return kind


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or str(kind) == "string_view"


# the (speaker, text) fields of a chat message: OpenAI's, and ShareGPT's
CHAT_FIELDS = (("role", "content"), ("from", "value"))


def _chat_fields(kind: pa.DataType) -> tuple[str, str] | None:
    """The (speaker, text) field names of a column of chats; None when it is not one."""
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        return None
    item = kind.value_type
    if not pa.types.is_struct(item):
        return None
    for speaker, text in CHAT_FIELDS:
        has_both = item.get_field_index(speaker) >= 0 and item.get_field_index(text) >= 0
        if has_both and _is_text(item.field(text).type):
            return speaker, text
    return None


def _is_chat(kind: pa.DataType) -> bool:
    return _chat_fields(kind) is not None


def _check_column(schema: pa.Schema, column: str, where: str, chat: bool) -> None:
    kind = _field_type(schema, column)
    if kind is None:
        raise DataError(f"{where}: no column {column!r} (columns: {', '.join(schema.names)})")
    if _is_text(kind) or (chat and _is_chat(kind)):
        return
    if not chat and (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        return  # a numeric answer (or id), read as text
    if pa.types.is_null(kind):
        if not chat:
            return  # an answer column with no answer in it: no answers to compare
        raise DataError(f"{where}: column {column!r} holds no values (all null)")
    wanted = "text or a chat (a list of {role, content} messages)" if chat else "text"
    raise DataError(f"{where}: column {column!r} holds {kind}, not {wanted}")


def _column(batch: pa.RecordBatch, column: str) -> pa.Array:
    if column in batch.schema.names:
        return batch.column(column)
    head, _, rest = column.partition(".")
    array = batch.column(head)
    for part in rest.split("."):
        array = array.field(part)
    return array


def _texts(batch: pa.RecordBatch, column: str) -> list[str | None]:
    array = _column(batch, column)
    fields = _chat_fields(array.type)
    if fields:
        return [_last_user_turn(messages, *fields) for messages in array.to_pylist()]
    return array.to_pylist()


def _last_user_turn(messages: list[dict] | None, speaker: str, text: str) -> str | None:
    """The text of the last message whose speaker is ``user`` (or ``human``)."""
    for message in reversed(messages or []):
        if message and str(message.get(speaker, "")).lower() in ("user", "human"):
            return message.get(text)
    return None


def _strings(batch: pa.RecordBatch, column: str) -> list[str | None]:
    """An answer or id column as text (numbers too); None for an empty cell."""
    values = _column(batch, column).to_pylist()  # a null column gives Nones
    return [None if v is None or str(v).strip() == "" else str(v) for v in values]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
