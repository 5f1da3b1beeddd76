"""Final-answer extraction: the content of the last complete ``\\boxed{...}``."""

from __future__ import annotations

import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_UNBRACED = re.compile(r"[ \t]+([^\s$]+)")


def _braced(text: str, open_pos: int) -> str | None:
    """Content of the brace group opening at ``open_pos``; None if never closed."""
    depth = 0
    i = open_pos
    n = len(text)
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


def last_boxed(text: str | None) -> str | None:
    """The content of the last ``\\boxed``/``\\fbox`` in ``text``.

    Only the last box counts: if it is cut off (its braces never close) or
    empty, the response has no answer, even when an earlier box is complete.
    ``\\boxed 5`` (no braces) yields ``5``. Runs in time linear in the length.
    """
    if not text:
        return None
    start, command = -1, ""
    for cmd in _BOX_COMMANDS:
        pos = text.rfind(cmd)
        while pos != -1 and text[pos + len(cmd) : pos + len(cmd) + 1].isalpha():
            pos = text.rfind(cmd, 0, pos)  # \boxedsomething is another command
        if pos > start:
            start, command = pos, cmd
    if start == -1:
        return None
    after = start + len(command)
    rest = text[after:]
    stripped = rest.lstrip()
    if stripped.startswith("{"):
        content = _braced(text, after + (len(rest) - len(stripped)))
    else:
        match = _UNBRACED.match(rest)
        content = match.group(1) if match else None
    if content is None:
        return None
    content = content.strip()
    return content or None
