"""Agreement with the per-response verdicts of Qwen2.5-Math's harness on 800 real
responses (100 MATH problems x 8 samples)."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED
from justeval.grading.runner import Grader
from justeval.sources.benchmarks import unwrap_gold

REAL = SHARED / "real-outputs" / "qwen25-math_math-cot-100.jsonl"

# Every disagreement with the harness's own labels, explained. (problem, sample) -> why.
EXPLAINED = {
    (72, 7): (
        "gold '10{,}000' uses a LaTeX thousands separator and the response boxes 10000: the same "
        "number. The harness compares '10{,}000' with '10000' as strings and calls it wrong."
    ),
}


@pytest.fixture(scope="module")
def real():
    rows = [json.loads(line) for line in REAL.read_text().splitlines()]
    golds, responses, labels, keys = [], [], [], []
    for i, row in enumerate(rows):
        for j, (response, label) in enumerate(zip(row["code"], row["score"], strict=True)):
            golds.append(unwrap_gold(row["gt"]))
            responses.append(response)
            labels.append(bool(label))
            keys.append((i, j))
    return golds, responses, labels, keys


def test_agreement_with_the_harness_labels(real):
    golds, responses, labels, keys = real
    results = Grader("justeval", timeout=5.0, jobs=2).grade(golds, responses)
    disagreements = {k for k, r, lab in zip(keys, results, labels, strict=True) if r.rule_correct != lab}
    assert disagreements == set(EXPLAINED)
    assert len(results) == 800
    # the file's own figures: mean@8 = 91.0 %, pass@8 = 96 / 100
    assert sum(labels) / len(labels) == pytest.approx(0.91)


def test_math_verify_grader_runs_on_real_outputs(real):
    golds, responses, labels, _ = real
    results = Grader("math_verify", timeout=5.0, jobs=2).grade(golds[:80], responses[:80])
    agree = sum(r.rule_correct == lab for r, lab in zip(results, labels[:80], strict=True))
    assert agree >= 78
