"""Training sets: the problems (and answers, where a set has them) of a user's RL
training data, for the overlap stage to compare the benchmarks with.

Formats, told apart by their content (not their names):

Parquet
    read with ``pyarrow.parquet``, one record batch at a time, only the columns asked for;
JSON lines
    one object per line, read with ``pyarrow.json``;
JSON array
    ``[{...}, {...}]`` (as LIMR publishes its sets), read with the ``json`` module and
    made a table by pyarrow;
Arrow
    one Arrow IPC file (stream or file format), read with ``pyarrow.ipc``;
Hugging Face ``datasets`` folder
    what ``Dataset.save_to_disk`` writes (``state.json``, ``dataset_info.json`` and
    ``data-0000k-of-0000N.arrow`` files in Arrow IPC *stream* format), read with
    ``pyarrow.ipc.open_stream`` one record batch at a time; or what
    ``DatasetDict.save_to_disk`` writes (``dataset_dict.json`` naming the splits, one
    such folder per split): every split is read, its rows' ids are ``<split>:<row>``.
    The ``datasets`` library is not needed.

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

import json
from collections.abc import Iterator
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


def read_training_set(
    path: str | Path, column: str, answer_column: str | None = None, id_column: str | None = None
) -> list[TrainingRow]:
    """The rows of a training set (see the module docstring for the formats). Rows whose
    problem cell is empty are left out; a set with no row left is an error."""
    path = Path(path).expanduser()
    kind = detect_format(path)
    wanted = [c for c in (column, answer_column, id_column) if c]
    rows: list[TrainingRow] = []
    for split, batches in _sources(path, kind):
        where = f"{path}" + (f" (split {split})" if split else "")
        schema = batches.schema
        _check_column(schema, column, where, chat=True)
        for other in (answer_column, id_column):
            if other:
                _check_column(schema, other, where, chat=False)
        row = 0
        for batch in batches(wanted):
            texts = _texts(batch, column)
            answers = _strings(batch, answer_column) if answer_column else [None] * len(texts)
            ids = _strings(batch, id_column) if id_column else [None] * len(texts)
            for text, answer, ident in zip(texts, answers, ids, strict=True):
                if text and text.strip():
                    default = f"{split}:{row}" if split else str(row)
                    rows.append(TrainingRow(ident if ident is not None else default, row, text, answer))
                row += 1
    if not rows:
        raise DataError(f"{path}: the training set holds no problem (0 rows, or column {column!r} is empty)")
    return rows


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
        yield "", _table(path, lambda: _read_jsonl(path))
    else:
        yield "", _table(path, lambda: _read_json_array(path))


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
                    for i in range(reader.num_record_batches):
                        yield reader.get_batch(i)
                else:
                    yield from reader
            except (OSError, pa.ArrowInvalid) as exc:
                raise DataError(f"{file}: not a readable Arrow file ({_one_line(exc)})") from None

    return _Batches(schema, read)


def _table(path: Path, load) -> _Batches:
    cache: list[pa.Table] = []

    def table() -> pa.Table:
        if not cache:
            cache.append(load())
        return cache[0]

    return _Batches(lambda: table().schema, lambda columns: iter(table().to_batches(BATCH_ROWS)))


def _read_jsonl(path: Path) -> pa.Table:
    """pyarrow's JSON reader; when a column's type changes from row to row (an answer
    that is 5 in one row and "\\frac{1}{2}" in another), the lines are read one by one
    and such values made text."""
    import pyarrow.json as pj

    try:
        return pj.read_json(path, read_options=pj.ReadOptions(block_size=1 << 24))
    except (OSError, pa.ArrowInvalid) as exc:
        first_error = _one_line(exc)
    records = []
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise DataError(f"{path}: not readable as JSON lines ({first_error})") from None
            if not isinstance(records[-1], dict):
                raise DataError(f"{path}: line {number} is not a JSON object")
    return _records_table(records, path, first_error)


def _read_json_array(path: Path) -> pa.Table:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            records = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not readable as a JSON array ({_one_line(exc)})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DataError(f"{path}: a JSON array of objects was expected (one object per problem)")
    if not records:
        raise DataError(f"{path}: the training set holds no problem (an empty JSON array)")
    return _records_table(records, path)


def _records_table(records: list[dict], path: Path, error: str = "") -> pa.Table:
    """JSON records as a table; a field whose values are of several scalar types is
    made text."""
    try:
        return pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        error = error or _one_line(exc)
    plain = (str, dict, list, type(None))
    fixed = [{k: v if isinstance(v, plain) else str(v) for k, v in r.items()} for r in records]
    try:
        return pa.Table.from_pylist(fixed)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise DataError(f"{path}: the JSON records do not form one table ({error})") from None


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
