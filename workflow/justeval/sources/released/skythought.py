"""SkyThought (NovaSky) evaluation results (``skythought``).

``results.json`` (older versions: ``<model>_<dataset>_<split>_<source>_<start>_<end>.json``):
one JSON object whose entries are the problems, each named by the problem's id, holding the
dataset row (``problem``/``question``, ``answer``...), the ``prompt`` sent (and, in newer
versions, ``input_conversation``), ``responses`` and ``token_usages``.

``responses`` is a list of ``{"content", "correctness", "reason"}`` (newer versions: one per
sample), or, in older versions, an object keyed by the sampling temperature whose values
are such an entry or a list of them (name a temperature with ``temperature=`` when the file
holds several). ``correctness`` is the harness's verdict (None: not checked yet).

``source_id`` is the entry's name (the dataset's ``_index`` in newer versions), except in
older files where it is the problem text itself (then None). The gold is the first of
``answer``, ``expected_answer``, ``gold``, ``ground_truth``, ``solution`` the entry has.
The accuracy in ``summary.json`` beside the file, when there is one, is the aggregate.

Learnt from: NovaSky-AI/SkyThought ``skythought/evals/inference_and_check.py``
(``generate_responses_for_dataset``, ``score_responses``, ``save_results``: the entries,
``responses``, ``token_usages``, ``summary.json``) and ``skythought/evals/tasks/base.py``
(``_index``); its ``SingleParsedResponse`` (``content``, ``correctness``, ``reason``) and the
math task handler's ``update_results`` ("Solution is incorrect.") as the search index shows
them; the older ``skythought/tools/inference_and_check.py`` (``perform_inference_and_check``:
entries named by the problem text, responses keyed by temperature).
"""

from __future__ import annotations

import json
from pathlib import Path

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    first_present,
    gold_of,
    iter_json,
    record_of,
    require,
    response_of,
    short,
    text_of,
    verdict_of,
)

FORMAT = "skythought"
PROBLEM_FIELDS = ("problem", "question", "Question", "prompt")
GOLD_FIELDS = ("answer", "expected_answer", "gold", "ground_truth", "solution")


def recognises(shape: Shape) -> bool:
    f = shape.entry_fields
    return "responses" in f and bool({"token_usages", "prompt", "input_conversation"} & f)


def _entries(responses, temperature, path, where) -> tuple[list, str | None]:
    """The response entries of one problem, and the temperature they were read under."""
    if isinstance(responses, list):
        return responses, None
    if not isinstance(responses, dict):
        raise DataError(
            f"{path}: {where}: field 'responses': expected a list or an object, found {short(responses)}"
        )
    temps = list(responses)
    if temperature is None:
        if len(temps) != 1:
            raise DataError(f"{path}: {where}: field 'responses': samples at temperatures "
                            f"{', '.join(temps)}: name one (temperature=...)")  # fmt: skip
        key = temps[0]
    else:
        key = next((t for t in temps if _same_temperature(t, temperature)), None)
        if key is None:
            raise DataError(f"{path}: {where}: field 'responses': no temperature {temperature} "
                            f"(it has {', '.join(temps)})")  # fmt: skip
    value = responses[key]
    return (value if isinstance(value, list) else [value]), key


def _same_temperature(key: str, temperature) -> bool:
    try:
        return float(key) == float(temperature)
    except ValueError:
        return key == str(temperature)


def _aggregate(path: Path) -> dict | None:
    summary = path.parent / "summary.json"
    if not summary.is_file():
        return None
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    keep = {k: data[k] for k in ("accuracy", "pass_at_k") if k in data}
    return keep or None


def read(path, temperature: float | str | None = None) -> Released:
    """``temperature``: in older files whose responses are keyed by temperature, the one to read."""
    rows, temps = Rows(path), set()
    for position, (number, key, value) in enumerate(iter_json(path)):
        where = f"line {number} (entry {short(key, 40)})"
        rec = record_of(value, path, where)
        require(rec, "responses", path, where)
        entries, temp = _entries(rec["responses"], temperature, path, where)
        temps.add(temp)
        field = first_present(rec, PROBLEM_FIELDS)
        problem = text_of(rec[field], path, where, field) if field else None
        gold_field = first_present(rec, GOLD_FIELDS)
        gold = gold_of(rec[gold_field], path, where, gold_field) if gold_field else None
        source_id = None if key == problem else key
        for i, entry in enumerate(entries):
            if isinstance(entry, str):
                content, correct = entry, None
            else:
                entry = record_of(entry, path, f"{where}, responses[{i}]")
                require(entry, "content", path, f"{where}, responses[{i}]")
                content = entry["content"]
                correct = verdict_of(entry.get("correctness"), path, where, f"responses[{i}].correctness")
            rows.add(
                position,
                source_id=source_id,
                problem=problem,
                gold=gold,
                response=response_of(content, path, where, f"responses[{i}].content"),
                correct=correct,
            )
    notes = [f"responses at temperature {t}" for t in sorted(temps - {None})]
    return Released(rows.frame(), FORMAT, aggregate=_aggregate(Path(path)), notes=notes)
