"""verl's validation generations (``verl``).

With ``trainer.validation_data_dir`` (``val_data_dir`` in some versions) set, verl writes
``<step>.jsonl`` at each validation: one JSON object per sample with ``input`` (the prompt
decoded, chat template included), ``output`` (the response), ``score`` (the reward),
``step``, ``gts`` (the ground truth; newer versions) and the reward function's extra
fields (e.g. DAPO's ``acc`` and ``pred``). A prompt's samples are its lines in file order.

The per-sample verdict is ``acc`` where the file has it; else the ``score`` when the file's
scores are two-valued (0/1 or -1/1: 1 is correct); a reward with other values (format
bonuses, partial credit) is not a verdict, and none is given. The extracted answer is
``pred``. A file holding several steps is read one step at a time (``step=``).

Learnt from: volcengine/verl ``verl/trainer/ppo/ray_trainer.py`` (``_dump_generations``,
``_validate``), ``verl/utils/reward_score/math_dapo.py`` (``score``/``acc``/``pred``), and
the verl fork in thunlp/JustRL ``train/verl/trainer/ppo/ray_trainer.py``.
"""

from __future__ import annotations

from justeval.io.parquet import DataError
from justeval.sources.released.common import (
    Released,
    Rows,
    Shape,
    gold_of,
    int_of,
    iter_records,
    missing,
    record_of,
    require,
    response_of,
    short,
    text_of,
    verdict_of,
)

FORMAT = "verl"
GOLD_FIELDS = ("gts", "ground_truth", "gt", "answer")


def recognises(shape: Shape) -> bool:
    return shape.container in ("jsonl", "json-array") and {"input", "output", "score"} <= shape.fields


def _gold(value, path, where, name) -> str | None:
    if isinstance(value, dict):  # a reward_model dict
        value = value.get("ground_truth")
    return gold_of(value, path, where, name)


def read(path, step: int | None = None) -> Released:
    """``step``: the training step whose validation samples are read, where the file holds several."""
    records = []
    for position, number, value in iter_records(path):
        where = f"line {number}"
        rec = record_of(value, path, where)
        require(rec, ["input", "output"], path, where)
        records.append((position, where, rec, int_of(rec.get("step"), path, where, "step")))
    steps = list(dict.fromkeys(s for *_, s in records))
    notes: list[str] = []
    if step is not None:
        if step not in steps:
            raise DataError(f"{path}: step {step} is not in the file (it has {', '.join(map(str, steps))})")
        records = [r for r in records if r[3] == step]
    elif len(steps) > 1:
        raise DataError(
            f"{path}: holds the samples of steps {', '.join(map(str, steps))}: name one (step=...)"
        )
    scores = {rec.get("score") for _, _, rec, _ in records if not missing(rec.get("score"))}
    binary = (
        bool(scores)
        and all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores)
        and (scores <= {0, 1} or scores <= {-1, 1})
    )
    has_acc = any("acc" in rec for _, _, rec, _ in records)
    if has_acc:
        notes.append("per-sample verdicts from 'acc'")
    elif binary:
        notes.append(f"per-sample verdicts from 'score' (values {sorted(scores)}: 1 is correct)")
    elif scores:
        notes.append(f"'score' takes values other than 0/1 or -1/1 ({short(sorted(scores)[:6])}): a reward, "
                     f"not a verdict; no per-sample verdict given")  # fmt: skip
    rows = Rows(path)
    for position, where, rec, _ in records:
        if has_acc:
            correct = verdict_of(rec.get("acc"), path, where, "acc")
        elif binary and not missing(rec.get("score")):
            correct = rec["score"] == 1
        else:
            correct = None
        gold_field = next((k for k in GOLD_FIELDS if k in rec), None)
        pred = rec.get("pred")
        rows.add(
            position,
            source_id=None,
            problem=text_of(rec["input"], path, where, "input"),
            gold=_gold(rec[gold_field], path, where, gold_field) if gold_field else None,
            response=response_of(rec["output"], path, where, "output"),
            correct=correct,
            answer=pred if isinstance(pred, str) else None,
        )
    frame = rows.frame()
    return Released(frame, FORMAT, notes=notes + ([f"step {steps[0] if step is None else step}"]
                                                  if steps != [None] else []))  # fmt: skip
