"""Compare two result folders of a pipeline run (say, one made before a refactor and
one after) and show that they hold the same rows and the same settings.

    python tests/compare_results.py BEFORE_DIR AFTER_DIR [--ignore-key KEY ...]

Each DIR is a project root (holding ``results/`` and ``data/benchmarks/``) or a
results folder itself: if ``DIR/results`` exists, ``DIR/results`` and
``DIR/data/benchmarks`` are compared, else ``DIR`` as it is.

What is compared:

* every ``*.parquet`` file (by path relative to its folder): files found on one side
  only; the schema (column names, types, nullability, in order); the rows, in order
  (``pyarrow.Table.equals``, with NaN equal to NaN in the same place), reporting
  the first differing column and row with both values; the justeval metadata (the
  JSON under the schema-metadata key ``b"justeval"``, see
  ``justeval.io.parquet.write_parquet``: the stage's metadata plus a
  ``"provenance"`` record of versions, config hash and git commit), key by key,
  except the keys listed in ``DEFAULT_IGNORED`` and those given with ``--ignore-key``;
* every ``metrics.json`` (the same JSON comparison);
* every CSV/Markdown/LaTeX table in a ``tables/`` folder, as text (the first
  differing line is reported).

The summary names each difference; the exit status is 0 when there is none, 1
otherwise (2 for a usage error). Importable: :func:`compare` returns a
:class:`Report`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

METADATA_KEY = b"justeval"  # justeval.io.parquet.METADATA_KEY

# Ignored by default, each with its reason. A key is matched by name, at any depth of
# the JSON (so a benchmark's metadata nested in a later stage's is covered too).
DEFAULT_IGNORED: dict[str, str] = {
    "git_commit": "the provenance record's commit (`git describe --dirty`): a before and an "
    "after checkout differ in it by design; matched as any key whose name contains "
    "'git_commit'",
}

# Timing-like fields: none exist. write_parquet documents that "nothing time-dependent
# is written" (the provenance record holds versions, the config hash and the commit,
# no timestamps), and the metadata of every file of a real smoke run was checked: no
# created-at, elapsed or host field. The one such field the pipeline writes, "host",
# is in results/provenance.json, which is not compared (see SKIPPED_FILES).
TIMING_KEYS: dict[str, str] = {}

# Files not compared, with the reason.
SKIPPED_FILES: dict[str, str] = {
    "provenance.json": "results/provenance.json records software versions, the commit and the host",
}

# Schema-metadata keys other than b"justeval" (b"pandas", written by pyarrow when a
# table comes from a DataFrame, records the pandas version and index layout) are not
# compared: how a table was built is no part of what it holds; names and types are.

TABLE_SUFFIXES = (".csv", ".md", ".tex")
MAX_JSON_DIFFS = 20  # per file, then "... and N more"
MAX_VALUE_CHARS = 200
SLICE = 4096  # rows per slice when looking for the first differing row


@dataclass(frozen=True)
class Difference:
    path: str  # the file, relative to the compared roots ("results/...", "data/benchmarks/...")
    kind: str  # "only-before", "only-after", "unreadable", "schema", "rows", "metadata", "json", "text"
    detail: str
    column: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


@dataclass
class Report:
    compared: int = 0  # files present on both sides
    identical: int = 0
    differences: list[Difference] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences

    def for_file(self, path: str) -> list[Difference]:
        return [d for d in self.differences if d.path == path]

    def summary(self) -> str:
        only = sum(d.kind.startswith("only-") for d in self.differences)
        differing = len({d.path for d in self.differences if not d.kind.startswith("only-")})
        lines = [
            f"{self.compared} files compared: {self.identical} identical, {differing} different"
            + (f"; {only} file(s) on one side only" if only else ""),
            "ignored keys:" + ("" if self.ignored else " none"),
            *(f"  {k}: {v}" for k, v in sorted(self.ignored.items())),
        ]
        if self.differences:
            lines.append(f"{len(self.differences)} difference(s):")
            lines.extend(f"  {d}" for d in self.differences)
        else:
            lines.append("no differences")
        return "\n".join(lines)


# ---------------------------------------------------------------- folders


def roots(directory: Path) -> dict[str, Path]:
    """The folders to compare under ``directory``, by the label that prefixes their files."""
    if (directory / "results").is_dir():
        return {"results": directory / "results", "data/benchmarks": directory / "data" / "benchmarks"}
    return {"": directory}


def _paired_roots(before: Path, after: Path) -> list[tuple[str, Path, Path]]:
    b, a = roots(before), roots(after)
    if b.keys() != a.keys():  # a project root against a results folder: compare results/ with it
        b = {"": b.get("results", before)}
        a = {"": a.get("results", after)}
    return [(label, b[label], a[label]) for label in b]


def _files(root: Path, wanted: Callable[[Path], bool]) -> dict[str, Path]:
    """The files under ``root`` that ``wanted`` (given their path relative to it) accepts."""
    if not root.is_dir():
        return {}
    found = {p.relative_to(root): p for p in root.rglob("*") if p.is_file()}
    return {rel.as_posix(): p for rel, p in found.items() if wanted(rel)}


def _is_parquet(p: Path) -> bool:
    return p.suffix == ".parquet"


def _is_metrics_json(p: Path) -> bool:
    return p.name == "metrics.json"


def _is_table(p: Path) -> bool:
    return p.suffix in TABLE_SUFFIXES and "tables" in p.parent.parts


# ---------------------------------------------------------------- values


def _same(a: Any, b: Any) -> bool:
    """Equality with NaN equal to NaN, for Python values from Arrow or JSON. Types must
    match too: 1 and 1.0 (or True) differ, as they do in the canonical JSON that
    settings hashes are taken of."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


