"""NeMo-Skills generation outputs (``nemo_skills``).

One JSON object per line, one line per problem, one file per random seed
(``output-rs<seed>.jsonl``; ``output.jsonl`` for greedy decoding): the dataset's fields
(``problem``, ``expected_answer``, often ``id``...) with the model's ``generation`` added,
and after evaluation ``predicted_answer`` (the last ``\\boxed{}``, or None) and
``symbolic_correct`` (the math grader's verdict); with an LLM judge, ``judgement``
("Judgement: Yes"/"No"). A line that is ``{}`` is a generation that never finished: it is
skipped, and said so in the notes.

``seed`` comes from the file name. A file holds one sample per problem; read the seeds'
files together with :func:`justeval.sources.released.registry.read_many` to number a
problem's samples across them.

Learnt from: NVIDIA/NeMo-Skills ``nemo_skills/evaluation/math_grader.py``
(``batch_evaluate_results``: the fields added, the empty lines, ``extract_answer``),
``nemo_skills/evaluation/evaluator/math.py`` and ``nemo_skills/evaluation/metrics/
math_metrics.py`` (``symbolic_correct``, ``judgement``), and ``nemo_skills/inference/
generate.py`` (``output-rs{seed}.jsonl``, ``generation``).
"""

from __future__ import annotations

import re
from pathlib import Path

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

FORMAT = "nemo_skills"
VERDICTS = ("symbolic_correct", "judgement", "none")
_SEED = re.compile(r"output-rs(\d+)")
_JUDGEMENT = re.compile(r"judgement\s*:\s*(yes|no)\b", re.IGNORECASE)


def recognises(shape: Shape) -> bool:
    f = shape.fields
    return (
        shape.container in ("jsonl", "json-array")
        and "generation" in f
        and bool({"expected_answer", "predicted_answer", "symbolic_correct"} & f)
    )


def seed_of(path) -> int | None:
    match = _SEED.search(Path(path).name)
    return int(match.group(1)) if match else None


def _judgement(value, path, where) -> bool | None:
    if value is None:
        return None
    match = _JUDGEMENT.search(str(value))
    if not match:
        raise DataError(f"{path}: {where}: field 'judgement': no 'Judgement: Yes/No' in {short(value)}")
    return match.group(1).lower() == "yes"


def read(path, verdict: str = "symbolic_correct") -> Released:
    """``verdict``: the field the source's verdict is read from: ``symbolic_correct`` (the
    rule grader, the default), ``judgement`` (the LLM judge) or ``none``."""
    if verdict not in VERDICTS:
        raise DataError(f"{path}: verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
    rows, notes = Rows(path), []
    seed = seed_of(path)
    empty = []
    for position, number, value in iter_records(path):
        where = f"line {number}"
        rec = record_of(value, path, where)
        if not rec:
            empty.append(number)
            continue
        require(rec, "generation", path, where)
        if verdict == "symbolic_correct":
            correct = verdict_of(rec.get("symbolic_correct"), path, where, "symbolic_correct")
        elif verdict == "judgement":
            correct = _judgement(rec.get("judgement"), path, where)
        else:
            correct = None
        problem_field = "problem" if "problem" in rec else "question"
        rows.add(
            position,
            source_id=text_of(rec.get("id"), path, where, "id"),
            problem=text_of(rec.get(problem_field), path, where, problem_field),
            gold=gold_of(rec.get("expected_answer"), path, where, "expected_answer"),
            response=response_of(rec["generation"], path, where, "generation"),
            correct=correct,
            answer=text_of(rec.get("predicted_answer"), path, where, "predicted_answer"),
            seed=seed,
        )
    if empty:
        notes.append(f"skipped {len(empty)} empty line(s) (unfinished generations): lines "
                     f"{', '.join(map(str, empty[:10]))}{' ...' if len(empty) > 10 else ''}")  # fmt: skip
    if seed is None:
        notes.append("no seed in the file name (output-rs<seed>.jsonl): seed left empty")
    return Released(rows.frame(), FORMAT, notes=notes)
