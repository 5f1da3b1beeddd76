"""JustRL's released outputs (``justrl``).

One JSON object per line: ``example_id`` (the problem's id or its row in the benchmark),
``prompt`` (the problem text), ``answer`` (the gold), ``seed`` and ``response``; one line
per (problem, seed), a problem's lines in file order its samples. The file carries no
verdicts.

Learnt from: the ``justrl`` importer of this project (``workflow/justeval/stages/
import_generations.py``, ported here without the benchmark look-up: ``source_id`` is the
``example_id`` as the file writes it) and the outputs of thunlp/JustRL's ``evals/`` scripts
described in ``../shared/reference/justrl-eval-protocol.md``.
"""

from __future__ import annotations

from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    gold_of,
    int_of,
    iter_records,
    record_of,
    require,
    response_of,
    text_of,
)

FORMAT = "justrl"


def recognises(shape: Shape) -> bool:
    return shape.container in ("jsonl", "json-array") and {"example_id", "response"} <= shape.fields


def read(path) -> Released:
    rows = Rows(path)
    for position, number, value in iter_records(path):
        where = f"line {number}"
        rec = record_of(value, path, where)
        require(rec, ["example_id", "response"], path, where)
        rows.add(
            position,
            source_id=text_of(rec["example_id"], path, where, "example_id", required=True),
            problem=text_of(rec.get("prompt"), path, where, "prompt"),
            gold=gold_of(rec.get("answer"), path, where, "answer"),
            response=response_of(rec["response"], path, where, "response"),
            seed=int_of(rec.get("seed"), path, where, "seed"),
            where=where,
        )
    return Released(rows.frame(), FORMAT)
