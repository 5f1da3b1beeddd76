"""lm-evaluation-harness ``--log_samples`` output (``lm_eval``).

``samples_<task>_<date>.jsonl``: one JSON object per (document, filter): ``doc_id`` (the
document's index in the task's split: the ``source_id``), ``doc`` (the dataset row),
``target`` (the gold as the task renders it), ``arguments`` (the request: ``[[prompt,
gen_kwargs]]`` in older versions, ``{"gen_args_0": {"arg_0": prompt, "arg_1": gen_kwargs}}``
in newer ones), ``resps`` (per request, the list of its responses: several with
``repeats``), ``filtered_resps`` (the same after the filter pipeline: the extracted answer),
``filter`` (the filter's name; absent in older versions), ``metrics`` (the metric names) and
each metric's value for the document (``exact_match``, ``math_verify``, ...).

A document appears once per filter. One filter's records are read: the one named, else the
first in the file (older files without a ``filter`` field: the first record of each
document). The per-sample verdict is the metric's value where it is one sample's (one
response, value 0 or 1); with several responses the metric is the document's, and no
per-sample verdict is given. The problem text is the document's ``problem`` (``question``...)
field, else the prompt. The extracted answer is the filtered response unless the filter is
``none`` (which extracts nothing).

Learnt from: EleutherAI/lm-evaluation-harness ``lm_eval/evaluator.py`` (``evaluate``: the
logged sample, one per document and filter), ``lm_eval/loggers/evaluation_tracker.py``
(``save_results_samples``: ``samples_{task}_{date}.jsonl``) and
``lm_eval/tasks/minerva_math/utils.py`` (``exact_match``, ``math_verify``).
"""

from __future__ import annotations

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    gold_of,
    iter_records,
    missing,
    record_of,
    require,
    response_of,
    short,
    text_of,
)

FORMAT = "lm_eval"
PROBLEM_FIELDS = ("problem", "question", "Question", "query", "input", "prompt")
# metrics whose value is a per-document 0/1 verdict, in the order one is taken when none is named
METRICS = ("exact_match", "math_verify", "acc", "em", "correct", "score")
_BOOKKEEPING = {
    "doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "doc_hash",
    "prompt_hash", "target_hash", "task", "split", "success", "token_counts",
}  # fmt: skip


def recognises(shape: Shape) -> bool:
    f = shape.fields
    return (
        shape.container in ("jsonl", "json-array")
        and "doc_id" in f
        and bool({"resps", "filtered_resps"} & f)
        and bool({"doc", "arguments", "target"} & f)
    )


def _prompt(arguments) -> str | None:
    """The prompt of a logged request, in either version's shape."""
    if isinstance(arguments, dict):  # {"gen_args_0": {"arg_0": prompt, "arg_1": kwargs}}
        first = next(iter(arguments.values()), None)
        if isinstance(first, dict):
            first = first.get("arg_0")
        return first if isinstance(first, str) else None
    while isinstance(arguments, list) and arguments:
        arguments = arguments[0]
        if isinstance(arguments, str):
            return arguments
    return None


def _responses(resps, path, where) -> list[str]:
    """The responses of a document's one generation request: ``resps`` is a list (per
    request) of lists (per repeat); some writers flatten it."""
    if not isinstance(resps, list) or not resps:
        raise DataError(f"{path}: {where}: field 'resps': expected a list of responses, found {short(resps)}")
    if all(isinstance(r, str) for r in resps):
        return resps
    if len(resps) != 1:
        raise DataError(f"{path}: {where}: field 'resps': {len(resps)} requests for one document "
                        f"(not a generation task)")  # fmt: skip
    inner = resps[0]
    if isinstance(inner, str):
        return [inner]
    if isinstance(inner, list) and all(isinstance(r, str) for r in inner):
        return inner
    raise DataError(f"{path}: {where}: field 'resps': expected response texts, found {short(inner)} "
                    f"(not a generation task?)")  # fmt: skip


