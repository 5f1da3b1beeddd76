"""Answers that could match anything, refused before any grader compares them.

Every rule grader (ours and the two from other projects) runs behind this
guard. It refuses an extracted answer that does not commit to a value the
gold does not also have:

- a hedge: two or more values joined by "or" or "and" (``3 \\text{ or } 4``)
  against a gold that is one value;
- a tautology: an equation whose two sides are the same text (``0=0``, ``x=x``,
  ``c=c``), checked before anything is normalised (dropping the label ``c =``
  would leave ``c``, the choice letter of ``\\text{(C)}``);
- an equation against a gold that is a choice letter (``a=b`` or ``x=C`` against
  ``\\text{(B)}``, ``(C)``): a choice is a letter, and a name dropped from an
  equation must not leave one;
- an infinity, or an open-ended list (``0, 1, 2, \\ldots``), against a gold that
  is a plain number;
- a bare variable (``x``, ``n``, ``\\theta``) against a gold that is not that
  same variable (possibly named: ``N=n``).

Each rule comes from a measured false accept (``tests/grading/
test_universal_answers.py``): Hendrycks' normaliser, which JustRL's grader
uses, reads ``3 \\text{ or } 4`` as 3 and ``0=0`` as 0, and turns ``\\cot x``
into ``x``; math-verify 0.9 verifies ``\\infty^\\infty`` against dozens of
numbers. For the ``justrl`` grader this is the one place where the pipeline
departs from JustRL's own verdicts; on the real outputs in ../shared it never
fires (tested). The checks are linear in the answer's length.
"""

from __future__ import annotations

import re

from .normalize import canonical_text, normalize, parse_number, unwrap_text

# "or"/"and" joining values (in \text{} or bare), or a logical or
_HEDGE = re.compile(r"\\(?:lor|vee|land|wedge)(?![a-zA-Z])|(?<![a-zA-Z\\])(?:or|and)(?![a-zA-Z])")
_SEVERAL = re.compile(r",|;|\\pm|\\mp|\\cup|(?<![a-zA-Z\\])(?:or|and)(?![a-zA-Z])")
_INFINITY = re.compile(r"\\infty|∞")
_OPEN_LIST = re.compile(r",\s*(?:\\[lc]?dots|\.\.\.|…)")
# a free variable (e and i are constants; capital letters may be choices, which
# normalise like the gold when they are right)
_VARIABLE = re.compile(
    r"^(?:[a-df-hj-z]|\\(?:alpha|beta|gamma|delta|theta|lambda|mu|phi|psi|omega|sigma|tau))$"
)
_EQUALS = re.compile(r"(?<![<>!\\])=(?!=)")
_CHOICE_LETTER = re.compile(r"^(?:\([A-Ea-e]\)|[A-E])$")


# what an answer with an infinity may truly equal: sets, intervals, relations, words
_SET_WORDS = "infty|mathbb|emptyset|varnothing|text|le|ge|leq|geq|lt|gt|ne|neq|cup|cap|in|notin|setminus|mid"
_SET_LIKE = re.compile(rf"\\(?:{_SET_WORDS})(?![a-zA-Z])|∞|[()\[\]<>≤≥≠]|[a-zA-Z]{{2,}}")
_COMMAND = re.compile(rf"\\(?!(?:{_SET_WORDS})(?![a-zA-Z]))[a-zA-Z]+")


def _is_plain_value(normalized: str, text: str) -> bool:
    """A gold (given normalised and as canonical text) that is a number or a closed
    expression (``\\frac65``, ``2\\sqrt3``): nothing an infinity or an open-ended list
    could be equal to."""
    if parse_number(normalized) is not None:
        return True
    return not _SET_LIKE.search(_COMMAND.sub("", text))


def _tautology(text: str) -> bool:
    sides = _EQUALS.split(text.replace(" ", ""))
    return len(sides) == 2 and bool(sides[0]) and sides[0] == sides[1]


def is_choice(text: str) -> bool:
    """Whether an answer is a multiple-choice letter: ``C``, ``(C)``, ``(c)``,
    ``\\text{(C)}``, ``\\textbf{(C)}`` (a lone lower-case letter is a variable)."""
    return bool(_CHOICE_LETTER.match(unwrap_text(canonical_text(text)).replace(" ", "").strip("{}")))


def refuses(gold: str, answer: str) -> bool:
    """Whether ``answer`` is refused against ``gold`` without comparing them."""
    text, gold_text = canonical_text(answer), canonical_text(gold)
    if text == gold_text:
        return False
    if _tautology(text) and not _tautology(gold_text):
        return True  # a tautology states no value (before normalising drops a side as a label)
    if _EQUALS.search(text) and is_choice(gold):
        return True  # an equation is no choice letter, whatever its sides are
    g, a = normalize(gold), normalize(answer)
    if g == a:
        return False
    if not a.strip("{}"):
        return True  # nothing left once spacing and wrappers are gone (\displaystyle \quad, {})
    single_gold = not _SEVERAL.search(gold_text)
    if single_gold and _HEDGE.search(text):
        return True  # several values joined by "or" / "and" against one value
    if (_INFINITY.search(text) or _OPEN_LIST.search(text)) and _is_plain_value(g, gold_text):
        return True
    return bool(_VARIABLE.match(a))  # a bare variable that is not the gold