# ---------------------------------------------------------------- Parquet


def _schema_differences(path: str, before: pa.Schema, after: pa.Schema) -> list[Difference]:
    out = []
    b_names, a_names = before.names, after.names
    gone = [n for n in b_names if n not in a_names]
    new = [n for n in a_names if n not in b_names]
    if gone:
        out.append(Difference(path, "schema", f"column(s) only before: {gone}"))
    if new:
        out.append(Difference(path, "schema", f"column(s) only after: {new}"))
    common = [n for n in b_names if n in a_names]
    if not gone and not new and b_names != a_names:
        out.append(Difference(path, "schema", f"column order: {b_names} -> {a_names}"))
    for name in common:
        fb, fa = before.field(name), after.field(name)
        if fb.type != fa.type:
            out.append(Difference(path, "schema", f"column {name!r}: type {fb.type} -> {fa.type}", name))
        elif fb.nullable != fa.nullable:
            out.append(
                Difference(path, "schema", f"column {name!r}: nullable {fb.nullable} -> {fa.nullable}", name)
            )
    return out


def _first_difference(before: pa.ChunkedArray, after: pa.ChunkedArray) -> tuple[int, Any, Any, int] | None:
    """(first row, its two values, number of differing rows) over the common length;
    None if the columns are equal there (NaN equal to NaN)."""
    n = min(len(before), len(after))
    first = None
    count = 0
    for start in range(0, n, SLICE):
        b, a = before.slice(start, SLICE), after.slice(start, SLICE)
        if b.equals(a):
            continue
        for i, (x, y) in enumerate(zip(b.to_pylist(), a.to_pylist(), strict=False)):  # over min length
            if not _same(x, y):
                count += 1
                if first is None:
                    first = (start + i, x, y)
    return None if first is None else (*first, count)


def _row_differences(path: str, before: pa.Table, after: pa.Table) -> list[Difference]:
    if before.schema.equals(after.schema) and before.equals(after):
        return []
    out = []
    if before.num_rows != after.num_rows:
        out.append(Difference(path, "rows", f"{before.num_rows} rows -> {after.num_rows} rows"))
    differing = []
    for name in before.column_names:
        if name not in after.column_names or before.schema.field(name).type != after.schema.field(name).type:
            continue  # reported as a schema difference
        found = _first_difference(before.column(name), after.column(name))
        if found is not None:
            differing.append((name, *found))
    if differing:
        name, row, x, y, count = min(differing, key=lambda d: d[1])  # the first row that differs
        others = [d[0] for d in differing if d[0] != name]
        detail = f"column {name!r}, row {row}: {_show(x)} -> {_show(y)} ({count} row(s) differ in it)"
        if others:
            detail += f"; other column(s) differing: {others}"
        out.append(Difference(path, "rows", detail, name, row))
    return out


def _justeval_metadata(schema: pa.Schema) -> dict | None:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    return None if raw is None else json.loads(raw)


def compare_parquet(path: str, before: Path, after: Path, ignore: Callable[[str], bool]) -> list[Difference]:
    tables = []
    for side, file in (("before", before), ("after", after)):
        try:
            tables.append(pq.read_table(file))
        except (OSError, pa.ArrowException) as exc:
            return [Difference(path, "unreadable", f"{side}: {file}: {exc}")]
    tb, ta = tables
    out = _schema_differences(path, tb.schema, ta.schema)
    out += _row_differences(path, tb, ta)
    mb, ma = _justeval_metadata(tb.schema), _justeval_metadata(ta.schema)
    if mb is None or ma is None:
        if (mb is None) != (ma is None):
            missing = "before" if mb is None else "after"
            out.append(Difference(path, "metadata", f"no {METADATA_KEY!r} metadata {missing}"))
    else:
        out += [Difference(path, "metadata", d) for d in json_differences(mb, ma, ignore)]
    return out


