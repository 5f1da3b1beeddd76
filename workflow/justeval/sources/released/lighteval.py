"""lighteval ``--save-details`` files (``lighteval``).

``details/<model>/<date>/details_<task>_<date>.parquet``: one row per document. Two layouts:

up to lighteval 0.9
    one column per field of its ``Detail``: ``example`` (the query), ``full_prompt``,
    ``predictions`` (the list of the document's responses), ``gold`` (the list of golds),
    ``metrics`` (metric name to the document's value), ``specifics`` (for math tasks
    ``extracted_predictions`` and ``extracted_golds``), ``instruction``, ``choices``... When
    a row could not be stored as is, lighteval stored every value as its Python text
    (``"['...']"``): such values are read back.
from lighteval 0.10
    three columns: ``doc`` (the ``Doc``: ``query``, ``choices``, ``gold_index``, ``id``,
    ``specific``...), ``model_response`` (``text``: the responses, ``input``...) and
    ``metric`` (metric name to value).

``problem`` is the query as the task built it (often wrapped in the task's instructions);
``gold`` the first gold; ``source_id`` the doc's ``id`` where it has one. The per-sample
verdict is the metric's value when the document has one response and the value is 0 or 1
(``extractive_match``, ``math_pass@1:1_samples``...; name another with ``metric=``); with
several responses the metric is the document's (pass@k, maj@k) and no verdict is given.
The extracted answer is the matching ``extracted_predictions`` element.

Learnt from: huggingface/lighteval ``src/lighteval/logging/info_loggers.py``
(``DetailsLogger.Detail``, ``DetailsLogger.log``), ``src/lighteval/logging/
evaluation_tracker.py`` (``save``/``save_details``: the file name, the sorted columns, the
text fallback), ``src/lighteval/tasks/requests.py`` (``Doc``), ``src/lighteval/models/
model_output.py`` (``ModelResponse``) and ``docs/source/saving-and-reading-results.mdx``
(both layouts' columns). The released details files of gtxygyzb/Saturn-code
(``results/Results/Math_and_Programming/*/details/``, written in March and April 2025) are
most likely of the first layout; the search index holds them only as binary Parquet, and
they were not read (``../shared/real-outputs/saturn-r1-distill`` holds their responses,
converted to JustRL's format).
"""

from __future__ import annotations

import ast

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    check_file,
    gold_of,
    missing,
    response_of,
    short,
    text_of,
)

FORMAT = "lighteval"
# the metrics whose per-document value is a 0/1 verdict on one response, in the order one is
# taken when none is named (a metric name containing one of these)
METRICS = (
    "extractive_match",
    "math_pass@1",
    "pass@1",
    "exact_match",
    "quasi_exact_match",
    "qem",
    "em",
    "acc",
)


def recognises(shape: Shape) -> bool:
    f = shape.fields
    old = "predictions" in f and bool({"example", "full_prompt"} & f)
    return shape.container == "parquet" and (old or {"doc", "model_response"} <= f)


def _value(value, path, where, name):
    """A stored value, its Python text (the fallback lighteval uses) read back."""
    if isinstance(value, str) and value[:1] in ("[", "{", "("):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            if name in ("predictions", "metrics", "gold"):
                raise DataError(
                    f"{path}: {where}: column {name!r}: not a list or mapping: {short(value)}"
                ) from None
    return value


def _metric(metrics: dict, name: str | None) -> str | None:
    if not isinstance(metrics, dict) or not metrics:
        return None
    if name is not None:
        return name if name in metrics else None
    for wanted in METRICS:
        for key in metrics:
            if wanted in str(key) and isinstance(metrics[key], (bool, int, float)):
                return key
    return next(iter(metrics)) if len(metrics) == 1 else None


def _doc_gold(doc: dict, path, where) -> str | None:
    choices, index = doc.get("choices"), doc.get("gold_index")
    if isinstance(index, list):
        index = index[0] if index else None
    if isinstance(choices, list) and isinstance(index, int) and 0 <= index < len(choices):
        return gold_of(choices[index], path, where, "doc.choices[gold_index]")
    return None


def read(path, metric: str | None = None) -> Released:
    """``metric``: the metric the per-sample verdict is read from (default: see :data:`METRICS`)."""
    import pyarrow.parquet as pq

    path = check_file(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several kinds on a damaged file
        raise DataError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    columns = set(table.column_names)
    records = table.to_pylist()
    new = {"doc", "model_response"} <= columns
    if not new and "predictions" not in columns:
        raise DataError(f"{path}: not a lighteval details file (columns {', '.join(sorted(columns))})")
    rows, used, per_document, notes = Rows(path), set(), 0, []
    for row, rec in enumerate(records):
        where = f"row {row}"
        if new:
            doc = _value(rec.get("doc"), path, where, "doc") or {}
            response = _value(rec.get("model_response"), path, where, "model_response") or {}
            if not isinstance(doc, dict) or not isinstance(response, dict):
                raise DataError(f"{path}: {where}: columns 'doc' and 'model_response': expected records")
            predictions = response.get("text")
            metrics = _value(rec.get("metric"), path, where, "metric")
            problem = text_of(doc.get("query"), path, where, "doc.query")
            gold = _doc_gold(doc, path, where)
            source_id = text_of(doc.get("id"), path, where, "doc.id") or None
            specifics = doc.get("specific") or {}
        else:
            predictions = _value(rec.get("predictions"), path, where, "predictions")
            metrics = _value(rec.get("metrics"), path, where, "metrics")
            problem = text_of(rec.get("example"), path, where, "example") or text_of(
                rec.get("full_prompt"), path, where, "full_prompt"
            )
            gold = gold_of(_value(rec.get("gold"), path, where, "gold"), path, where, "gold")
            source_id = None
            specifics = _value(rec.get("specifics"), path, where, "specifics") or {}
        if isinstance(predictions, str):
            predictions = [predictions]
        if not isinstance(predictions, list) or not predictions:
            found = "nothing" if missing(predictions) else short(predictions)
            raise DataError(f"{path}: {where}: column {'model_response.text' if new else 'predictions'!r}: "
                            f"expected the list of responses, found {found}")  # fmt: skip
        name = _metric(metrics, metric)
        value = metrics.get(name) if name else None
        correct = None
        if len(predictions) == 1 and isinstance(value, (bool, int, float)) and value in (0, 1):
            correct = bool(value)
            used.add(name)
        elif name is not None and not missing(value):
            per_document += 1
        extracted = specifics.get("extracted_predictions") if isinstance(specifics, dict) else None
        if not isinstance(extracted, list) or len(extracted) != len(predictions):
            extracted = [None] * len(predictions)
        for i, prediction in enumerate(predictions):
            answer = extracted[i]
            rows.add(
                row,
                source_id=source_id,
                problem=problem,
                gold=gold,
                response=response_of(prediction, path, where, f"predictions[{i}]"),
                correct=correct,
                answer=None if missing(answer) else str(answer),
                where=where,
            )
    if used:
        notes.append(f"per-sample verdicts from {', '.join(sorted(used))}")
    if per_document:
        notes.append(
            f"{per_document} document(s) with several responses or a non-0/1 metric: no per-sample verdict"
        )
    if metric is not None and not used and not per_document:
        raise DataError(f"{path}: metric {metric!r} is in no row")
    return Released(rows.frame(), FORMAT, notes=notes)
