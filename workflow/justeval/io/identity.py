"""Which model, benchmark and grading variant a pipeline file is of: said in its
metadata by the stage that writes it, read from there by every stage after."""

from __future__ import annotations

from pathlib import Path

from justeval.io.parquet import DataError, read_metadata


def identity(model: str, benchmark: str, variant: str | None = None) -> dict:
    """The metadata entry saying which model, benchmark and grading variant a file is of."""
    out = {"model": model, "benchmark": benchmark}
    return out if variant is None else {**out, "variant": variant}


def variant_identity(path: str | Path, variant: str) -> dict:
    """The identity of a file made from ``path`` (generations) for grading ``variant``."""
    return identity(**{**file_identity(path), "variant": variant})


def file_identity(path: str | Path) -> dict:
    """The model, benchmark (and variant) a pipeline file belongs to, from its metadata."""
    found = read_metadata(path).get("identity")
    if not found:
        raise DataError(
            f"{path}: its metadata names no model and benchmark (`identity`); rerun the stage that wrote it"
        )
    return found
