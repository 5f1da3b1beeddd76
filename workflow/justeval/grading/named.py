r"""Answers that name what they give, and relations written another way.

OlympiadBench-style golds name their values: ``(a,b)=(5,7)``, ``x_{1}=3, x_{2}=5``,
``m=2,n=3;m=4,n=1``, ``S_{ABC}:S_{DEF}=3:8``, ``\frac{AM}{MB}=\frac{2}{3}``,
``|PQ|=4``. :func:`parse_named` reads such an answer into groups of
(name, value) pairs: one group per solution, a new group wherever a name comes
again. Against a named gold

- an answer with the same names is compared name by name, in any order;
- an answer with other names, or with values only, is compared value by value
  in the gold's order (``(5,7)`` is right for ``(a,b)=(5,7)``, ``(7,5)`` is not);
- the groups (solutions) are matched in any order, and their number must agree.

A named answer against a gold without names is compared with the names dropped.
Equations are also compared as relations (:func:`structure.equations_equivalent`):
``3x-6y+2=0`` is ``y=\frac{1}{2}x+\frac{1}{3}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from . import latex, structure
from .normalize import canonical_text

MAX_GROUPS = 16  # solutions in one named answer
MAX_NAMES = 16  # names in one solution

Verdict = tuple[bool, str]
Compare = Callable[[str, str], Verdict]

# ---------------------------------------------------------------- names

_LETTER_COMMANDS = set(latex.GREEK) | {"max", "min"}
_PREFIX_COMMANDS = {"angle", "measuredangle", "triangle"} | set(latex.ACCENTS)
MAX_NAME_CHARS = 80
MAX_NAME_LETTERS = 6  # a longer run of letters is a word, not a name

_SPACES = re.compile(r"\s*")
_LETTERS = re.compile(r"[A-Za-z]+")
_CMD = re.compile(r"\\([a-zA-Z]+)")
_BRACED_BASE = re.compile(r"\{\s*(?:[A-Za-z]{1,6}|\\[a-zA-Z]+)\s*\}")
_SUB = re.compile(r"\s*_\s*(?:\{[^{}=]*\}|[A-Za-z0-9])")
_PRIMES = re.compile(r"(?:\s*')*")
_ARGS = re.compile(r"\s*\(\s*[A-Za-z0-9]{1,3}(?:\s*,\s*[A-Za-z0-9]{1,3})*\s*\)")


class _Names:
    """A deterministic scanner for names (no regex backtracking over letter runs):

    atom  := [\angle | \triangle | an accent] (letters | Greek | {letters}) [_sub] '* [(args)]
    atoms := atom+
    name  := atoms | '|' atoms '|' | \frac{atoms}{atoms} | atoms ((':' | '/') atoms)+
    tuple := '(' atoms (',' atoms)+ ')'
    """

    def __init__(self, text: str):
        self.s, self.i = text, 0

    def skip(self) -> None:
        self.i = _SPACES.match(self.s, self.i).end()

    def literal(self, token: str) -> bool:
        self.skip()
        if self.s.startswith(token, self.i):
            self.i += len(token)
            return True
        return False

    def atom(self) -> bool:
        self.skip()
        start = self.i
        m = _CMD.match(self.s, self.i)
        if m and m.group(1) in _PREFIX_COMMANDS:
            self.i = m.end()
            self.skip()
            m = _CMD.match(self.s, self.i)
        if m and m.group(1) in _LETTER_COMMANDS:
            self.i = m.end()
        elif (b := _BRACED_BASE.match(self.s, self.i)) is not None:
            self.i = b.end()
        elif (w := _LETTERS.match(self.s, self.i)) is not None and len(w.group()) <= MAX_NAME_LETTERS:
            self.i = w.end()
        else:
            self.i = start
            return False
        for pattern in (_SUB, _PRIMES, _ARGS):
            if (m := pattern.match(self.s, self.i)) is not None:
                self.i = m.end()
        return True

    def atoms(self) -> bool:
        if not self.atom():
            return False
        while self.atom():
            pass
        return True

    def end(self) -> bool:
        self.skip()
        return self.i == len(self.s)

    def name(self) -> bool:
        if self.literal("|"):
            return self.atoms() and self.literal("|") and self.end()
        if self.literal("\\frac"):
            parts = [self.literal("{"), self.atoms(), self.literal("}"), self.literal("{"), self.atoms()]
            return all(parts) and self.literal("}") and self.end()
        if not self.atoms():
            return False
        while self.literal(":") or self.literal("/"):
            if not self.atoms():
                return False
        return self.end()

    def tuple(self) -> bool:
        if not (self.literal("(") and self.atoms()):
            return False
        count = 1
        while self.literal(","):
            if not self.atoms():
                return False
            count += 1
        return count > 1 and self.literal(")") and self.end()


def is_name(text: str) -> bool:
    """Whether ``text`` names a quantity rather than computing one: ``x``, ``x_{1}``,
    ``f(x)``, ``|PQ|``, ``\\frac{AM}{MB}``, ``S_{ABC}:S_{DEF}`` (no digits outside
    subscripts and arguments, no operators). Linear in the length."""
    return len(text) <= MAX_NAME_CHARS and _Names(text).name()


def is_tuple_name(text: str) -> bool:
    """``(a, b)``, ``(x_1, x_2, x_3)``: a tuple of names."""
    return len(text) <= MAX_NAME_CHARS and _Names(text).tuple()


def name_key(text: str) -> str:
    """A name's spelling for comparisons: no spaces, ``x_{1}`` is ``x_1``."""
    s = re.sub(r"\s+", "", text)
    return re.sub(r"_\{(\w)\}", r"_\1", s)


