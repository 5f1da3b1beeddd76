"""Reading the verifier's output, and the cascade's final verdict."""

from __future__ import annotations

import re

VERDICTS = ("A", "B", "C")
UNPARSED = "unparsed"

_FIRST_LETTER = re.compile(r"^\W*([ABC])(?![A-Za-z0-9])")
_WORDS = re.compile(r"\b(INCORRECT|CORRECT|INVALID)\b")
_WORD_VERDICT = {"CORRECT": "A", "INCORRECT": "B", "INVALID": "C"}


def parse_verdict(output: str | None, mode: str = "lenient") -> str:
    """A, B or C from the verifier's text, else ``unparsed``.

    ``exact`` (JustRL's rule): the stripped output must be exactly one letter.
    ``lenient``: the first letter A/B/C standing alone at the start (``A``,
    ``**B**``, ``C: INVALID``), or else the first of the words CORRECT /
    INCORRECT / INVALID. Anything else is unparsed, never counted correct.
    """
    if output is None:
        return UNPARSED
    text = output.strip()
    if mode == "exact":
        return text if text in VERDICTS else UNPARSED
    if mode != "lenient":
        raise ValueError(f"unknown verdict parse mode {mode!r}")
    if m := _FIRST_LETTER.match(text):
        return m.group(1)
    if m := _WORDS.search(text.upper()):
        return _WORD_VERDICT[m.group(1)]
    return UNPARSED


def final_correct(rule_correct: bool, verdict: str | None) -> bool:
    """The cascade: correct if the rule grader or the verifier says so."""
    return bool(rule_correct) or verdict == "A"
