"""A re-implementation of JustRL's rule grader, from its described behaviour.

JustRL's ``evals/utils.py`` (descended from the Hendrycks MATH and DeepScaleR
graders) accepts an answer when the normalised strings are equal, or else when
sympy says the difference of the normalised forms simplifies to zero, with
special cases: tuples are compared element-wise, an integer gold demands an
integer answer, unreduced fractions are compared as strings, and expressions
with ``^{`` or more than two letters are never sent to sympy. There is no
timeout of its own (here the worker's deadline applies). This module is
written for this project from that description, for users who want the
published protocol's grading; it is not the default grader.
"""

from __future__ import annotations

import re

_UNITS = (
    "degrees", "degree", "cm", "centimeters", "meters", "meter", "m", "km", "inches", "inch",
    "feet", "foot", "ft", "units", "unit", "dollars", "dollar", "cents", "cent", "hours", "hour",
    "minutes", "minute", "seconds", "second", "square", "sq", "mph", "mm", "kg", "g", "ml", "l",
)  # fmt: skip


def _fix_fracs(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1b`` -> ``\\frac{1}{b}``."""
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part.startswith("{") or len(part) < 2:
            out += part
            continue
        a, b = part[0], part[1]
        if b == "{":
            out += "{" + a + "}" + part[1:]
        else:
            out += "{" + a + "}{" + b + "}" + part[2:]
    return out


def _fix_slash(s: str) -> str:
    m = re.fullmatch(r"(-?\d+)/(\d+)", s)
    return f"\\frac{{{m.group(1)}}}{{{m.group(2)}}}" if m else s


def _fix_sqrt(s: str) -> str:
    return re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", s)


def hendrycks_normalize(s: str) -> str:
    """The MATH dataset's answer normalisation, as JustRL applies it."""
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"\\text\{\s*[a-zA-Z ]*\}$", "", s).strip() or s
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if s.startswith("."):
        s = "0" + s
    if "=" in s and len(s.split("=")) == 2 and len(s.split("=")[0].strip()) <= 2:
        s = s.split("=")[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_slash(s)


def _strip_units(s: str) -> str:
    s = re.sub(r"\\(?:text|mbox|mathrm)\{([^{}]*)\}", r"\1", s)
    words = "|".join(sorted(_UNITS, key=len, reverse=True))
    return re.sub(rf"(?<=[\d}}])\s*(?:{words})(?:\^\d)?\s*$", "", s).strip()


def _is_int(s: str) -> bool:
    try:
        float(s.replace(",", ""))
    except ValueError:
        return False
    return abs(float(s.replace(",", "")) - round(float(s.replace(",", "")))) <= 1e-7


def _is_unreduced_fraction(s: str) -> bool:
    m = re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", s)
    if not m:
        return False
    import math

    a, b = int(m.group(1)), int(m.group(2))
    return b != 0 and math.gcd(a, b) != 1


def _sympy_allowed(s: str) -> bool:
    letters = {c for c in re.sub(r"\\[a-zA-Z]+", "", s) if c.isalpha()}
    return "^{" not in s and "^(" not in s and len(letters) <= 2


def _to_sympy(s: str):
    import sympy
    from pylatexenc.latex2text import LatexNodes2Text
    from sympy.parsing.sympy_parser import (
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    text = s.replace("\\sqrt", "\\sqrt").replace("\\pi", "pi")
    text = LatexNodes2Text().latex_to_text(text)
    text = text.replace("√", "sqrt").replace("π", "pi").replace("∞", "oo").replace("^", "**")
    text = text.replace("·", "*").replace("×", "*").replace(",\\!", "")
    return parse_expr(
        text,
        transformations=standard_transformations + (implicit_multiplication_application,),
        evaluate=True,
        local_dict={"pi": sympy.pi, "e": sympy.E},
    )


def _elements(s: str) -> list[str]:
    if len(s) > 2 and s[0] in "([" and s[-1] in ")]":
        return [p.strip() for p in s[1:-1].split(",")]
    return [s]


def _element_equal(gold: str, answer: str) -> bool:
    if gold == answer:
        return True
    if _is_int(gold) and not _is_int(answer):
        return False
    if _is_unreduced_fraction(gold) or _is_unreduced_fraction(answer):
        return gold == answer
    if not (_sympy_allowed(gold) and _sympy_allowed(answer)):
        return False
    try:
        import sympy

        return sympy.simplify(_to_sympy(gold) - _to_sympy(answer)) == 0
    except Exception:
        return False


def justrl_equal(gold: str, answer: str) -> tuple[bool, str]:
    g = _strip_units(hendrycks_normalize(gold))
    a = _strip_units(hendrycks_normalize(answer))
    if g == a:
        return True, "string"
    gs, as_ = _elements(g), _elements(a)
    if len(gs) != len(as_) or (len(gs) > 1 and (g[0] != a[0] or g[-1] != a[-1])):
        return False, "structure"
    return all(_element_equal(x, y) for x, y in zip(gs, as_, strict=True)), "sympy"