# ---------------------------------------------------------------- reading

Groups = list[list[tuple[str, str]]]


def _tuple_items(text: str) -> list[str] | None:
    """The items of a parenthesised tuple ``(a, b)``, or None."""
    brackets = structure.outer_brackets(text.strip())
    if brackets is None or brackets[0] != "(" or brackets[2] != ")":
        return None
    items = structure.split_top(brackets[1], re.compile(","))
    return items if len(items) > 1 and all(items) else None


@lru_cache(maxsize=4096)
def parse_named(text: str) -> Groups | None:
    """The (name, value) groups of a named answer, or None when it does not name
    every value it gives.

    ``(a,b)=(5,7)`` and ``(a,b)=(5,7),(6,8)`` name a tuple of values; otherwise
    every item of the list must be ``name = value``, and a name that comes again
    starts a new group: ``m=2,n=3;m=4,n=1`` is two solutions of two values each."""
    s = canonical_text(text)
    if "=" not in s or len(s) > 1000:
        return None
    sides = structure.split_top(s, structure._EQUALS)
    if len(sides) == 2 and is_tuple_name(sides[0]):
        inner = sides[0][sides[0].index("(") + 1 : sides[0].rindex(")")]
        names = [name_key(n) for n in structure.split_top(inner, re.compile(","))]
        values = [v for v in structure.split_top(sides[1]) if v]
        groups = []
        for value in values:
            items = _tuple_items(value)
            if items is None or len(items) != len(names):
                return None
            groups.append(list(zip(names, items, strict=True)))
        return groups if 0 < len(groups) <= MAX_GROUPS and len(set(names)) == len(names) else None
    pairs = []
    for item in structure.split_top(s):
        if not item:
            continue
        sides = structure.split_top(item, structure._EQUALS)
        if len(sides) != 2 or not sides[1] or not is_name(sides[0]):
            return None
        pairs.append((name_key(sides[0]), sides[1]))
    if not pairs:
        return None
    groups, current = [], []
    for name, value in pairs:
        if any(name == n for n, _ in current):
            groups.append(current)
            current = []
        current.append((name, value))
    groups.append(current)
    names = sorted(n for n, _ in groups[0])
    if any(sorted(n for n, _ in g) != names for g in groups):
        return None  # x=1, y=2, x=3: not one list of solutions
    if len(groups) > MAX_GROUPS or len(names) > MAX_NAMES:
        return None
    return groups


def _value_items(text: str, size: int) -> list[str] | None:
    """The ``size`` values of an answer that gives values only, in its order."""
    if size == 1:
        return [text]
    items = _tuple_items(text)
    if items is None:
        items = [v for v in structure.split_top(canonical_text(text)) if v]
    return items if len(items) == size else None


def _value_groups(text: str, size: int, count: int) -> list[list[str]] | None:
    """``count`` solutions of ``size`` values each from an answer without names."""
    if count == 1:
        items = _value_items(text, size)
        return [items] if items is not None else None
    s = canonical_text(text)
    brackets = structure.outer_brackets(s)
    if brackets is not None and brackets[0] == "\\{":
        s = brackets[1]  # a set of solutions
    parts = [p for p in structure.split_top(s) if p]
    if len(parts) != count:
        return None
    groups = []
    for part in parts:
        items = [part] if size == 1 else _tuple_items(part)
        if items is None or len(items) != size:
            return None
        groups.append(items)
    return groups


# ---------------------------------------------------------------- comparing

_RATIO = re.compile(r":")


def _ratio_fraction(text: str) -> str | None:
    """``3:8`` as ``\\frac{3}{8}``; None unless the text is a ratio of two parts."""
    parts = structure.split_top(canonical_text(text), _RATIO)
    if len(parts) != 2 or not all(parts):
        return None
    return f"\\frac{{{parts[0]}}}{{{parts[1]}}}"


