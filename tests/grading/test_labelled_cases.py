"""The labelled suite: 1,060 (gold, response, expected) cases written from the nine
benchmarks' gold answers, every category with accepted and rejected cases (among
them the answer shapes of long reasoning models: several boxes in one final
statement, golds that name their values, decorations, equivalent relations)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from justeval.grading.runner import Grader

CASES_FILE = Path(__file__).with_name("labelled_cases.jsonl")
CASES = [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]
FILLER = "We reason step by step, checking each case carefully before moving on. "


def response_of(case: dict) -> str:
    """The case's response, behind ``pad`` characters of reasoning when asked."""
    pad = case.get("pad", 0)
    return FILLER * (pad // len(FILLER)) + case["response"]


@pytest.fixture(scope="module")
def verdicts():
    grader = Grader("justeval", timeout=5.0, jobs=2)
    results = grader.grade([c["gold"] for c in CASES], [response_of(c) for c in CASES])
    return {c["id"]: r for c, r in zip(CASES, results, strict=True)}


def test_suite_shape():
    assert len(CASES) >= 600
    assert len({c["id"] for c in CASES}) == len(CASES)
    per_category = Counter((c["category"], c["expected"]) for c in CASES)
    for category in {c["category"] for c in CASES}:
        assert per_category[(category, "match")] > 0, category
        assert per_category[(category, "mismatch")] > 0, category
    assert sum(1 for c in CASES if c.get("pad", 0) >= 30000) >= 50


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, verdicts):
    result = verdicts[case["id"]]
    assert result.status == case["expected"], (
        f"gold {case['gold']!r}, extracted {result.extracted_answer!r}: "
        f"got {result.status} (layer {result.layer}), expected {case['expected']}"
    )
    assert result.rule_correct == (case["expected"] == "match")
