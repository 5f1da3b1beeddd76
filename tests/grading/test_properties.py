"""Property-based tests: rewritten forms are equal, perturbations are not, grading is
symmetric, and no input makes the grader exceed its budget."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justeval.grading.compare import full, quick
from justeval.grading.runner import Grader

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

integers = st.integers(min_value=-(10**7), max_value=10**7)
fractions = st.builds(Fraction, st.integers(-(10**5), 10**5), st.integers(1, 10**4)).filter(
    lambda f: f.denominator != 1
)


def latex_frac(f: Fraction) -> str:
    sign = "-" if f < 0 else ""
    return f"{sign}\\frac{{{abs(f.numerator)}}}{{{f.denominator}}}"


def thousands(n: int) -> str:
    return f"{n:,}"


def integer_forms(n: int) -> list[str]:
    return [
        str(n),
        f"{n}.0",
        thousands(n),
        f"{thousands(n).replace(',', '{,}')}",
        f"\\frac{{{2 * n}}}{{2}}",
        f"x = {n}",
        f"{n} \\text{{ cm}}",
        f"${n}$",
        f"{n}^\\circ",
    ]


def fraction_forms(f: Fraction) -> list[str]:
    forms = [latex_frac(f), latex_frac(f).replace("\\frac", "\\dfrac"), f"{f.numerator}/{f.denominator}"]
    forms.append(f"\\frac{{{3 * f.numerator}}}{{{3 * f.denominator}}}")
    if 10**12 % f.denominator == 0:  # a finite decimal
        forms.append(str(float(f)) if abs(f) < 10**6 else format(float(f), ".12f"))
    return forms


def grade_pair(gold: str, answer: str) -> bool:
    decided = quick(gold, answer)
    return decided[0] if decided is not None else full(gold, answer)[0]


@SETTINGS
@given(integers)
def test_integer_forms_are_equal(n):
    for form in integer_forms(n):
        assert grade_pair(str(n), form), (n, form)


@SETTINGS
@given(fractions)
def test_fraction_forms_are_equal(f):
    gold = latex_frac(f)
    for form in fraction_forms(f):
        assert grade_pair(gold, form), (gold, form)


@SETTINGS
@given(integers, st.integers(min_value=1, max_value=1000), st.booleans())
def test_perturbed_integers_are_not_equal(n, delta, up):
    wrong = n + delta if up else n - delta
    for form in integer_forms(wrong):
        assert not grade_pair(str(n), form), (n, form)


@SETTINGS
@given(fractions, st.sampled_from([Fraction(1, 1000), Fraction(1), Fraction(-1, 7), Fraction(1, 10**6)]))
def test_perturbed_fractions_are_not_equal(f, delta):
    assert not grade_pair(
        latex_frac(f), latex_frac(f + delta) if (f + delta).denominator != 1 else str(f + delta)
    )


radicands = st.integers(min_value=2, max_value=200).filter(lambda k: int(k**0.5) ** 2 != k)


@SETTINGS
@given(st.integers(1, 50), st.integers(1, 50), radicands, st.integers(1, 12))
def test_surd_forms_are_equal_and_symmetric(a, b, k, d):
    gold = f"\\frac{{{a} + {b}\\sqrt{{{k}}}}}{{{d}}}"
    forms = [
        f"\\frac{{{a}}}{{{d}}} + \\frac{{{b}\\sqrt{{{k}}}}}{{{d}}}",
        f"\\frac{{{b}\\sqrt{{{k}}} + {a}}}{{{d}}}",
        f"({a} + {b}\\sqrt{{{k}}})/{d}",
    ]
    for form in forms:
        assert grade_pair(gold, form), (gold, form)
        assert grade_pair(form, gold), (form, gold)
    near = f"{a} + \\frac{{{b}\\sqrt{{{k}}}}}{{{d}}}" if d > 1 else f"{a + 1} + {b}\\sqrt{{{k}}}"
    assert not grade_pair(gold, near)
    assert not grade_pair(near, gold)


@SETTINGS
@given(st.lists(st.integers(-50, 50), min_size=2, max_size=6), st.randoms())
def test_lists_are_unordered_multisets_and_tuples_ordered(items, rnd):
    gold = ", ".join(map(str, items))
    shuffled = items[:]
    rnd.shuffle(shuffled)
    assert grade_pair(gold, ", ".join(map(str, shuffled)))
    assert not grade_pair(gold, ", ".join(map(str, items + [items[0]])))
    assert not grade_pair(gold, ", ".join(map(str, items[:-1])))
    tuple_gold = f"({gold})"
    if shuffled != items:
        assert not grade_pair(tuple_gold, f"({', '.join(map(str, shuffled))})")
    assert grade_pair(tuple_gold, f"\\left( {gold} \\right)")


latex_atoms = st.sampled_from(
    ["1", "2", "x", "\\pi", "\\sqrt{", "\\frac{", "{", "}", "^", "_", "(", ")", "+", "-", "!", "10",
     "\\infty", ",", "\\cup", "[", "]", "\\le", "=", "e", "\\sin", "\\log", "9999", ".", "\\{", "\\}"]
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(latex_atoms, min_size=1, max_size=40), st.lists(latex_atoms, min_size=1, max_size=40))
def test_no_input_exceeds_the_budget(gold_atoms, answer_atoms):
    grader = _budget_grader()
    gold, answer = "".join(gold_atoms), "".join(answer_atoms)
    start = time.monotonic()
    (result,) = grader.grade([gold], [f"\\boxed{{{answer}}}"])
    assert time.monotonic() - start < grader.timeout + 2.0
    assert result.status in ("match", "mismatch", "no_answer", "timeout", "error")


_GRADER = {}


def _budget_grader() -> Grader:
    if "g" not in _GRADER:
        _GRADER["g"] = Grader("justeval", timeout=2.0, jobs=1)
    return _GRADER["g"]


@pytest.mark.parametrize(
    "answer",
    [
        "10^{10^{10^{10}}}",
        "2^{2^{2^{2^{2^{5}}}}}",
        "(10^{9})!",
        "{" * 200 + "1" + "}" * 200,
        "\\sqrt{" * 100 + "2" + "}" * 100,
        "1+" * 1500 + "1",
        "9" * 5000,
        "\\sin(10^{100000})",
    ],
    ids=["tower", "tower2", "factorial", "braces", "radicals", "long-sum", "long-literal", "trig-huge"],
)
def test_explosive_answers_stay_within_budget(answer):
    grader = _budget_grader()
    start = time.monotonic()
    (result,) = grader.grade(["1"], [f"\\boxed{{{answer}}}"])
    assert time.monotonic() - start < grader.timeout + 2.0
    assert not result.rule_correct
