"""The first rule grader and the grading runner."""

from __future__ import annotations

import pytest

from justeval.grading import grade_responses
from justeval.grading.normalize import normalize, parse_number


@pytest.mark.parametrize(
    "gold, answer",
    [
        ("204", "204"),
        ("204", "204.0"),
        ("\\frac{1}{2}", "\\dfrac{1}{2}"),
        ("\\frac{1}{2}", "0.5"),
        ("\\frac{1}{2}", "1/2"),
        ("1000", "1,000"),
        ("90^\\circ", "90"),
        ("50\\%", "50"),
        ("\\text{Evelyn}", "Evelyn"),
        ("x = 3", "3"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),
        ("4.5e33", "4.5\\times10^{33}"),
        ("-984", "-984"),
    ],
)
def test_equivalent_forms_match(gold, answer):
    (result,) = grade_responses([gold], [f"so \\boxed{{{answer}}}"])
    assert result.status == "match", (gold, answer)
    assert result.rule_correct


@pytest.mark.parametrize(
    "gold, answer",
    [
        ("204", "205"),
        ("\\frac{1}{2}", "\\frac{1}{3}"),
        ("1e-8", "2e-8"),
        ("16,3,1", "16,3,1,1"),
        ("52_8", "52_1"),
        ("\\frac{1+\\sqrt{31}}{2}", "1+\\frac{\\sqrt{31}}{2}"),
    ],
)
def test_near_misses_fail(gold, answer):
    (result,) = grade_responses([gold], [f"\\boxed{{{answer}}}"])
    assert result.status == "mismatch"
    assert not result.rule_correct


def test_statuses_and_memo():
    results = grade_responses(["1", "1", "1", "1"], ["\\boxed{1}", "no box", "\\boxed{2}", "cut \\boxed{1"])
    assert [r.status for r in results] == ["match", "no_answer", "mismatch", "no_answer"]
    assert [r.extracted_answer for r in results] == ["1", None, "2", None]


def test_a_crashing_grader_gives_error_status(monkeypatch):
    from justeval.grading import runner

    def boom(gold, answer, timeout):
        raise RuntimeError("bug")

    monkeypatch.setitem(runner.GRADERS, "justeval", boom)
    (result,) = grade_responses(["1"], ["\\boxed{1}"])
    assert (result.status, result.rule_correct) == ("error", False)


def test_math_verify_grader():
    results = grade_responses(["\\frac{1}{2}", "3"], ["\\boxed{0.5}", "\\boxed{4}"], grader="math_verify")
    assert [r.status for r in results] == ["match", "mismatch"]


def test_normalize_and_numbers():
    assert normalize("$\\left(1, 2\\right)$.") == "(1,2)"
    assert parse_number("1,234") == 1234
    assert parse_number("\\frac{3}{0}") is None
    assert parse_number("abc") is None