def _value_equal(gold_name: str, gold: str, answer: str, compare: Compare) -> bool:
    if compare(gold, answer)[0]:
        return True
    if ":" in gold_name:  # a named ratio: 3:8 is 6:16 and 3/8
        ratio = _ratio_fraction(gold)
        if ratio is not None:
            other = _ratio_fraction(answer) or answer
            return compare(ratio, other)[0]
    return False


def _group_equal(gold: list[tuple[str, str]], answer: list, compare: Compare) -> bool:
    """One solution: by name when the answer names the same things, else in order."""
    if len(gold) != len(answer):
        return False
    if answer and isinstance(answer[0], tuple):
        by_name = dict(answer)
        if len(by_name) == len(answer) and set(by_name) == {n for n, _ in gold}:
            return all(_value_equal(n, v, by_name[n], compare) for n, v in gold)
        answer = [v for _, v in answer]
    return all(_value_equal(n, v, a, compare) for (n, v), a in zip(gold, answer, strict=True))


def _groups_match(gold: Groups, answer: list, compare: Compare) -> bool:
    """Every gold solution matched to its own answer solution (in any order)."""
    if len(gold) != len(answer):
        return False
    equal = [[_group_equal(g, a, compare) for a in answer] for g in gold]
    owner = [-1] * len(answer)

    def assign(i: int, seen: list[bool]) -> bool:  # augmenting path (bipartite matching)
        for j in range(len(answer)):
            if equal[i][j] and not seen[j]:
                seen[j] = True
                if owner[j] == -1 or assign(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return all(assign(i, [False] * len(answer)) for i in range(len(gold)))


def _named_gold(gold: Groups, answer: str, compare: Compare) -> bool:
    named = parse_named(answer)
    if named is not None:
        if _groups_match(gold, named, compare):
            return True
        if {n for g in named for n, _ in g} == {n for g in gold for n, _ in g}:
            return False  # the same names: decided name by name
        # other names (x=3, x=5 for x_{1}=3, x_{2}=5): the values in order, in the gold's shape
        values = [v for g in named for _, v in g]
        size = len(gold[0])
        if len(values) != size * len(gold):
            return False
        return _groups_match(gold, [values[i : i + size] for i in range(0, len(values), size)], compare)
    values = _value_groups(answer, len(gold[0]), len(gold))
    return values is not None and _groups_match(gold, values, compare)


def _without_names(groups: Groups) -> str | None:
    """A named answer as values: ``x=1, x=2`` is ``1, 2``; ``a=2, b=3`` is ``(2, 3)``
    only when its names are in alphabetical order (the order a problem names them)."""
    parts = []
    for group in groups:
        if len(group) == 1:
            parts.append(group[0][1])
            continue
        names = [n for n, _ in group]
        if names != sorted(names):
            return None
        parts.append("(" + ", ".join(v for _, v in group) + ")")
    return ", ".join(parts)


def decide(gold: str, answer: str, compare: Compare, layers: Compare) -> Verdict:
    """The verdict of the structured layers with names and relations taken into
    account; ``compare`` decides two plain parts (cheap layers first), ``layers``
    the whole pair without names (the structured, numeric and sympy layers)."""
    gold_named = parse_named(gold)
    if gold_named is not None:
        ok = _named_gold(gold_named, answer, compare)
        if not ok and len(gold_named) == 1 and len(gold_named[0]) == 1:
            ok = structure.equations_equivalent(gold, answer)
        return ok, "structure"
    verdict = layers(gold, answer)
    if verdict[0]:
        return verdict
    answer_named = parse_named(answer)
    if answer_named is not None:
        values = _without_names(answer_named)
        if values is not None and compare(gold, values)[0]:
            return True, "structure"
    if "=" in gold and "=" in answer and structure.equations_equivalent(gold, answer):
        return True, "structure"
    return verdict


@lru_cache(maxsize=4096)
def several_parts(gold: str) -> bool:
    """Whether a gold answer has several parts (a list, ``\\pm``, a tuple, a set,
    named values), so that an answer may box them one by one."""
    s = canonical_text(gold)
    if re.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):
        return False  # 3,150,000 is one number
    if re.search(r"\\(?:pm|mp)(?![a-zA-Z])", s):
        return True
    named = parse_named(gold)
    if named is not None:
        return sum(len(g) for g in named) > 1
    if len([p for p in structure.split_top(s) if p]) > 1:
        return True
    brackets = structure.outer_brackets(s)
    return brackets is not None and len(structure.split_top(brackets[1])) > 1
