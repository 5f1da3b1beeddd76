"""OpenCompass predictions (``opencompass``).

``outputs/<run>/predictions/<model>/<dataset>.json``: one JSON object whose entries
``"0"``, ``"1"``, ... are the rows of the (possibly repeated) dataset, each with
``origin_prompt`` (the prompt: a string, or the chat as ``[{"role": "HUMAN", "prompt": ...}]``),
``prediction`` (the response; a list with several samples per row) and ``gold``. Newer
versions may write the same as JSON lines with an ``idx``. A large dataset may be split into
``<dataset>_0.json``, ``<dataset>_1.json``...: read each.

The entry names are row numbers, not problem ids, and a dataset repeated for several
samples holds one problem on several rows: so ``source_id`` is None and a problem's samples
are its rows with the same prompt (in file order). ``source_row`` is the entry's position.

The per-sample verdicts are in the evaluation's results file,
``outputs/<run>/results/<model>/<dataset>.json`` (found by putting ``results`` for
``predictions`` in the path, or named with ``results=``): ``details`` (a list, or an object
keyed like the predictions) holds for each row ``pred`` (the extracted answer) and
``correct`` (a boolean, or one per sample); its numeric top-level values (``accuracy``...)
are the aggregate.

Learnt from: open-compass/opencompass ``opencompass/openicl/icl_inferencer/
icl_base_inferencer.py`` (``GenInferencerOutputHandler.save_results``: ``origin_prompt``,
``prediction``, ``gold``), ``opencompass/tasks/openicl_eval.py`` (the results file and its
``details``) and ``opencompass/openicl/icl_evaluator/math_evaluator.py`` (``correct``,
``pred`` in each detail).
"""

from __future__ import annotations

import json
from pathlib import Path

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    gold_of,
    iter_json,
    iter_records,
    json_kind,
    missing,
    record_of,
    require,
    response_of,
    short,
    verdict_of,
)

FORMAT = "opencompass"
_HUMAN = ("HUMAN", "user", "USER", "human")


def recognises(shape: Shape) -> bool:
    need = {"origin_prompt", "prediction"}
    return need <= shape.entry_fields or (shape.container in ("jsonl", "json-array") and need <= shape.fields)


def _prompt(value, path, where) -> str | None:
    """The prompt's text: a string as it is; of a chat, the last human turn."""
    if missing(value) or isinstance(value, str):
        return value
    if isinstance(value, list):
        turns = [t for t in value if isinstance(t, dict)]
        human = [t for t in turns if t.get("role") in _HUMAN]
        chosen = (human or turns)[-1:] if turns else []
        if chosen:
            text = chosen[0].get("prompt", chosen[0].get("content"))
            if isinstance(text, str):
                return text
        if value and all(isinstance(t, str) for t in value):
            return "\n".join(value)
    raise DataError(f"{path}: {where}: field 'origin_prompt': expected a prompt, found {short(value)}")


def results_path(path) -> Path | None:
    """The results file beside a predictions file: ``predictions`` replaced by ``results``."""
    parts = list(Path(path).parts)
    if "predictions" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("predictions")
    candidate = Path(*parts[:i], "results", *parts[i + 1 :])
    return candidate if candidate.is_file() else None


def _details(results: Path) -> tuple[dict, dict, int | None]:
    """The results' numeric top-level values, its details by entry name, and their number
    when they came as a list (a list is aligned with the predictions by position)."""
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{results}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"{results}: expected a JSON object (the evaluation's results)")
    aggregate = {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    details = data.get("details")
    if isinstance(details, list):
        return aggregate, {str(i): d for i, d in enumerate(details)}, len(details)
    return aggregate, details if isinstance(details, dict) else {}, None


def _per_sample(value, n: int) -> list:
    """A detail's value for each of a row's n samples: a list of n as it is, one value (or a
    list of one) for every sample, a list of another length for none."""
    if isinstance(value, list):
        return value if len(value) == n else value * n if len(value) == 1 else [None] * n
    return [value] * n


def _entries(path):
    """(position, line, name, record) of the predictions, from either layout."""
    if json_kind(path) == "json-object":
        for position, (number, key, value) in enumerate(iter_json(path)):
            yield position, number, str(key), value
    else:
        for position, number, value in iter_records(path):
            rec = record_of(value, path, f"line {number}")
            name = rec.get("idx", rec.get("id", position))
            yield position, number, str(name), rec


def read(path, results: str | None = None) -> Released:
    """``results``: the evaluation's results file (default: found beside the predictions)."""
    results_file = Path(results) if results else results_path(path)
    if results and not results_file.is_file():
        raise DataError(f"{results}: no such file")
    aggregate, details, listed = _details(results_file) if results_file else (None, {}, None)
    notes = [f"verdicts from {results_file}"] if results_file else ["no results file: no per-sample verdicts"]
    rows, skipped = Rows(path), []
    for position, number, name, value in _entries(path):
        where = f"line {number} (entry {short(name, 30)})"
        if name.startswith("_") and not (isinstance(value, dict) and "prediction" in value):
            skipped.append(name)  # e.g. a "_dataset_info" entry
            continue
        rec = record_of(value, path, where)
        require(rec, ["origin_prompt", "prediction"], path, where)
        predictions = rec["prediction"] if isinstance(rec["prediction"], list) else [rec["prediction"]]
        detail = details.get(name) if isinstance(details.get(name), dict) else {}
        corrects = _per_sample(detail.get("correct", detail.get("is_correct")), len(predictions))
        answers = _per_sample(detail.get("pred"), len(predictions))
        problem = _prompt(rec["origin_prompt"], path, where)
        for i, response in enumerate(predictions):
            answer = answers[i]
            rows.add(
                position,
                source_id=None,
                problem=problem,
                gold=gold_of(rec.get("gold", rec.get("reference", rec.get("refr"))), path, where, "gold"),
                response=response_of(response, path, where, "prediction"),
                correct=verdict_of(corrects[i], results_file, f"details {name!r}", "correct")
                if results_file
                else None,
                answer=answer if isinstance(answer, str) else None,
            )
    if skipped:
        notes.append(f"skipped entries {', '.join(skipped)} (not predictions)")
    frame = rows.frame()
    entries = frame["source_row"].nunique()
    if listed is not None and listed != entries:
        # MATHEvaluator, for one, leaves out the rows whose gold it cannot parse: a list of
        # details of another length cannot be aligned with the predictions
        frame = frame.assign(provided_correct=None, provided_answer=None)
        notes.append(
            f"{results_file}: {listed} details for {entries} predictions: not aligned, no verdicts taken"
        )
    return Released(frame, FORMAT, aggregate=aggregate or None, notes=notes)
