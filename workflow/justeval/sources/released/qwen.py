"""Qwen2.5-Math's evaluation harness (``qwen``).

One JSON object per line, one line per problem: ``idx`` (its row in the harness's data
file), ``question``, ``gt`` (the gold as the harness parsed it; ``answer`` the dataset's own
field), ``code`` (the list of responses), ``pred`` (the answer the harness extracted from
each) and ``score`` (its verdict on each). ``source_id`` is ``idx``; a problem's samples are
the elements of ``code``.

Learnt from: QwenLM/Qwen2.5-Math ``evaluation/math_eval.py`` (what each line holds, written
by its ``main``), ``evaluation/data/eval_rm_maj_example/math_cot_100.jsonl``, and the real
outputs under NovaSky-AI/SkyThought ``skythought/Qwen2.5-Math/evaluation/outputs/`` (one of
which, cut to two problems, is this format's test fixture); and this project's ``qwen``
importer (``workflow/justeval/stages/import_generations.py``).
"""

from __future__ import annotations

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    gold_of,
    iter_records,
    record_of,
    require,
    response_of,
    short,
    text_of,
    verdict_of,
)

FORMAT = "qwen"


def recognises(shape: Shape) -> bool:
    f = shape.fields
    return shape.container in ("jsonl", "json-array") and "code" in f and bool({"question", "gt"} & f)


def _list(rec: dict, name: str, n: int, path, where: str) -> list:
    value = rec.get(name)
    if value is None:
        return [None] * n
    if not isinstance(value, list) or len(value) != n:
        raise DataError(f"{path}: {where}: field {name!r}: expected a list of {n} (one per response), "
                        f"found {short(value)}")  # fmt: skip
    return value


def read(path) -> Released:
    rows = Rows(path)
    for position, number, value in iter_records(path):
        where = f"line {number}"
        rec = record_of(value, path, where)
        require(rec, "code", path, where)
        code = rec["code"]
        if isinstance(code, str):
            code = [code]
        if not isinstance(code, list):
            raise DataError(
                f"{path}: {where}: field 'code': expected a list of responses, found {short(code)}"
            )
        scores = _list(rec, "score", len(code), path, where)
        preds = _list(rec, "pred", len(code), path, where)
        source_id = text_of(rec.get("idx"), path, where, "idx")
        problem = text_of(rec.get("question"), path, where, "question")
        gold = gold_of(rec["gt"] if "gt" in rec else rec.get("answer"), path, where, "gt")
        for i, response in enumerate(code):
            rows.add(
                position,
                source_id=source_id,
                problem=problem,
                gold=gold,
                response=response_of(response, path, where, f"code[{i}]"),
                correct=verdict_of(scores[i], path, where, f"score[{i}]"),
                answer=text_of(preds[i], path, where, f"pred[{i}]"),
            )
    return Released(rows.frame(), FORMAT)
