"""Every verdict's status and layer is one of the documented names
(grading.runner.STATUSES, grading.compare.LAYERS), for every grader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from justeval.grading import grade_responses
from justeval.grading.compare import LAYERS
from justeval.grading.runner import GRADERS, STATUSES

CASES = [
    json.loads(line) for line in (Path(__file__).parent / "labelled_cases.jsonl").read_text().splitlines()
]


@pytest.mark.parametrize("grader", GRADERS)
def test_statuses_and_layers_are_the_documented_ones(grader):
    cases = CASES if grader == "justeval" else CASES[::8]
    golds = [c["gold"] for c in cases]
    responses = [c["response"] for c in cases] + [None, "no box here"]
    results = grade_responses([*golds, "1", "1"], responses, grader=grader, timeout=5.0, jobs=1)
    statuses = {r.status for r in results}
    layers = {r.layer for r in results}
    assert statuses <= set(STATUSES), statuses - set(STATUSES)
    assert layers <= set(LAYERS), layers - set(LAYERS)
    assert {"match", "mismatch", "no_answer"} <= statuses
