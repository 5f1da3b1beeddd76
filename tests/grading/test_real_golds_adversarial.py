"""Adversarial answers against every gold of the nine shared benchmarks (1,069
distinct golds no one here wrote): a gold never accepts itself plus one or minus
one, and a bare number is accepted only by the golds that are that number.

These found two false accepts of the default grader: CMIMC25's ``2024^{4046}``
took ``2024^{4046}-1`` (its exact value, beyond 20,000 bits, was rounded to 50
digits), and Minerva's ``I(0) e^{-t/(RC)}`` took every answer 0 (``I(0)`` read as
I·0).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pytest

from conftest import prepared_benchmarks
from justeval.grading.normalize import normalize, parse_number
from justeval.grading.runner import Grader

# golds whose own minus one the relative tolerance of a decimal absorbs: a
# Minerva formula of order 10^{16} at the sampled points (0.007 in it)
TOLERATED = {"minus one": {r"\frac{dM}{dt}=\frac{10^{5} L_{\odot}}{0.007 c^{2} M_{\odot}^{6}} M^{6}"}}


@lru_cache(maxsize=1)
def golds() -> list[str]:
    """Every distinct gold of the nine benchmarks, as prepared."""
    return list(dict.fromkeys(g for frame in prepared_benchmarks().values() for g in frame["answer"]))


def _accepting(golds_: list[str], answers: list[str]) -> list[str]:
    """The golds that accept their answer."""
    responses = [f"So the answer is \\boxed{{{a}}}." for a in answers]
    results = Grader("justeval", 10, 2).grade(golds_, responses)
    return [g for g, r in zip(golds_, results, strict=True) if r.rule_correct]


@pytest.mark.parametrize(
    ("name", "near_miss"),
    [("plus one", lambda g: f"({g})+1"), ("minus one", lambda g: f"{g}-1")],
)
def test_no_gold_accepts_its_near_miss(name, near_miss):
    all_golds = golds()
    assert len(all_golds) == 1069
    accepted = _accepting(all_golds, [near_miss(g) for g in all_golds])
    assert set(accepted) == TOLERATED.get(name, set())


def _value(text: str):
    parsed = parse_number(normalize(text))
    return None if parsed is None else parsed[0]


_LABEL = re.compile(r"^[A-Za-z]\w*(\([a-z]\))?=")


@pytest.mark.parametrize("answer", ["0", "1", "2", "-1", r"\frac{1}{2}", "x", r"\infty"])
def test_a_bare_answer_is_accepted_only_by_the_golds_it_is(answer):
    all_golds = golds()
    accepted = _accepting(all_golds, [answer] * len(all_golds))
    value = _value(answer)
    for gold in accepted:  # `k=1`, `f(x)=1`, `+2`, `0.5` are the number itself
        assert _value(_LABEL.sub("", gold).lstrip("+")) == value, (answer, gold)
    if value is not None:
        assert accepted, answer  # the nine benchmarks hold each of these numbers
