"""The guard in front of every rule grader: what it refuses, and what it must let through."""

from __future__ import annotations

import pytest

from justeval.grading.guard import refuses

REFUSED = [
    ("3", r"3 \text{ or } 4"),  # a hedge against one value
    ("k=3", r"3 \text{ and } 4"),
    ("3", r"3 \lor 4"),
    ("0", "0=0"),  # tautologies state no value
    ("N=n", "x=x"),
    ("5", r"\infty^\infty"),  # an infinity against a number
    ("-125", r"+\infty"),
    (r"\frac65", r"\infty^\infty"),  # a closed expression is no set either
    (r"2\sqrt3", r"-\infty"),
    ("2", r"0, 1, 2, \ldots"),  # an open-ended list against a number
    (r"\cot x", "x"),  # a bare variable that is not the gold
    ("x=5", "x"),
    ("2n", "n"),
    (r"\text{(C)}", "c=c"),  # a tautology, before "c =" is dropped as a label (it left the choice C)
    (r"\alpha", r"\alpha=\alpha"),
    (r"\pi", r"\pi = \pi"),
    ("m", "m=m"),  # both external graders accept this one
    (r"\text{(B)}", "a=b"),  # an equation is no choice letter, whatever its sides
    (r"\text{(B)}", "x=b"),
    (r"\text{(E)}", "x=E"),
    ("(C)", r"\text{Answer} = C"),
    ("5", r"\displaystyle \quad"),  # nothing left
    ("5", r"\text{}"),
]
LET_THROUGH = [
    ("3,4", r"3 \text{ or } 4"),  # the gold has several values: the graders decide
    (r"\pm 2", "2 or -2"),
    ("x", "x"),
    ("N=n", "n"),
    (r"\alpha", r"\alpha"),
    ("e", "e"),
    (r"\text{(C)}", "C"),
    (r"(-\infty,3]", r"x \le 3"),
    (r"(-\infty, \infty)", r"\mathbb{R}"),
    (r"\infty", r"+\infty"),
    ("x>2", r"(2, \infty)"),  # relations and sets may be written with infinities
    (r"x \neq 2", r"(-\infty,2)\cup(2,\infty)"),
    ("2", "x = 2"),
    (r"\frac{1}{2}", "0.5"),
    ("1,2,3", r"1, 2, \text{and } 3"),
    (r"\text{Devon}", r"\text{Devon}"),
    (r"\text{(C)}", r"\textbf{(C)}"),
    ("c", "x=c"),  # a lower-case letter alone is a variable, not a choice
    ("m", "k=m"),
    ("N=n", "N=n"),
]


@pytest.mark.parametrize("gold, answer", REFUSED)
def test_refused(gold, answer):
    assert refuses(gold, answer)


@pytest.mark.parametrize("gold, answer", LET_THROUGH)
def test_let_through(gold, answer):
    assert not refuses(gold, answer)
