"""Reading the verifier's output, and the cascade's final verdict."""

from __future__ import annotations

import re

VERDICTS = ("A", "B", "C")
UNPARSED = "unparsed"

_FIRST_LETTER = re.compile(r"^\W*([ABC])(?![A-Za-z0-9])")
_WORDS = re.compile(r"\b(INCORRECT|CORRECT|INVALID)\b")
_WORD_VERDICT = {"CORRECT": "A", "INCORRECT": "B", "INVALID": "C"}


def parse_verdict(
    output: str | None,
    mode: str = "lenient",
    pattern: str | None = None,
    labels: dict[str, str] | None = None,
) -> str:
    """A, B or C from the verifier's text, else ``unparsed``.

    ``exact`` (JustRL's rule): the stripped output must be exactly one letter.
    ``lenient``: the first letter A/B/C standing alone at the start (``A``,
    ``**B**``, ``C: INVALID``), or else the first of the words CORRECT /
    INCORRECT / INVALID. ``pattern``: the first match of a regular expression;
    its first group, lower-cased, is looked up in ``labels`` (for judges such
    as xVerify that answer in words). Anything else is unparsed, never counted
    correct.
    """
    if output is None:
        return UNPARSED
    text = output.strip()
    if mode == "exact":
        return text if text in VERDICTS else UNPARSED
    if mode == "pattern":
        if not pattern:
            raise ValueError("parse mode 'pattern' needs a pattern")
        m = re.search(pattern, text)
        if not m:
            return UNPARSED
        found = (m.group(1) if m.groups() else m.group(0)).strip().lower()
        verdict = {k.lower(): v for k, v in (labels or {}).items()}.get(found)
        return verdict if verdict in VERDICTS else UNPARSED
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
