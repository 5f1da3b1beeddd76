"""The readers by format name, which format a file is, and reading one or several files.

Detection (:func:`detect`) reads a file's schema or first records only (:func:`~justeval.
sources.released.common.peek`) and asks each format, in :data:`DETECTION_ORDER`, whether it
recognises them; the first that does is the file's format. Each format asks for fields that
only it writes, so a file of one harness matches that harness's rule alone; where a file
could match two (a JSON-lines file carrying both another harness's fields and its own), the
order decides, and it puts first the formats whose fields are the most specific:

1. ``lighteval``: a Parquet file with ``predictions`` and ``example``/``full_prompt``, or
   ``doc`` and ``model_response``;
2. ``matharena``: a JSON object with ``gold_answer``, ``answers``/``correct`` and
   ``messages``/``responses``/``problem``/``idx``;
3. ``skythought``: a JSON object of records with ``responses`` and ``token_usages``/
   ``prompt``/``input_conversation``;
4. ``opencompass``: records (entries of a JSON object, or JSON lines) with ``origin_prompt``
   and ``prediction``;
5. ``lm_eval``: records with ``doc_id``, ``resps``/``filtered_resps`` and ``doc``/
   ``arguments``/``target``;
6. ``nemo_skills``: records with ``generation`` and ``expected_answer``/``predicted_answer``/
   ``symbolic_correct``;
7. ``verl``: records with ``input``, ``output`` and ``score``;
8. ``qwen``: records with ``code`` and ``question``/``gt``;
9. ``justrl``: records with ``example_id`` and ``response``.

``generic`` is never detected: its columns must be named. A file no rule recognises is an
error that names its fields and the formats tried.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd

from justeval.io.parquet import DataError
from justeval.sources.released import (
    generic,
    justrl,
    lighteval,
    lm_eval,
    matharena,
    nemo_skills,
    opencompass,
    qwen,
    skythought,
    verl,
)
from justeval.sources.released.common import Released, peek, problem_key, rows_frame

_MODULES = (lighteval, skythought, nemo_skills, lm_eval, opencompass, verl, matharena, justrl, qwen, generic)
READERS = {module.FORMAT: module for module in _MODULES}
FORMATS = tuple(READERS)
DETECTION_ORDER = (
    "lighteval",
    "matharena",
    "skythought",
    "opencompass",
    "lm_eval",
    "nemo_skills",
    "verl",
    "qwen",
    "justrl",
)


def detect(path) -> str:
    """The format of a released file, from its schema or first records (see the module's
    docstring for the rules and their order)."""
    shape = peek(path)
    for fmt in DETECTION_ORDER:
        if READERS[fmt].recognises(shape):
            return fmt
    raise DataError(
        f"{path}: unknown format: {shape.describe()}; tried {', '.join(DETECTION_ORDER)} "
        f"(for another layout, read it as 'generic' and name its fields)"
    )


def _check_options(fmt: str, options: dict, path) -> None:
    params = inspect.signature(READERS[fmt].read).parameters
    takes = list(params)[1:]
    unknown = [name for name in options if name not in takes]
    if unknown:
        raise DataError(
            f"{path}: format {fmt!r} takes no option {unknown[0]!r} "
            f"({'it takes ' + ', '.join(takes) if takes else 'it takes none'})"
        )


def read_released(path, fmt: str | None = None, **options) -> Released:
    """A released file read into the uniform table; its format detected unless named.
    ``options`` are the format's own (see each reader's ``read``)."""
    if fmt is None:
        fmt = detect(path)
    elif fmt not in READERS:
        raise DataError(f"{path}: unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    _check_options(fmt, options, path)
    return READERS[fmt].read(path, **options)


def read_many(paths, fmt: str | None = None, **options) -> Released:
    """Several files of one run read as one (NeMo-Skills' one file per seed, MathArena's one
    file per problem, OpenCompass's split predictions): the rows of each file in the order
    given, with a ``source_file`` column added; a problem's samples are numbered anew across
    the files, in that order. Every file must be of one format (detected from the first
    unless named)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise DataError("no files to read")
    fmt = fmt or detect(paths[0])
    parts, notes, aggregates = [], [], []
    for path in paths:
        released = read_released(path, fmt, **options)
        parts.append(released.rows.assign(source_file=str(path)))
        notes += [f"{path.name}: {note}" for note in released.notes]
        if released.aggregate:
            aggregates.append({"file": str(path), **released.aggregate})
    rows = pd.concat(parts, ignore_index=True)
    counts: dict[tuple, int] = {}
    numbers = []
    columns = (rows["source_id"], rows["problem"], rows["source_row"], rows["source_file"])
    for sid, problem, row, file in zip(*columns, strict=True):
        key = problem_key(sid, problem, (file, row))
        numbers.append(counts.get(key, 0))
        counts[key] = counts.get(key, 0) + 1
    rows = rows.assign(sample_idx=numbers)
    source_file = rows.pop("source_file")
    frame = rows_frame(rows.to_dict("records")).assign(source_file=source_file.values)
    aggregate = {"files": aggregates} if aggregates else None
    return Released(frame, fmt, aggregate=aggregate, notes=notes)


def carries_verdicts(paths, fmt: str, options: dict, cache: str | Path) -> tuple[bool, str]:
    """(whether the files give every sample a verdict of their own, why not), read once
    and cached in ``cache`` (a JSON file) by the files' paths, sizes and mtimes, the format
    and the options."""
    import json

    from justeval.io.parquet import write_text_atomic

    paths = [Path(p) for p in paths]
    key = {
        "files": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths],
        "format": fmt,
        "options": options,
    }
    cache = Path(cache)
    try:
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return bool(saved["ok"]), saved["why"]
    except (OSError, ValueError, KeyError):
        pass
    rows = read_many(paths, fmt, **options).rows
    missing = rows["provided_correct"].isna()
    ok = not missing.any() and len(rows) > 0
    why = (
        ""
        if ok
        else f"{paths[0]}: {int(missing.sum())} of {len(rows)} samples carry no verdict of the file's own"
    )
    write_text_atomic(cache, json.dumps({"key": key, "ok": ok, "why": why}, sort_keys=True))
    return ok, why
