"""A response's text cut into plain text and math, the math turned into MathML.

The conversion is latex2mathml's (pinned in pyproject.toml): TeX in, MathML out, on
the build machine, so the page needs no renderer at view time (Chromium, Firefox and
Safari draw MathML themselves). Ours: where the math is (the delimiters below), and
what of latex2mathml's output is kept. Its output is not trusted: it copies ``\\text``
contents unescaped and turns ``\\href`` into an attribute, so every fragment is parsed
as XML and rebuilt from an allow-list of MathML elements and attributes; a fragment
that does not parse, holds anything else, or is too long stays TeX, shown as text.

A segment is a list: ``["t", text]`` plain text, ``["m", mathml, final, chars]`` math
(``final``: it holds the response's last ``\\boxed``, the answer the grader reads;
``chars``: the length of its TeX), or ``["r", tex, final]`` math left as TeX.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

MATHML = "http://www.w3.org/1998/Math/MathML"
ELEMENTS = frozenset(
    [
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msup",
        "msub",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "merror",
        "mpadded",
        "mphantom",
        "menclose",
        "mover",
        "munder",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mmultiscripts",
        "mprescripts",
        "none",
        "semantics",
    ]
)
ATTRIBUTES = frozenset(
    [
        "display",
        "mathvariant",
        "displaystyle",
        "scriptlevel",
        "notation",
        "stretchy",
        "fence",
        "separator",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "accent",
        "accentunder",
        "linethickness",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "width",
        "height",
        "depth",
        "form",
        "movablelimits",
        "symmetric",
        "largeop",
    ]
)
LONGEST_FRAGMENT = 2000  # longer TeX (a repetition loop, a dump) stays text
_BARE_AMPERSAND = re.compile(r"&(?!#x[0-9A-Fa-f]+;|#[0-9]+;|[A-Za-z]+;)")

# math delimiters, longest first; a single $ needs a non-space after it and before
# its closing $, and no blank line inside (prices and shell prompts stay text)
_MATH = re.compile(
    r"\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<bk>.+?)\\\]"
    r"|\\\((?P<pr>.+?)\\\)"
    r"|\\begin\{(?P<env>equation|align|gather|multline|eqnarray|aligned|array|cases)(?P<star>\*?)\}"
    r"(?P<envbody>.+?)\\end\{(?P=env)(?P=star)\}"
    r"|(?<![\\$])\$(?P<d>[^\s$](?:[^$]|\\\$)*?(?<![\s\\]))\$(?!\d)"
    r"|(?P<box>\\boxed\{)",
    re.S,
)


def _braced(text: str, start: int) -> int | None:
    """The index just past the brace group opened at ``text[start - 1]``."""
    depth = 1
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def to_mathml(tex: str, display: bool) -> str | None:
    """The MathML of one TeX fragment, rebuilt from the allow-list; None where it
    cannot be shown as math."""
    from latex2mathml.converter import convert

    if len(tex) > LONGEST_FRAGMENT or not tex.strip():
        return None
    try:
        raw = convert(tex, display="block" if display else "inline")
        root = ET.fromstring(_BARE_AMPERSAND.sub("&amp;", raw))
    except Exception:  # noqa: BLE001 — latex2mathml raises many kinds on bad TeX
        return None
    clean = _rebuild(root)
    if clean is None:
        return None
    ET.register_namespace("", MATHML)
    return ET.tostring(clean, encoding="unicode", short_empty_elements=True)


def _rebuild(node: ET.Element) -> ET.Element | None:
    tag = node.tag.rpartition("}")[2]
    if tag not in ELEMENTS:
        return None
    out = ET.Element(f"{{{MATHML}}}{'mrow' if tag == 'menclose' else tag}")
    for key, value in node.attrib.items():
        if key in ATTRIBUTES:
            out.set(key, value)
    if tag == "menclose":  # MathML Core has no menclose: a boxed row, drawn by CSS
        out.attrib.pop("notation", None)
        out.set("class", "boxed")
    out.text = node.text
    for child in node:
        kept = _rebuild(child)
        if kept is None:
            return None
        kept.tail = child.tail
        out.append(kept)
    return out


def segments(text: str) -> list[list]:
    """``text`` as plain-text and math segments (see the module docstring)."""
    pieces: list[tuple[str, str, bool, int, int]] = []  # kind, body, display, start, end
    pos = 0
    while True:
        m = _MATH.search(text, pos)
        if m is None:
            break
        if m.group("box") is not None:
            end = _braced(text, m.end())
            if end is None:
                pos = m.end()
                continue
            pieces.append(("math", text[m.start() : end], False, m.start(), end))
            pos = end
            continue
        if m.group("env") is not None:
            body = m.group(0)
        else:
            body = next(
                g for g in (m.group("dd"), m.group("bk"), m.group("pr"), m.group("d")) if g is not None
            )
        display = m.group("d") is None and m.group("pr") is None
        pieces.append(("math", body, display, m.start(), m.end()))
        pos = m.end()
    last_box = text.rfind("\\boxed")
    out: list[list] = []
    cursor = 0
    for _kind, body, display, start, end in pieces:
        if start > cursor:
            out.append(["t", text[cursor:start]])
        final = start <= last_box < end
        mathml = to_mathml(body, display)
        out.append(["m", mathml, final, end - start] if mathml is not None else ["r", text[start:end], final])
        cursor = end
    if cursor < len(text):
        out.append(["t", text[cursor:]])
    return out