# ---------------------------------------------------------------- JSON and text


def _json_diffs(a: Any, b: Any, where: str, ignore: Callable[[str], bool]) -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys(), key=str):
            if ignore(str(key)):
                continue
            sub = f"{where}.{key}" if where else str(key)
            if key not in b:
                yield f"{sub}: only before ({_show(a[key])})"
            elif key not in a:
                yield f"{sub}: only after ({_show(b[key])})"
            else:
                yield from _json_diffs(a[key], b[key], sub, ignore)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _json_diffs(x, y, f"{where}[{i}]", ignore)
    elif not _same(a, b):
        yield f"{where or '(top level)'}: {_show(a)} -> {_show(b)}"


def json_differences(before: Any, after: Any, ignore: Callable[[str], bool]) -> list[str]:
    """Key paths whose values differ (``settings.version: 'a' -> 'b'``), ignored keys left out."""
    found = list(_json_diffs(before, after, "", ignore))
    if len(found) > MAX_JSON_DIFFS:
        found = [*found[:MAX_JSON_DIFFS], f"... and {len(found) - MAX_JSON_DIFFS} more"]
    return found


def compare_json(path: str, before: Path, after: Path, ignore: Callable[[str], bool]) -> list[Difference]:
    values = []
    for side, file in (("before", before), ("after", after)):
        try:
            values.append(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            return [Difference(path, "unreadable", f"{side}: {file}: {exc}")]
    return [Difference(path, "json", d) for d in json_differences(*values, ignore)]


def compare_text(path: str, before: Path, after: Path) -> list[Difference]:
    b, a = before.read_bytes(), after.read_bytes()
    if b == a:
        return []
    bl, al = b.decode("utf-8", "replace").splitlines(), a.decode("utf-8", "replace").splitlines()
    for i, (x, y) in enumerate(zip(bl, al, strict=False)):
        if x != y:
            return [Difference(path, "text", f"line {i + 1}: {_show(x)} -> {_show(y)}", row=i + 1)]
    if len(bl) != len(al):
        i = min(len(bl), len(al))
        extra = bl[i] if len(bl) > i else al[i]
        side = "before" if len(bl) > i else "after"
        return [
            Difference(
                path,
                "text",
                f"{len(bl)} -> {len(al)} lines; line {i + 1} only {side}: {_show(extra)}",
                row=i + 1,
            )
        ]
    return [Difference(path, "text", "the bytes differ (line endings or a final newline)")]


# ---------------------------------------------------------------- the comparison


def _ignorer(keys: Iterable[str]) -> Callable[[str], bool]:
    names = set(keys) | set(TIMING_KEYS)
    return lambda key: "git_commit" in key or key in names


def compare(before: str | Path, after: str | Path, ignore_keys: Iterable[str] = ()) -> Report:
    """Compare the result folders ``before`` and ``after`` (see the module's docstring)."""
    ignore_keys = list(ignore_keys)
    report = Report(ignored={**DEFAULT_IGNORED, **TIMING_KEYS, **dict.fromkeys(ignore_keys, "--ignore-key")})
    ignore = _ignorer(ignore_keys)
    kinds: list[tuple[Callable[[Path], bool], Callable[[str, Path, Path], list[Difference]]]] = [
        (_is_parquet, lambda p, b, a: compare_parquet(p, b, a, ignore)),
        (_is_metrics_json, lambda p, b, a: compare_json(p, b, a, ignore)),
        (_is_table, compare_text),
    ]
    for label, root_b, root_a in _paired_roots(Path(before), Path(after)):
        for wanted, check in kinds:
            files_b, files_a = _files(root_b, wanted), _files(root_a, wanted)
            for rel in sorted(files_b.keys() | files_a.keys()):
                path = f"{label}/{rel}" if label else rel
                if Path(rel).name in SKIPPED_FILES:
                    continue
                if rel not in files_a:
                    report.differences.append(Difference(path, "only-before", f"no such file in {root_a}"))
                elif rel not in files_b:
                    report.differences.append(Difference(path, "only-after", f"no such file in {root_b}"))
                else:
                    report.compared += 1
                    found = check(path, files_b[rel], files_a[rel])
                    report.differences.extend(found)
                    report.identical += not found
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="project root or results folder made before")
    parser.add_argument("after", type=Path, help="project root or results folder made after")
    parser.add_argument(
        "--ignore-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a metadata/JSON key to leave out, by name, at any depth (repeatable), e.g. version",
    )
    args = parser.parse_args(argv)
    for directory in (args.before, args.after):
        if not directory.is_dir():
            parser.error(f"{directory}: not a folder")
    report = compare(args.before, args.after, args.ignore_key)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
