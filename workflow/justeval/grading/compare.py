"""Equivalence of a gold answer and an extracted answer, layer by layer.

``quick`` holds the cheap layers (normalised strings, exact numbers) and runs in
the grading process itself. ``full`` adds the structured and numeric layers
and, only for what they cannot read, sympy; it runs in worker processes under a
hard deadline (see :mod:`pool`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from . import latex, named, structure
from .guard import refuses
from .normalize import (
    MAX_ANSWER_CHARS,
    canonical_text,
    normalize,
    numbers_equal,
    parse_number,
    same_digits_base,
)

REL_TOL = 1e-6  # relative tolerance when a non-integer decimal is involved

# where a verdict was decided: extraction (no answer), the cheap layers, the
# structured and numeric layers, sympy, the guard that keeps sympy off explosive
# input, or the deadline / an error; the other graders' verdicts carry their
# own layer (``math_verify``, ``mathruler`` for justrl)
LAYERS = (
    "extract", "universal", "string", "number", "structure", "numeric", "sympy", "guard", "timeout",
    "error", "math_verify", "mathruler",
)  # fmt: skip


def quick(gold: str, answer: str) -> tuple[bool, str] | None:
    """(equal, layer) from the cheap layers, or None when they cannot decide."""
    ng, na = normalize(gold), normalize(answer)
    if ng == na or same_digits_base(ng, na):
        return True, "string"
    if len(answer) > MAX_ANSWER_CHARS:
        return False, "string"  # enormous answers are never parsed
    if "," in ng or "," in na:
        return None  # normalize keeps only the commas that separate items (45, 120)
    pg, pa = parse_number(ng), parse_number(na)
    if pg is not None and pa is not None:
        return numbers_equal(pg, pa, REL_TOL), "number"
    return None


def full(gold: str, answer: str) -> tuple[bool, str]:
    """Every layer, cheap first; sympy only for what the own parser cannot read. The guard
    first, as in front of every grader (:mod:`guard`), so that a direct call is guarded too."""
    if refuses(gold, answer):
        return False, "universal"
    decided = quick(gold, answer)
    if decided is not None:
        return decided
    return named.decide(gold, answer, _part, _layers)


def _part(gold: str, answer: str) -> tuple[bool, str]:
    """Two parts of named answers (see :mod:`named`): the cheap layers, then the rest."""
    return quick(gold, answer) or _layers(gold, answer)


def _layers(gold: str, answer: str) -> tuple[bool, str]:
    """The structured and numeric layers, then sympy for what they cannot read."""
    try:
        g, a = structure.read(gold), structure.read(answer)
        if not (structure.has_raw(g) or structure.has_raw(a)):
            return structure.compare_values(g, a, REL_TOL)
        ok, layer = structure.compare_values(g, a, REL_TOL)
        if ok:
            return ok, layer
    except latex.Huge as huge:
        if huge.log2 > SYMPY_MAX_LOG2:
            return False, "guard"  # two values of millions of digits: sympy would not finish
    except (latex.TooLarge, structure.Unreadable, latex.ParseError, RecursionError):
        pass
    if not (sympy_safe(gold) and sympy_safe(answer)):
        return False, "guard"
    return sympy_equal(gold, answer), "sympy"


_TOWER = re.compile(r"\^\s*\{[^{}]*\^|\^\s*\d+\s*\^")
_BIG_LITERAL = re.compile(r"\d{40,}")
# the factorial of a power or of a literal of five digits or more: (10^9)!, 100000!
_BIG_FACTORIAL = re.compile(r"(?:\d{5,}|\^\s*\{?\s*\d+\s*\}?)\s*[)}]?\s*!")
# a decimal point before a group that is no repetend (1.(x+1)): not a number; read as a
# product, 1.(G) would equal G (a repeating decimal, 0.(3), is a fraction by then)
_DECIMAL_GROUP = re.compile(r"\d\.\s*(?:\(|\\(?:overline|bar|dot)(?![a-zA-Z]))")
SYMPY_MAX_CHARS = 300
SYMPY_MAX_DEPTH = 12
SYMPY_MAX_LOG2 = 2_000_000  # bits of a value (two of them compared) beyond which sympy is not tried


def sympy_safe(text: str) -> bool:
    """Refuse inputs known to make sympy explode or misread: long strings, exponent
    towers, huge literals and factorials, deep nesting, a decimal point before a group."""
    if len(text) > SYMPY_MAX_CHARS or _TOWER.search(text) or _BIG_LITERAL.search(text):
        return False
    text = canonical_text(text)
    if _BIG_FACTORIAL.search(text) or _DECIMAL_GROUP.search(text):
        return False
    depth = deepest = 0
    for ch in text:
        if ch in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")}]":
            depth -= 1
    return deepest <= SYMPY_MAX_DEPTH


@lru_cache(maxsize=4096)
def _to_sympy(text: str):
    """latex2sympy2-extended's reading of a text, or None where it cannot read it
    (memoised either way: a gold is read once per worker, not once per answer)."""
    from latex2sympy2_extended import latex2sympy

    from .normalize import strip_label, strip_units

    try:
        return latex2sympy(strip_label(strip_units(canonical_text(text))))
    except Exception:
        return None


def _numerically_equal(g, a) -> bool | None:
    """Evaluate g - a at random points: True if ~0 everywhere, False if clearly not,
    None if it cannot be evaluated (then sympy.simplify decides).

    A non-finite value (nan from ``1/0``, ``\\log 0``, ``0^{-1}``; an infinity) is
    equal only to the very same infinity: nan compares False with everything, so
    a plain tolerance test would call it close to any number."""
    import cmath
    import random

    import sympy

    names = sorted(g.free_symbols | a.free_symbols, key=str)
    rng = random.Random(1234)
    for _ in range(3):
        point = {s: sympy.Float(rng.uniform(1.1, 2.9), 30) for s in names}
        try:
            gs, as_ = g.evalf(30, subs=point), a.evalf(30, subs=point)
            if _has_undefined(gs) or _has_undefined(as_):
                return False
            if gs.has(sympy.oo) or as_.has(sympy.oo):
                if gs != as_:
                    return False
                continue  # the same infinity on both sides
            gv, av = complex(gs), complex(as_)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        if not (cmath.isfinite(gv) and cmath.isfinite(av)):
            return None  # finite, but beyond floats (2024^{4046}): simplify decides
        scale = max(abs(gv), abs(av))
        if abs(gv - av) > 1e-12 * max(scale, 1e-300):
            return False
    return True


def _has_undefined(value) -> bool:
    """Whether a sympy value contains ``nan`` or ``zoo`` (what sympy makes of
    ``\\frac{1}{0}``, ``\\frac{0}{0}``, a time ``12:00``): undefined equals nothing."""
    import sympy

    try:
        return bool(value.has(sympy.nan, sympy.zoo))
    except (AttributeError, TypeError):
        return False


def _has_infinity(value) -> bool:
    """Whether a sympy value contains any non-finite part (``oo``, ``zoo``, ``nan``)."""
    import sympy

    try:
        return bool(value.has(sympy.oo, sympy.zoo, sympy.nan))
    except (AttributeError, TypeError):
        return False


def sympy_equal(gold: str, answer: str) -> bool:
    """Last resort: both sides through latex2sympy2-extended, then sympy; a numeric
    check first, ``simplify`` only when the values cannot be evaluated."""
    import sympy

    # the answer first: one that cannot be read, or is undefined (12:00 is 12/0), needs no
    # reading of the gold (undefined values equal nothing, not even each other)
    a = _to_sympy(answer)
    if a is None or _has_undefined(a):
        return False
    g = _to_sympy(gold)
    if g is None:
        return False
    try:
        if _has_undefined(g):
            return False
        if g == a:
            return True
        if isinstance(g, sympy.Expr) and isinstance(a, sympy.Expr):
            numeric = _numerically_equal(g, a)
            if numeric is not None:
                return numeric
            if _has_infinity(g) or _has_infinity(a):
                return False  # oo - oo is nan: simplify says nothing sound about infinities
        return bool(sympy.simplify(g - a) == 0)
    except Exception:
        try:
            return bool(g.equals(a))
        except Exception:
            return False


def math_verify_equal(gold: str, answer: str) -> tuple[bool, str]:
    """The math-verify package on the extracted answer, its own timeouts off
    (the worker's deadline applies)."""
    from math_verify import parse, verify

    gold_parsed = parse(f"${gold}$", parsing_timeout=None)
    answer_parsed = parse(f"\\boxed{{{answer}}}", parsing_timeout=None)
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=None)), "math_verify"