def _filtered(value, n: int) -> list:
    """The filtered answers, one per response where the filter kept one per response."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return [value] if n == 1 else [None] * n
    if isinstance(value, list) and len(value) == n and all(isinstance(v, str) or v is None for v in value):
        return value
    return [None] * n


def _metric(rec: dict, name: str | None) -> str | None:
    if name is not None:
        return name if name in rec else None
    listed = rec.get("metrics") if isinstance(rec.get("metrics"), list) else []
    for candidate in [*METRICS, *listed]:
        if candidate in rec and not missing(rec[candidate]):
            return candidate
    numeric = [k for k, v in rec.items() if k not in _BOOKKEEPING and isinstance(v, (int, float))]
    return numeric[0] if len(numeric) == 1 else None


def read(path, filter: str | None = None, metric: str | None = None) -> Released:
    """``filter``: the filter whose records are read (default: the file's first);
    ``metric``: the field the per-sample verdict is read from (default: the first of
    :data:`METRICS` the record has, else the one metric it lists)."""
    records = []
    for position, number, value in iter_records(path):
        where = f"line {number}"
        rec = record_of(value, path, where)
        require(rec, "doc_id", path, where)
        records.append((position, where, rec))
    if not records:
        raise DataError(f"{path}: no samples")
    notes: list[str] = []
    filters = list(dict.fromkeys(rec.get("filter") for _, _, rec in records))
    if filters != [None]:
        chosen = filter if filter is not None else filters[0]
        if chosen not in filters:
            raise DataError(
                f"{path}: filter {chosen!r} is not in the file (it has {', '.join(map(str, filters))})"
            )
        if len(filters) > 1:
            notes.append(
                f"read the records of filter {chosen!r} (the file has {', '.join(map(str, filters))})"
            )
        records = [r for r in records if r[2].get("filter") == chosen]
    else:
        chosen = filter
        seen, kept = set(), []
        for item in records:
            doc_id = item[2]["doc_id"]
            if doc_id not in seen:
                seen.add(doc_id)
                kept.append(item)
        if len(kept) < len(records):
            notes.append(f"documents repeat without a 'filter' field: read the first record of each "
                         f"({len(records) - len(kept)} later ones, other filters', skipped)")  # fmt: skip
        records = kept
    rows, metric_used, per_document = Rows(path), set(), 0
    for position, where, rec in records:
        if "resps" in rec:
            responses = _responses(rec["resps"], path, where)
        elif chosen in (None, "none") and "filtered_resps" in rec:  # unfiltered: the responses themselves
            responses = _responses(rec["filtered_resps"], path, where)
        else:
            raise DataError(f"{path}: {where}: no field 'resps' (the responses)")
        doc = rec.get("doc") if isinstance(rec.get("doc"), dict) else {}
        field = next((k for k in PROBLEM_FIELDS if isinstance(doc.get(k), str)), None)
        problem = doc[field] if field else _prompt(rec.get("arguments"))
        gold = gold_of(rec.get("target"), path, where, "target")
        if gold is None:
            gold = gold_of(doc.get("answer"), path, where, "doc.answer")
        name = _metric(rec, metric)
        value = rec.get(name) if name else None
        correct = None
        if (
            name is not None
            and len(responses) == 1
            and isinstance(value, (bool, int, float))
            and value in (0, 1)
        ):
            correct = bool(value)
            metric_used.add(name)
        elif name is not None and not missing(value):
            per_document += 1
        answers = (
            _filtered(rec.get("filtered_resps"), len(responses))
            if chosen != "none"
            else [None] * len(responses)
        )
        for i, response in enumerate(responses):
            answer = answers[i] if answers[i] != response else None
            rows.add(
                position,
                source_id=text_of(rec["doc_id"], path, where, "doc_id"),
                problem=problem,
                gold=gold,
                response=response_of(response, path, where, "resps"),
                correct=correct,
                answer=answer,
                where=where,
            )
    if metric_used:
        notes.append(f"per-sample verdicts from {', '.join(sorted(metric_used))}")
    if per_document:
        notes.append(f"{per_document} document(s) with several responses or a non-0/1 metric: the metric "
                     f"is the document's, no per-sample verdict given")  # fmt: skip
    if metric is not None and not metric_used and not per_document:
        raise DataError(f"{path}: metric {metric!r} is in no record")
    return Released(rows.frame(), FORMAT, notes=notes)
