"""Atomic Parquet writes with provenance metadata, and checked reads."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .hashing import canonical_json

METADATA_KEY = b"justeval"


class DataError(ValueError):
    """Bad input data; the message names the file, row and column."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary sibling of ``path`` to write; renamed over ``path`` when the
    block completes, removed if it raises, so ``path`` is never half-written.

    The file gets the permissions the user's umask gives any new file (mkstemp
    alone would leave it readable by its owner only, which hides results from
    the rest of a group on a shared cluster)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    missing = [f.name for f in schema if f.name not in frame.columns]
    if missing:
        raise ValueError(f"internal: columns {missing} missing for schema")
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


def write_parquet(
    frame: pd.DataFrame | pa.Table,
    path: str | Path,
    schema: pa.Schema | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write ``frame`` to ``path`` atomically (temp file, then rename).

    The metadata dict is stored as JSON under the key ``justeval``, with the
    provenance record (versions, config hash, git commit) added, and nothing
    time-dependent is written, so equal inputs give byte-identical files.
    """
    from .provenance import record

    metadata = {**(metadata or {}), "provenance": record()}
    if isinstance(frame, pd.DataFrame):
        table = (
            to_table(frame, schema)
            if schema is not None
            else pa.Table.from_pandas(frame, preserve_index=False)
        )
    else:
        table = frame.cast(schema) if schema is not None else frame
    table = table.replace_schema_metadata({METADATA_KEY: canonical_json(metadata)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_metadata(path: str | Path) -> dict:
    raw = pq.read_schema(path).metadata or {}
    return json.loads(raw.get(METADATA_KEY, b"{}"))


def read_parquet(path: str | Path, schema: pa.Schema | None = None) -> pd.DataFrame:
    """Read a pipeline file, checking that it has the expected columns."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    if schema is not None:
        missing = [n for n in schema.names if n not in table.column_names]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(map(repr, missing))}")
    return table.to_pandas()
