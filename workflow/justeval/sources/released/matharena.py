"""MathArena outputs (``matharena``).

``outputs/<competition>/<model>/<problem_idx>.json``: one JSON object per problem with the
problem's ``idx`` (the ``source_id``), ``problem``, ``gold_answer``, and one element per
run in each of ``messages`` (the run's conversation; older files: ``responses``, the
response texts), ``answers`` (the answer the parser extracted; the string "None" when it
found none), ``correct`` (the verdict; a string such as "TODO Grading" while ungraded) and
``warnings``; ``pass_at_1`` and ``N`` summarise the runs (the aggregate). A problem's
samples are its runs; ``source_row`` is the run's position.

A run's response is the content of the conversation's last assistant message of type
``response`` (a message without a type is one): the final answer message, without the
reasoning (``cot``) messages and tool calls before it. Read a competition's files together
with :func:`justeval.sources.released.registry.read_many`.

Learnt from: eth-sri/matharena ``src/matharena/runs.py`` (``Runs.to_dict``/``from_dict``:
the keys and their order), ``src/matharena/utils.py`` (``normalize_conversation``,
``is_conversation_broken``: message roles and types) and ``src/matharena/runner.py``
(where the files are written).
"""

from __future__ import annotations

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    gold_of,
    iter_json,
    missing,
    require,
    response_of,
    short,
    text_of,
    verdict_of,
)

FORMAT = "matharena"


def recognises(shape: Shape) -> bool:
    keys = set(shape.top_keys)
    return (
        "gold_answer" in keys
        and bool({"answers", "correct"} & keys)
        and bool({"messages", "responses", "problem", "idx"} & keys)
    )


def _text(content) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        parts = [p.get("text") if isinstance(p, dict) else p for p in content]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)
    return None


def response_of_run(conversation, path, where: str) -> str:
    """The final response of one run's conversation."""
    if isinstance(conversation, str):
        return conversation
    if not isinstance(conversation, list):
        raise DataError(
            f"{path}: {where}: expected a conversation (a list of messages), found {short(conversation)}"
        )
    for message in reversed(conversation):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        if message.get("type", "response") != "response":
            continue
        text = _text(message.get("content"))
        if text is not None:
            return text
    raise DataError(f"{path}: {where}: no assistant response message in the conversation")


def _verdict(value, path, where, name) -> bool | None:
    if isinstance(value, str) and value.strip().lower() not in ("true", "false", "0", "1"):
        return None  # "TODO Grading": not graded yet
    return verdict_of(value, path, where, name)


def read(path) -> Released:
    obj = {key: value for _, key, value in iter_json(path)}
    runs_field = "messages" if "messages" in obj else "responses"
    require(obj, [runs_field], path, "the problem's object")
    runs = obj[runs_field]
    if not isinstance(runs, list):
        raise DataError(f"{path}: field {runs_field!r}: expected one element per run, found {short(runs)}")
    n = len(runs)
    lists = {}
    for name in ("answers", "correct"):
        value = obj.get(name)
        if value is None:
            lists[name] = [None] * n
        elif not isinstance(value, list) or len(value) != n:
            raise DataError(f"{path}: field {name!r}: expected {n} elements (one per run in {runs_field!r}), "
                            f"found {short(value)}")  # fmt: skip
        else:
            lists[name] = value
    source_id = text_of(obj.get("idx"), path, "the problem's object", "idx")
    problem = text_of(obj.get("problem"), path, "the problem's object", "problem")
    gold = gold_of(obj.get("gold_answer"), path, "the problem's object", "gold_answer")
    rows, ungraded = Rows(path), 0
    for i, run in enumerate(runs):
        where = f"run {i}"
        correct = _verdict(lists["correct"][i], path, where, f"correct[{i}]")
        ungraded += correct is None and not missing(lists["correct"][i])
        answer = lists["answers"][i]
        answer = (
            None if missing(answer) or answer == "None" else text_of(answer, path, where, f"answers[{i}]")
        )
        rows.add(
            i,
            source_id=source_id,
            problem=problem,
            gold=gold,
            response=response_of(response_of_run(run, path, f"{runs_field}[{i}]"), path, where, runs_field),
            correct=correct,
            answer=answer,
        )
    notes = [f"{ungraded} run(s) not graded yet: no verdict"] if ungraded else []
    aggregate = {k: obj[k] for k in ("pass_at_1", "N") if isinstance(obj.get(k), (int, float))} or None
    return Released(rows.frame(), FORMAT, aggregate=aggregate, notes=notes)
