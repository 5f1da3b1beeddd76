"""String normalisation, units and labels, and exact-number parsing.

These are the grader's cheap layers: they run in the main process on every
(gold, answer) pair before anything is parsed, and are linear in the length.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

MAX_ANSWER_CHARS = 2000  # longer extracted answers are compared as strings only
MEMO_MAX_CHARS = 400  # texts up to this long have their canonical and normalised forms memoised

_UNICODE = {
    "−": "-", "–": "-", "×": "\\times ", "·": "\\cdot ", "÷": "\\div ", "π": "\\pi ",
    "√": "\\sqrt ", "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ", "∞": "\\infty ", "°": "^\\circ",
    "∪": "\\cup ", "∩": "\\cap ", "…": "\\ldots ", "\u00a0": " ", "\u2009": " ",
}  # fmt: skip
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))

_COMMAND_ALIASES = [
    (re.compile(r"\\[dt]frac(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\(?:leq|leqslant)(?![a-zA-Z])"), r"\\le"),
    (re.compile(r"\\(?:geq|geqslant)(?![a-zA-Z])"), r"\\ge"),
    (re.compile(r"\\(?:neq)(?![a-zA-Z])"), r"\\ne"),
    (re.compile(r"\\lt(?![a-zA-Z])"), "<"),
    (re.compile(r"\\gt(?![a-zA-Z])"), ">"),
    (re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|displaystyle|textstyle)(?![a-zA-Z])"), ""),
    (re.compile(r"\\(?:mathbf|boldsymbol|textbf|mathit|textit|emph|mathrm\{\s*\}|bf)(?![a-zA-Z])"), ""),
    (re.compile(r"(?<!\\)\\(?:[,;:! ]|(?:quad|qquad|enspace|thinspace)(?![a-zA-Z]))"), " "),
    (re.compile(r"~"), " "),
    (re.compile(r"\\(?:cdotp|centerdot)(?![a-zA-Z])"), r"\\cdot"),
    (re.compile(r"\\dots|\\ldots|\\cdots"), r"\\ldots"),
]
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])")
_PERCENT = re.compile(r"\\%|%")
_DOLLAR_SIGN = re.compile(r"\\\$")
_THOUSANDS_BRACE = re.compile(r"(?<=\d)\{,\}(?=\d{3})")
_THIN_SPACE_DIGITS = re.compile(r"(?<=\d)\\[,!;: ](?=\d{3}(?!\d))")
_THOUSANDS_BANG = re.compile(r"(?<=\d),\s*\\!\s*(?=\d{3}(?!\d))")  # 20,\!160
_BOLD_WORDS = re.compile(r"\\(?:textbf|textit|emph)\s*\{([^{}\d]*[a-zA-Z][^{}\d]*)\}")  # \textbf{cm}
_WS = re.compile(r"\s+")
# one number with thousands separators: commas between groups of three digits, no space
THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


# ---------------------------------------------------------------- repeating decimals

# 0.(3), 1.2(34), 0.\overline{3}, 1.\overline{142857}, 0.1\bar{6}: the repetend after the point
_REPETEND = re.compile(
    r"(?<![\d.])(\d*)\.(\d*)"
    r"(?:\(\s*(\d{1,60})\s*\)|\\(?:overline|bar)\s*(?:\{\s*(\d{1,60})\s*\}|(\d)))"
    r"(?!\.?\d)"
)
# 0.\dot{3}, 0.1\dot{6}: one dotted digit recurs; 0.\dot{1}4285\dot{7}: the block between two dots
_DOT = r"\\dot\s*(?:\{\s*(\d)\s*\}|(\d))"
_DOTTED = re.compile(rf"(?<![\d.])(\d*)\.(\d*){_DOT}(?:(\d{{0,60}}){_DOT})?(?!\.?\d)")


def _repeating_value(whole: str, fixed: str, repetend: str) -> str:
    """``\\frac{p}{q}`` of the number whose integer part is ``whole``, whose decimals
    are ``fixed`` and then ``repetend`` over and over."""
    period = 10 ** len(repetend) - 1
    scale = 10 ** len(fixed)
    value = Fraction(int(whole or 0)) + Fraction(int(fixed or 0), scale)
    value += Fraction(int(repetend), period * scale)
    if value.denominator == 1:
        return str(value.numerator)
    return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def repeating_decimals(s: str) -> str:
    """Repeating decimals written as the fraction they denote: ``0.(3)``,
    ``0.\\overline{3}`` and ``0.\\dot{3}`` are ``\\frac{1}{3}``, ``2.(3)`` is
    ``\\frac{7}{3}`` (not 2·3: read as a product, ``0.\\overline{3}`` was 0 and
    ``1.(G)`` equalled ``G`` for any ``G``)."""
    if "." not in s:
        return s
    s = _REPETEND.sub(lambda m: _repeating_value(m[1], m[2], m[3] or m[4] or m[5]), s)
    return _DOTTED.sub(
        lambda m: _repeating_value(
            m[1], m[2], (m[3] or m[4]) + (m[5] + (m[6] or m[7]) if m[6] or m[7] else "")
        ),
        s,
    )


def canonical_text(answer: str) -> str:
    """Light clean-up shared by every layer: spacing commands, aliases, ``$``, unicode,
    repeating decimals. Memoised for short texts (a gold is cleaned once, not once per
    response)."""
    return _canonical_memo(answer) if len(answer) <= MEMO_MAX_CHARS else _canonical(answer)


@lru_cache(maxsize=16384)
def _canonical_memo(answer: str) -> str:
    return _canonical(answer)


def _canonical(answer: str) -> str:
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group()], answer)
    s = _THOUSANDS_BRACE.sub("", s)
    s = _THOUSANDS_BANG.sub("", s)
    s = _THIN_SPACE_DIGITS.sub("", s)
    s = _BOLD_WORDS.sub(r"\\text{\1}", s)  # bold words are text (units, names), not math
    for pattern, repl in _COMMAND_ALIASES:
        s = pattern.sub(repl, s)
    s = _DEGREES.sub("", s)
    s = _PERCENT.sub("", s)
    s = _DOLLAR_SIGN.sub("", s)
    s = s.replace("$", " ")  # math-mode switches inside an answer ($,$ between items)
    s = s.strip()
    prev = None
    while prev != s:
        prev = s
        s = s.strip().rstrip(".").strip()
        if s.startswith("\\(") and s.endswith("\\)") or s.startswith("\\[") and s.endswith("\\]"):
            s = s[2:-2]
    return repeating_decimals(_WS.sub(" ", s).strip())


# ---------------------------------------------------------------- text wrappers, units, labels

_TEXT_WRAPPER = re.compile(
    r"\\(?:text|textrm|textnormal|mathrm|mbox|operatorname|textsf|mathsf)\s*\{([^{}]*)\}"
)
# multipliers are part of the value, not units: 5 million is not 5; nor are the words
# of a hedge: 5 \text{ or } \text{none} is no 5 in some unit
_SCALE = r"(?:hundred|thousand|million|billion|trillion|dozen|lakh|crore|or|and)s?(?![a-zA-Z])"
_UNIT_WORDS = (
    r"\\(?:text|textrm|textnormal|mathrm|mbox|rm)\s*\{"
    rf"(?![^{{}}]*(?<![a-zA-Z]){_SCALE})\s*[^{{}}\d=]*[a-zA-Z][^{{}}\d=]*\}}"
)
_UNIT_POWER = r"(?:\s*\^\s*\{?-?\d\}?)?"
_UNIT_TAIL = re.compile(
    rf"""(?x)
    (?<=[0-9}}\)a-zA-Z])\s*
    (?:
        {_UNIT_WORDS}{_UNIT_POWER}                                       # \text{{ cm}}^2
        (?:\s*(?:/|\\cdot)\s*{_UNIT_WORDS}{_UNIT_POWER})*                 # \text{{ m}}/\text{{s}}
      | \s(?!{_SCALE})[a-zA-Z]{{2,}}(?:\s+(?!{_SCALE})[a-zA-Z]{{2,}})*{_UNIT_POWER}  # bare words: 5 cm
    )\s*$
    """
)
# a number and its unit inside one text group: \text{5 cm}, \textbf{5 apples} (after
# canonical_text, a bare brace group)
_TEXT_NUMBER_UNIT = re.compile(
    r"^(?:\\(?:text|textrm|textnormal|mathrm|mbox)\s*)?\{\s*([+-]?\d[\d.,]*)\s*(?:\\[,;: ]|~|\s)*"
    rf"(?!{_SCALE})[a-zA-Z][^{{}}\d=]*\}}{_UNIT_POWER}$"
)
# ordinal suffixes: 12^{\mathrm{th}}, 12^{th}, 12\text{th}, 12th
_ORDINAL = re.compile(
    r"(?<=\d)\s*(?:\^\s*\{?\s*(?:\\(?:text|mathrm|textrm|rm)\s*\{\s*)?(?:st|nd|rd|th)\s*\}?\s*\}?"
    r"|\\(?:text|mathrm|textrm)\s*\{\s*(?:st|nd|rd|th)\s*\}|(?:st|nd|rd|th)(?![a-zA-Z]))\s*$"
)
# a currency written before the value: \text{USD } 5, Rs. 5, EUR 5 (\$ is dropped earlier)
_CURRENCY_LEAD = re.compile(
    r"^(?:\\text\s*\{\s*(?:USD|US|Rs\.?|INR|EUR|GBP)\s*\}|(?:USD|Rs\.?|INR|EUR|GBP)(?![a-zA-Z])|[€£¥₹])\s*(?=[\d.+-])"
)
_SUBSCRIPT = r"(?:_(?:\{[^{}]*\}|\w))?"
_LABEL = re.compile(
    r"^\s*(?:[a-zA-Z]{1,3}" + _SUBSCRIPT + r"|\\[a-zA-Z]+" + _SUBSCRIPT + r"|[a-zA-Z]\s*\([a-zA-Z]\))"
    r"\s*(?:=(?![=<>])|\\in(?![a-zA-Z]))\s*(?=\S)"
)
# nothing but words in text wrappers (no digit): a word answer, which takes no unit
_WORDS_ONLY = re.compile(r"(?:\s*\\(?:text|textrm|textnormal|mathrm|mbox)\s*\{[^{}\d]*\})+\s*")
_CHOICE = re.compile(r"^\(?\s*([A-Ea-e])\s*\)?$")


def unwrap_text(s: str) -> str:
    prev = None
    while prev != s:
        prev, s = s, _TEXT_WRAPPER.sub(lambda m: " " + m.group(1) + " ", s)
    return _WS.sub(" ", s).strip()


def strip_units(s: str) -> str:
    """Drop trailing units written after a value: ``5 \\text{ cm}``, ``12 dollars``."""
    if not re.search(r"[\d}]", s):
        return s
    s = _TEXT_NUMBER_UNIT.sub(r"\1", s)
    prev = None
    while prev != s:
        prev = s
        stripped = _ORDINAL.sub("", _UNIT_TAIL.sub("", s)).strip()
        # a unit follows a value: what is left must be one, not a word (\text{east} \text{ units})
        if stripped and re.search(r"[\d}\\]", stripped) and not _WORDS_ONLY.fullmatch(stripped):
            s = stripped
    return _CURRENCY_LEAD.sub("", s)


def strip_label(s: str) -> str:
    """``x = 5`` -> ``5``; ``f(x) = 2x`` -> ``2x``; leaves ``x \\le 5`` alone, and a
    tautology (``c = c``: no value, not a labelled one; stripped, it was the choice C)."""
    m = _LABEL.match(s)
    if m and "=" not in s[m.end() :]:
        value = s[m.end() :].strip()
        label = re.sub(r"\s|=|\\in(?![a-zA-Z])", "", s[: m.end()])
        return s if value.replace(" ", "") == label else value
    return s


def normalize(answer: str) -> str:
    """The canonical string of an answer, for the cheapest equality layer (memoised for
    short texts)."""
    return _normalize_memo(answer) if len(answer) <= MEMO_MAX_CHARS else _normalize(answer)


@lru_cache(maxsize=16384)
def _normalize_memo(answer: str) -> str:
    return _normalize(answer)


def _normalize(answer: str) -> str:
    s = canonical_text(answer)
    s = strip_units(s)
    s = unwrap_text(s)
    s = strip_label(s)
    m = _CHOICE.match(s)
    if m:
        s = m.group(1).upper()
    if THOUSANDS.match(s):
        s = s.replace(",", "")  # 58,500 is one number; 45, 120 (comma, space) stays a list
    return s.replace(" ", "")


_BASE_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "sixteen": "16",
}  # fmt: skip
_BASED = re.compile(r"^(\d+)_(?:\{(?:base)?([0-9]{1,2}|[a-z]{3,7})\}|([0-9]))$")


def _digits_and_base(normalized: str) -> tuple[str, str | None] | None:
    """(digits, base or None) of a normalised integer, ``413_6``, ``413_{six}``."""
    if normalized.isdigit():
        return normalized, None
    m = _BASED.match(normalized)
    if m is None:
        return None
    base = m.group(2) or m.group(3)
    base = _BASE_WORDS.get(base, base)
    return (m.group(1), base) if base.isdigit() else None


def same_digits_base(gold: str, answer: str) -> bool:
    """Whether two normalised answers write the same digits, one in a named base
    and the other without a base (``413_6`` and ``413``: an answer to "in base 6"
    that leaves the subscript off, or the reverse), or in the same base spelt
    differently (``413_6`` and ``413_{six}``). Different bases never match."""
    g, a = _digits_and_base(gold), _digits_and_base(answer)
    if g is None or a is None or g[0] != a[0]:
        return False
    return g[1] is None or a[1] is None or g[1] == a[1]


# ---------------------------------------------------------------- exact numbers

_INT = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)"
_DEC = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?\.\d+|[+-]?\d+\.?"
_PLAIN = re.compile(rf"^(?:{_INT}|(?:{_DEC})(?:[eE][+-]?\d+)?)$")
_FRAC = re.compile(r"^([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}$")
_SLASH = re.compile(r"^([+-]?\d+)/(\d+)$")
_TIMES_TEN = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:\\times|\\cdot|\*)10\^\{?([+-]?\d{1,4})\}?$")


@lru_cache(maxsize=16384)
def parse_number(normalized: str) -> tuple[Fraction, bool] | None:
    """An exact number and whether it was written with decimals, or None (memoised).

    Covers integers (with thousands separators), decimals, scientific
    notation, ``\\frac{a}{b}``, ``a/b`` and ``a\\times10^{k}``.
    """
    s = normalized
    if len(s) > 60:
        return None
    if _PLAIN.match(s):
        body = s.replace(",", "")
        try:
            value = Fraction(body)
        except (ValueError, ZeroDivisionError):
            return None
        return value, ("." in body or "e" in body.lower()) and value.denominator != 1
    if m := _FRAC.match(s):
        den = int(m.group(3))
        if den == 0:
            return None
        value = Fraction(int(m.group(2)), den)
        return (-value if m.group(1) == "-" else value), False
    if m := _SLASH.match(s):
        den = int(m.group(2))
        return (Fraction(int(m.group(1)), den), False) if den else None
    if m := _TIMES_TEN.match(s):
        value = Fraction(m.group(1)) * Fraction(10) ** int(m.group(2))
        return value, value.denominator != 1
    return None


def numbers_equal(gold: tuple[Fraction, bool], answer: tuple[Fraction, bool], rel_tol: float) -> bool:
    """Exact equality, or a relative tolerance when a non-integer decimal is involved
    (an integer gold still demands the exact integer)."""
    g, g_dec = gold
    a, a_dec = answer
    if g == a:
        return True
    if not (g_dec or a_dec) or g.denominator == 1:
        return False
    return abs(g - a) <= Fraction(rel_tol) * max(abs(g), abs(a))
