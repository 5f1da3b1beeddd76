"""Final-answer extraction from responses."""

from __future__ import annotations

import pytest

from justeval.grading.extract import last_boxed


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so the answer is \\boxed{42}.", "42"),
        ("\\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\fbox{7}", "7"),
        ("first \\fbox{7} then \\boxed{8}", "8"),
        ("first \\boxed{8} then \\fbox{7}", "7"),
        ("\\boxed 5$", "5"),
        ("answer: $\\boxed 12$.", "12"),
        ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
        ("\\boxed{ 3 }", "3"),
        ("\\boxed{\\boxed{9}}", "9"),
        ("\\boxed {10}", "10"),
    ],
)
def test_last_box(text, expected):
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "no box here, the answer is 42",
        "\\boxed{42} and later a cut-off \\boxed{4",
        "\\boxed{}",
        "\\boxedx{3}",
    ],
)
def test_no_answer(text):
    assert last_boxed(text) is None


def test_linear_on_long_responses():
    # 300k characters of unbalanced braces must not take quadratic time
    text = "{" * 150_000 + "\\boxed{" + "x" * 150_000
    assert last_boxed(text) is None
    assert last_boxed("a" * 1_000_000 + "\\boxed{1}") == "1"
