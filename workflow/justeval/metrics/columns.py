"""The metric interface: a group of metrics columns, declared once, with its code.

A :class:`Metric` holds its columns (name, Arrow type, one-line description) and
the function that computes their values; ``justeval.metrics.scores.METRICS`` lists
the groups in column order, and both the metrics row and the Parquet schema of the
metrics files are derived from that one list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str  # with "{k}" (e.g. "pass@{k}"): one column per k value
    type: pa.DataType
    doc: str  # what the column holds, one line

    def names(self, ks: Sequence[int]) -> list[str]:
        return [self.name.format(k=k) for k in ks] if "{k}" in self.name else [self.name]


@dataclass(frozen=True)
class Metric:
    """A group of columns and ``compute(samples) -> {column: value}`` in column order."""

    columns: tuple[Column, ...]
    compute: Callable[[Any], dict[str, Any]]
    majority: bool  # needs an answer equivalence (maj@k): left out without one

    def fields(self, ks: Sequence[int]) -> list[tuple[str, pa.DataType]]:
        return [(name, column.type) for column in self.columns for name in column.names(ks)]

    def names(self, ks: Sequence[int]) -> list[str]:
        return [name for name, _ in self.fields(ks)]


def metric(*columns: Column, majority: bool = False) -> Callable[[Callable[[Any], dict[str, Any]]], Metric]:
    """Declare the decorated function as the code of these columns."""

    def declare(compute: Callable[[Any], dict[str, Any]]) -> Metric:
        return Metric(columns, compute, majority)

    return declare


def schema(metrics: Sequence[Metric], ks: Sequence[int], majority: bool) -> pa.Schema:
    """The columns of ``metrics`` in order (without the majority groups unless ``majority``)."""
    return pa.schema([field for m in metrics if majority or not m.majority for field in m.fields(ks)])
