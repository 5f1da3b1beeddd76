"""Final-answer extraction: the content of the last complete ``\\boxed{...}``."""

from __future__ import annotations

import re
from functools import lru_cache

MEMO_MAX_CHARS = 400  # responses up to this long have their final boxes memoised
_BOX_COMMANDS = ("\\boxed", "\\fbox")
_UNBRACED = re.compile(r"[ \t]+([^\s$]+)")


def _braced(text: str, open_pos: int, limit: int | None = None) -> str | None:
    """Content of the brace group opening at ``open_pos``; None if it does not
    close before ``limit`` (default: the end of the text)."""
    depth = 0
    i = open_pos
    n = len(text) if limit is None else min(limit, len(text))
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2  # an escaped character (\{ or \}) never opens or closes a group
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_pos + 1 : i]
        i += 1
    return None


def _box_before(text: str, end: int, lo: int = 0) -> tuple[int, str | None, int] | None:
    """The last ``\\boxed``/``\\fbox`` that starts in ``text[lo:end]``: (start, stripped
    content or None when it is empty or does not close before ``end``, end of the box)."""
    start, command = -1, ""
    for cmd in _BOX_COMMANDS:
        pos = text.rfind(cmd, lo, end)
        while pos != -1 and text[pos + len(cmd) : pos + len(cmd) + 1].isalpha():
            pos = text.rfind(cmd, lo, pos)  # \boxedsomething is another command
        if pos > start:
            start, command = pos, cmd
    if start == -1:
        return None
    after = start + len(command)
    rest = text[after:end]
    stripped = rest.lstrip()
    if stripped.startswith("{"):
        open_pos = after + (len(rest) - len(stripped))
        content = _braced(text, open_pos, end)
        box_end = open_pos + len(content) + 2 if content is not None else end
    else:
        match = _UNBRACED.match(rest)
        content = match.group(1) if match else None
        box_end = after + match.end() if match else end
    content = content.strip() if content is not None else None
    return start, content or None, box_end


def last_boxed(text: str | None) -> str | None:
    """The content of the last ``\\boxed``/``\\fbox`` in ``text``.

    Only the last box counts: if it is cut off (its braces never close) or
    empty, the response has no answer, even when an earlier box is complete.
    ``\\boxed 5`` (no braces) yields ``5``. Runs in time linear in the length.
    """
    if not text:
        return None
    box = _box_before(text, len(text))
    return box[1] if box else None


# ---------------------------------------------------------------- several boxes in one statement

MAX_FINAL_BOXES = 12  # boxes read back from the last one
MAX_BOX_CHARS = 400  # an earlier box longer than this is not part of the final statement
MAX_GAP_CHARS = 40  # what may separate two boxes of one statement

# A label written outside a box: ``x = \boxed{2}``, ``x_1 = \boxed{2}``, ``f(x)=\boxed{..}``.
_LABEL = r"(?<![A-Za-z\\])(?:[A-Za-z]{1,3}|\\[a-zA-Z]+)(?:_\{[^{}$]{1,12}\}|_[A-Za-z0-9])?(?:\([a-z]\))?"
# What separates two boxes of one final statement: spaces, ``,`` ``;`` ``&`` ``*``, ``$``, math
# delimiters, LaTeX spacing, ``and``/``or`` (bare or in ``\text{}``), and, just before the
# second box, a label and ``=``.
_CONNECTOR = (
    r"(?:\s|[,;&*]|\$|\\[,;:! ]|\\q?quad(?![a-zA-Z])|\\[()\[\]]|\\\\"
    r"|\\text\s*\{\s*(?:and|or|,)?\s*\}|(?<![A-Za-z])(?:and|or)(?![A-Za-z]))*"
)
_GAP = re.compile(rf"{_CONNECTOR}(?:(?P<label>{_LABEL})\s*=\s*(?:\$|\\[(\[]|\s)*)?")
_LABEL_BEFORE = re.compile(rf"(?P<label>{_LABEL})\s*=\s*(?:\$|\\[(\[]|\s)*$")


def final_boxes(text: str | None) -> list[tuple[str | None, str]]:
    r"""The boxes of the response's final statement (see :func:`_final_boxes`); memoised
    for short responses (the same answer graded against many golds)."""
    if text and len(text) <= MEMO_MAX_CHARS:
        return list(_final_boxes_memo(text))
    return _final_boxes(text)


@lru_cache(maxsize=4096)
def _final_boxes_memo(text: str) -> tuple[tuple[str | None, str], ...]:
    return tuple(_final_boxes(text))


def _final_boxes(text: str | None) -> list[tuple[str | None, str]]:
    r"""The boxes of the response's final statement, first to last, each with the
    label written just before it outside the box (``x = \boxed{2}``) or None.

    The final statement is the last box and every box before it that is separated
    from the next only by connectors (at most ``MAX_GAP_CHARS`` characters of
    spaces, ``,`` ``;`` ``$``, ``\quad``, ``\(`` ``\)``, ``and``/``or``, and a
    label with ``=`` before the next box): ``\boxed{2}, \boxed{5}``,
    ``$x=\boxed{2}$ and $x=\boxed{5}$``. At most ``MAX_FINAL_BOXES`` boxes of at
    most ``MAX_BOX_CHARS`` characters each are read back, so the cost is linear
    in the length of the response. Empty when the last box is missing, cut off
    or empty (as :func:`last_boxed`).
    """
    if not text:
        return []
    box = _box_before(text, len(text))
    if box is None or box[1] is None:
        return []
    boxes = [box]
    labels: list[str | None] = []
    while len(boxes) < MAX_FINAL_BOXES:
        start = boxes[-1][0]
        prev = _box_before(text, start, max(0, start - MAX_BOX_CHARS - MAX_GAP_CHARS))
        if prev is None or prev[1] is None or start - prev[2] > MAX_GAP_CHARS:
            break
        gap = _GAP.fullmatch(text, prev[2], start)
        if gap is None:
            break
        labels.append(gap.group("label"))
        boxes.append(prev)
    first = boxes[-1][0]
    before = _LABEL_BEFORE.search(text, max(0, first - 24), first)
    labels.append(before.group("label") if before else None)
    pairs = zip(reversed(labels), reversed(boxes), strict=True)
    return [(label, content) for label, (_, content, _) in pairs]


def joined_boxes(boxes: list[tuple[str | None, str]]) -> str:
    r"""One list answer from the boxes of one statement: ``2, 5``; ``x=2, y=5`` when
    every box carries an outside label and no box holds a relation of its own."""
    if all(label for label, _ in boxes) and not any("=" in content for _, content in boxes):
        return ", ".join(f"{label}={content}" for label, content in boxes)
    return ", ".join(content for _, content in boxes)


def justeval_answer(response: str | None, gold: str) -> str | None:
    """The default grader's final answer: the last box, or, when the gold has
    several parts (see :func:`named.several_parts`), every box of the final
    statement joined into one list."""
    from .named import several_parts

    boxes = final_boxes(response)
    if not boxes:
        return None
    if len(boxes) == 1 or not several_parts(gold):
        return boxes[-1][1]
    return joined_boxes(boxes)
