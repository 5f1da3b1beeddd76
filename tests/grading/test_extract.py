"""Final-answer extraction from responses."""

from __future__ import annotations

import pytest

from justeval.grading.extract import MAX_FINAL_BOXES, final_boxes, justeval_answer, last_boxed


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


# ---------------------------------------------------------------- several boxes in one statement


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\boxed{(3,4)}, \\boxed{(4,3)}", [(None, "(3,4)"), (None, "(4,3)")]),
        ("so $\\boxed{2}$ and $\\boxed{5}$.", [(None, "2"), (None, "5")]),
        ("\\boxed{a=12} and \\boxed{b=7}", [(None, "a=12"), (None, "b=7")]),
        ("$x = \\boxed{2}$ or $x = \\boxed{5}$", [("x", "2"), ("x", "5")]),
        ("\\(\\boxed{1}\\) \\quad \\text{and} \\quad \\(\\boxed{3}\\)", [(None, "1"), (None, "3")]),
        ("\\boxed{1}; \\boxed{2}; \\boxed{3}", [(None, "1"), (None, "2"), (None, "3")]),
        ("the root is \\boxed{1} and the sum is \\boxed{-1}", [(None, "-1")]),  # words between
        ("\\boxed{1}" + " " * 41 + "\\boxed{2}", [(None, "2")]),  # too far apart
        ("\\boxed{1}, \\boxed{2", []),  # last box cut off
        ("\\boxed{\\boxed{9}}", [(None, "9")]),
    ],
)
def test_final_boxes(text, expected):
    assert final_boxes(text) == expected


@pytest.mark.parametrize(
    "response, gold, expected",
    [
        ("\\boxed{1}, \\boxed{-2}", "1,-2", "1, -2"),
        ("\\boxed{1}, \\boxed{-2}", "1", "-2"),  # a single-value gold: the last box decides
        ("\\boxed{1+\\sqrt{5}} and \\boxed{1-\\sqrt{5}}", "1 \\pm \\sqrt{5}", "1+\\sqrt{5}, 1-\\sqrt{5}"),
        ("$a = \\boxed{5}$ and $b = \\boxed{7}$", "(a,b)=(5,7)", "a=5, b=7"),
        ("\\boxed{3}, \\boxed{150}", "3, 150", "3, 150"),  # a list (comma, space)
        ("\\boxed{3}, \\boxed{150}", "3,150", "150"),  # one number with a separator
        ("no box", "1,-2", None),
    ],
)
def test_justeval_answer(response, gold, expected):
    assert justeval_answer(response, gold) == expected


def test_final_boxes_linear_on_many_boxes():
    text = "\\boxed{1}, " * 100_000 + "\\boxed{2}"
    boxes = final_boxes(text)
    assert len(boxes) == MAX_FINAL_BOXES and boxes[-1] == (None, "2")
    assert final_boxes("{" * 150_000 + "\\boxed{" + "x" * 150_000) == []
