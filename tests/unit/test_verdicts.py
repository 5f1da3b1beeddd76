"""Parsing the verifier's answer, and the cascade."""

from __future__ import annotations

import pytest

from justeval.stages.model_grade import final_correct, parse_verdict


@pytest.mark.parametrize(
    "text, exact, lenient",
    [
        ("A", "A", "A"),
        ("  B\n", "B", "B"),
        ("C", "C", "C"),
        ("**A**", "unparsed", "A"),
        ("A: CORRECT", "unparsed", "A"),
        ("The answer is INCORRECT.", "unparsed", "B"),
        ("correct", "unparsed", "A"),
        ("invalid response", "unparsed", "C"),
        ("AAAA", "unparsed", "unparsed"),
        ("Answer: maybe", "unparsed", "unparsed"),
        ("", "unparsed", "unparsed"),
        (None, "unparsed", "unparsed"),
    ],
)
def test_parse_modes(text, exact, lenient):
    assert parse_verdict(text, "exact") == exact
    assert parse_verdict(text, "lenient") == lenient


def test_unknown_mode():
    with pytest.raises(ValueError):
        parse_verdict("A", "fuzzy")


@pytest.mark.parametrize(
    "rule, verdict, expected",
    [
        (True, None, True),
        (False, None, False),
        (False, "A", True),
        (False, "B", False),
        (False, "C", False),
        (False, "unparsed", False),
        (True, "B", True),
    ],
)
def test_cascade(rule, verdict, expected):
    assert final_correct(rule, verdict) is expected
