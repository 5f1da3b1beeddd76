"""String normalisation and exact-number parsing for the first rule grader."""

from __future__ import annotations

import re
from fractions import Fraction

_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_SPACING = re.compile(r"\\[,;:! ]|~|\\quad|\\qquad")
_DEGREES = re.compile(r"\^\s*\{?\\circ\}?|\\circ|°")
_LABEL = re.compile(r"^[A-Za-z]\s*=\s*(?=\S)")


def normalize(answer: str) -> str:
    """A canonical string for comparing two answers written the same way."""
    s = answer.strip().rstrip(".").strip()
    if len(s) >= 2 and s[0] == "$" and s[-1] == "$":
        s = s.strip("$")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _SPACING.sub("", s)
    prev = None
    while prev != s:
        prev, s = s, _WRAPPERS.sub(r"\1", s)
    s = _DEGREES.sub("", s)
    s = s.replace("\\%", "").replace("%", "").replace("\\$", "")
    s = _LABEL.sub("", s)
    s = re.sub(r"\s+", "", s)
    s = s.rstrip(".")
    return s


_INT = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)"
_DEC = r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?"
_FRAC = re.compile(r"^([+-]?)\\frac\{(" + _INT + r")\}\{(" + _INT + r")\}$")
_SLASH = re.compile(r"^(" + _INT + r")/(" + _INT + r")$")
_TIMES_TEN = re.compile(r"^(" + _DEC + r")\\times10\^\{?([+-]?\d+)\}?$")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_number(normalized: str) -> Fraction | None:
    """An exact number for integers, decimals, fractions and a x 10^k forms."""
    s = normalized
    if re.fullmatch(_INT, s):
        return Fraction(_int(s))
    if re.fullmatch(_DEC, s):
        return Fraction(s)
    if m := _FRAC.match(s):
        den = _int(m.group(3))
        if den == 0:
            return None
        value = Fraction(_int(m.group(2)), den)
        return -value if m.group(1) == "-" else value
    if m := _SLASH.match(s):
        den = _int(m.group(2))
        return Fraction(_int(m.group(1)), den) if den else None
    if m := _TIMES_TEN.match(s):
        exp = int(m.group(2))
        if abs(exp) > 400:
            return None
        return Fraction(m.group(1)) * Fraction(10) ** exp
    return None


def numbers_equal(a: Fraction, b: Fraction, rel_tol: float = 1e-9) -> bool:
    if a == b:
        return True
    if a.denominator == 1 and b.denominator == 1:
        return False
    scale = max(abs(a), abs(b))
    return abs(a - b) <= rel_tol * scale
