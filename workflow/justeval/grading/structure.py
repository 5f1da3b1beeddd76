"""Structured answers: tuples, sets, lists of solutions, intervals, inequalities,
``\\pm``, matrices and text, each compared element by element.

``read(text)`` turns an answer into a value:

``("expr", tree, text)``      one expression (see :mod:`latex`)
``("tuple", brackets, items)`` ordered: ``(1, 2)``, ``[1, 2]``, points, vectors
``("bag", items)``             unordered multiset: ``1, 2``, ``\\{1, 2\\}``, ``1 \\pm \\sqrt 2``
``("union", intervals)``       a union of intervals; inequalities become intervals
``("matrix", rows)``           rows of items
``("text", words)``            a word answer, case-folded
``("raw", text)``              unparsed; only string equality can match it
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from . import latex
from .normalize import MEMO_MAX_CHARS, canonical_text, strip_label, strip_units, unwrap_text

MAX_ITEMS = 64
MAX_GROUPING = 4  # brace groups around a whole answer that are read as grouping only
OPEN = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle"}

_WORD = re.compile(r"[A-Za-z]{3,}")
_KNOWN_WORDS = set(latex.FUNCTIONS) | set(latex.GREEK) | {"infty", "sqrt", "frac", "pi", "cdot", "times"}
_MATRIX = re.compile(r"^\\begin\{([pbBvV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.S)
_INEQUALITY = re.compile(r"\\le(?![a-zA-Z])|\\ge(?![a-zA-Z])|<=|>=|<|>")
_EQUALS = re.compile(r"(?<![<>!\\])=(?!=)")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SEPARATORS = re.compile(r",|;|\\text\{\s*(?:and|or)\s*\}|\\(?:quad|qquad)(?![a-zA-Z])|\s(?:and|or)\s")


# text groups, and arithmetic written outside them (a hyphen between letters is a word's)
_TEXT_GROUP = re.compile(r"\\(?:text|textrm|textnormal|mathrm|mbox|textbf|textit)\s*\{[^{}]*\}")
_MATH_ON_WORDS = re.compile(r"[!^|*/+]|(?<![A-Za-z])-|-(?![A-Za-z])")
_EMPTY_SET = {"\\emptyset", "\\varnothing", "\\O", "∅"}


class Unreadable(ValueError):
    pass


# ---------------------------------------------------------------- splitting


def _bracket_tokens(s: str):
    """(position, token, is_open) for brackets outside of braces."""
    i = 0
    while i < len(s):
        for tok in ("\\{", "\\}", "\\langle", "\\rangle"):
            if s.startswith(tok, i):
                yield i, tok, tok in OPEN
                i += len(tok)
                break
        else:
            ch = s[i]
            if ch == "\\":
                i += 2
                continue
            if ch in "([{":
                yield i, ch, True
            elif ch in ")]}":
                yield i, ch, False
            i += 1


def split_top(s: str, pattern: re.Pattern = _SEPARATORS) -> list[str]:
    """Split at separators that are outside of every bracket and brace."""
    depth_at = [0] * (len(s) + 1)
    depth = 0
    last = 0
    for pos, _tok, is_open in _bracket_tokens(s):
        for k in range(last, pos + 1):
            depth_at[k] = depth
        depth += 1 if is_open else -1
        last = pos + 1
    for k in range(last, len(s) + 1):
        depth_at[k] = depth
    parts, start = [], 0
    for m in pattern.finditer(s):
        if depth_at[m.start()] == 0:
            parts.append(s[start : m.start()])
            start = m.end()
    parts.append(s[start:])
    return [p.strip() for p in parts]


def outer_brackets(s: str) -> tuple[str, str, str] | None:
    """(open, inner, close) if one bracket pair spans all of ``s`` (mixed kinds allowed,
    as in the interval ``(1, 2]``)."""
    tokens = list(_bracket_tokens(s))
    if len(tokens) < 2 or tokens[0][0] != 0 or not tokens[0][2]:
        return None
    last_pos, last_tok, last_open = tokens[-1]
    if last_open or last_pos + len(last_tok) != len(s):
        return None
    depth = 0
    for pos, _tok, is_open in tokens[:-1]:
        depth += 1 if is_open else -1
        if depth == 0 and pos != 0:
            return None
    open_tok = tokens[0][1]
    if open_tok == "{":
        return None  # a brace group is not a bracket
    return open_tok, s[len(open_tok) : last_pos], last_tok


# ---------------------------------------------------------------- reading


def read(text: str):
    """The structured value of an answer (see the module docstring); memoised for
    short texts (a gold is read once, not once per answer)."""
    return _read_memo(text) if len(text) <= MEMO_MAX_CHARS else _read_text(text)


@lru_cache(maxsize=16384)
def _read_memo(text: str):
    return _read_text(text)


def _read_text(text: str):
    s = canonical_text(text)
    s = strip_units(s)
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    return _read(s, depth=0)


def _ungrouped(s: str) -> str:
    """``s`` without brace groups that span all of it (``{\\{1, 2\\}}``: grouping only),
    a few deep (deeper nesting is left to the parser's depth limit)."""
    for _ in range(MAX_GROUPING):
        if not (s.startswith("{") and s.endswith("}")):
            break
        depth = 0
        for pos, _tok, is_open in _bracket_tokens(s):
            depth += 1 if is_open else -1
            if depth == 0:
                if pos != len(s) - 1:
                    return s  # {1}+{2}: the first group closes before the end
                break
        s = s[1:-1].strip()
    return s


def _expr(s: str):
    s = strip_label(s.strip())
    try:
        return ("expr", latex.parse(s), s)
    except latex.ParseError:
        return ("raw", s.replace(" ", ""))


def _is_text(s: str) -> bool:
    plain = unwrap_text(s)
    if re.search(r"[\d\\^_=<>]", plain):
        return False
    if _MATH_ON_WORDS.search(_TEXT_GROUP.sub(" ", s)):
        return False  # -(\text{east}), (\text{Evelyn})!: arithmetic on words is no word answer
    words = [w for w in _WORD.findall(plain) if w not in _KNOWN_WORDS]
    return bool(words)


def _read(s: str, depth: int):
    if depth > 8:
        raise Unreadable("nested too deeply")
    s = strip_units(strip_label(_ungrouped(s.strip())))
    if not s:
        return ("raw", "")
    if _is_text(s):
        words = re.sub(r"[^a-z0-9]+", " ", unwrap_text(s).lower()).split()
        return ("text", " ".join(words))
    s = unwrap_text(s) if "\\text" in s or "\\mbox" in s else s
    if s in _EMPTY_SET:
        return ("bag", ())

    if m := _MATRIX.match(s):
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        cells = [[_read(c, depth + 1) for c in row.split("&")] for row in rows]
        if len(cells) > MAX_ITEMS or any(len(r) > MAX_ITEMS for r in cells):
            raise Unreadable("matrix too large")
        return ("matrix", tuple(tuple(r) for r in cells))

    unions = split_top(s, re.compile(r"\\cup(?![a-zA-Z])"))
    if len(unions) > 1:
        parts = [_read(u, depth + 1) for u in unions]
        intervals = []
        for part in parts:
            interval = as_union(part)
            if interval is None:
                return ("raw", s.replace(" ", ""))
            intervals.extend(interval[1])
        return ("union", tuple(intervals))

    # a list of solutions, where each item may carry a \pm: one bag of values
    expanded = _solutions(split_top(s))
    if len(expanded) > 1:
        return _bag(expanded, depth)
    if expanded and expanded[0] != s:
        return _read(expanded[0], depth + 1)

    brackets = outer_brackets(s)
    if brackets is not None:
        open_tok, inner, close_tok = brackets
        items = split_top(inner)
        if open_tok == "\\{":
            return _bag(_solutions(items), depth)
        if len(items) > 1:
            if len(items) > MAX_ITEMS:
                raise Unreadable("too many items")
            return ("tuple", open_tok + close_tok, tuple(_read(p, depth + 1) for p in items))
        if open_tok == "(" and close_tok == ")" or open_tok == "[" and close_tok == "]":
            return _read(inner, depth + 1)

    if _INEQUALITY.search(s):
        interval = _inequality(s)
        if interval is not None:
            return interval
    sides = split_top(s, _EQUALS)
    if len(sides) == 2 and all(sides):
        return ("eq", _read(sides[0], depth + 1), _read(sides[1], depth + 1))
    return _expr(s)


def _solutions(parts: list[str]) -> list[str]:
    r"""Items of a list, with every ``a \pm b`` item expanded into its two values."""
    out = []
    for p in parts:
        if p:
            # a bracketed container keeps its \pm for its own items
            out.extend([p] if outer_brackets(p) else (_expand_pm(p) or [p]))
    return out


def _bag(items: list[str], depth: int):
    if len(items) > MAX_ITEMS:
        raise Unreadable("too many items")
    return ("bag", tuple(_read(v, depth + 1) for v in items))


_PM = re.compile(r"\\(pm|mp)(?![a-zA-Z])")


def _expand_pm(s: str) -> list[str] | None:
    r"""``a \pm b`` -> [a+b, a-b]; all \pm share one sign and \mp takes the other."""
    if not _PM.search(s):
        return None
    plus = _PM.sub(lambda m: "+" if m.group(1) == "pm" else "-", s)
    minus = _PM.sub(lambda m: "-" if m.group(1) == "pm" else "+", s)
    return [plus, minus]


def _inequality(s: str):
    """``a < x \\le b``, ``x > 3``, ``3 \\ge x`` as a one-interval union."""
    pieces = _INEQUALITY.split(s)
    ops = _INEQUALITY.findall(s)
    if len(pieces) not in (2, 3):
        return None
    less = [op in ("<", "\\le", "<=") for op in ops]
    closed = [op in ("\\le", "\\ge", "<=", ">=") for op in ops]
    if len(set(less)) != 1:
        return None
    pieces = [p.strip() for p in pieces]
    var_positions = [i for i, p in enumerate(pieces) if _VARIABLE.fullmatch(p)]
    if len(pieces) == 3 and var_positions != [1] or len(pieces) == 2 and len(var_positions) != 1:
        return _linear_inequality(pieces, less[0], closed)
    if len(pieces) == 3:
        lo, hi = pieces[0], pieces[2]
        lo_closed, hi_closed = closed
        if not less[0]:
            lo, hi, lo_closed, hi_closed = hi, lo, hi_closed, lo_closed
        return ("union", ((_expr(lo), lo_closed, _expr(hi), hi_closed),))
    var_left = var_positions[0] == 0
    bound = _expr(pieces[1] if var_left else pieces[0])
    upper = less[0] == var_left  # x < b or b > x: b is an upper bound
    inf = ("expr", ("const", "inf"), "\\infty")
    ninf = ("expr", ("neg", ("const", "inf")), "-\\infty")
    if upper:
        return ("union", ((ninf, False, bound, closed[0]),))
    return ("union", ((bound, closed[0], inf, False),))


# what an inequality bounds: x, x_1, \theta, and a function value g(t)
_VARIABLE = re.compile(
    r"(?:[a-zA-Z]|\\(?:" + "|".join(sorted(latex.GREEK)) + r"))(?:_\{?\w+\}?)?(?:\s*\(\s*[a-zA-Z]\s*\))?"
)
_INF = ("expr", ("const", "inf"), "\\infty")
_NINF = ("expr", ("neg", ("const", "inf")), "-\\infty")


def _substitute(tree, name: str, value):
    """``tree`` with the variable ``name`` replaced by the constant tree ``value``."""
    if tree[0] == "var":
        return value if tree[1] == name else tree
    if tree[0] in ("num", "float", "const", "sym"):
        return tree
    return tuple(_substitute(p, name, value) if isinstance(p, tuple) else p for p in tree)


def _linear(tree):
    """(a, b) as trees, and the sign of a, when ``tree`` is ``a*v + b`` in a single
    variable ``v`` with a != 0 (checked at five points), else None."""
    names = latex.free_vars(tree)
    if len(names) != 1 or latex.symbols(tree):
        return None
    (name,) = names
    f0, f1 = (_substitute(tree, name, ("num", latex.Fraction(t))) for t in (0, 1))
    slope = ("sub", f1, f0)
    try:
        for t in (latex.Fraction(2), latex.Fraction(7, 3), latex.Fraction(-5, 2), latex.Fraction(10)):
            value = latex.evaluate(_substitute(tree, name, ("num", t)))
            if not latex.close(value, latex.evaluate(("add", f0, ("mul", slope, ("num", t))))):
                return None
        sign = latex.evaluate(slope)
        if not isinstance(sign, (latex.Fraction, latex.mpmath.mpf)) or sign == 0:
            return None  # complex or constant
    except (latex.TooLarge, ZeroDivisionError, TypeError, ValueError):
        return None
    return slope, f0, sign > 0


def _linear_inequality(pieces: list[str], less: bool, closed: list[bool]):
    """``-2x \\ge -4``, ``2x+1 < 5``, ``1 < 2x+1 \\le 7``: an inequality linear in one
    variable, solved for it (the direction flips with a negative coefficient)."""
    try:
        trees = [latex.parse(p) for p in pieces]
    except (latex.ParseError, RecursionError):
        return None
    if len(pieces) == 2:
        solved = _linear(("sub", trees[0], trees[1]))  # lhs - rhs < 0
        if solved is None:
            return None
        slope, offset, positive = solved
        bound = ("expr", ("neg", ("div", offset, slope)), "")
        if less == positive:  # a v + b < 0 with a > 0: v < -b/a
            return ("union", ((_NINF, False, bound, closed[0]),))
        return ("union", ((bound, closed[0], _INF, False),))
    if latex.free_vars(trees[0]) or latex.free_vars(trees[2]):
        return None
    solved = _linear(trees[1])
    if solved is None:
        return None
    slope, offset, positive = solved
    lo, hi = (("expr", ("div", ("sub", t, offset), slope), "") for t in (trees[0], trees[2]))
    lo_closed, hi_closed = closed
    if not less:
        lo, hi, lo_closed, hi_closed = hi, lo, hi_closed, lo_closed
    if not positive:
        lo, hi, lo_closed, hi_closed = hi, lo, hi_closed, lo_closed
    return ("union", ((lo, lo_closed, hi, hi_closed),))


def as_union(value):
    """An interval reading of a value, or None: ``(a, b]`` tuples, unions, ``\\{a\\}``."""
    if value[0] == "union":
        return value
    if value[0] == "tuple" and len(value[2]) == 2 and value[1] in ("()", "[]", "(]", "[)"):
        a, b = value[2]
        return ("union", ((a, value[1][0] == "[", b, value[1][1] == "]"),))
    if value[0] == "bag" and len(value[1]) == 1:
        (a,) = value[1]
        return ("union", ((a, True, a, True),))
    return None


# ---------------------------------------------------------------- comparing


def _exprs(value):
    """Every expression tree inside a value."""
    kind = value[0]
    if kind == "expr":
        yield value[1]
    elif kind in ("tuple",):
        for item in value[2]:
            yield from _exprs(item)
    elif kind == "bag":
        for item in value[1]:
            yield from _exprs(item)
    elif kind == "matrix":
        for row in value[1]:
            for item in row:
                yield from _exprs(item)
    elif kind == "union":
        for lo, _, hi, _ in value[1]:
            yield from _exprs(lo)
            yield from _exprs(hi)
    elif kind == "eq":
        yield from _exprs(value[1])
        yield from _exprs(value[2])


@lru_cache(maxsize=64)
def _envs(names: tuple[str, ...]) -> list[dict]:
    return latex.random_envs(set(names))


@lru_cache(maxsize=16384)
def _evaluations(tree, names: tuple[str, ...]):
    """The values of ``tree`` at the shared random points of the variables ``names``
    (every variable of the comparison, so that both sides see the same points), or the
    :class:`latex.TooLarge` it raised. Memoised: a gold is evaluated once, not once per
    answer."""
    try:
        if not latex.free_vars(tree):
            return (latex.evaluate(tree),) * len(latex.SAMPLE_RANGES)  # the same at every point
        return tuple(latex.evaluate(tree, env) for env in _envs(names))
    except latex.TooLarge as exc:
        return exc.with_traceback(None)


def _sizes_differ(huge: latex.Huge, values) -> bool:
    """Whether computed values are all provably smaller than a :class:`latex.Huge` one."""
    if isinstance(values, Exception):
        return False
    return all(latex.finite(v) and latex.log2_bounds(v)[1] < huge.log2 - 1 for v in values)


class Comparer:
    """Compares a gold value with answer values (evaluations memoised, see :func:`_evaluations`)."""

    def __init__(self, gold, answer, rel_tol: float):
        self.rel_tol = rel_tol
        names: set[str] = set()
        for tree in itertools.chain(_exprs(gold), _exprs(answer)):
            names |= latex.free_vars(tree)
        self.names = tuple(sorted(names))

    def outcome(self, tree):
        """The values of ``tree`` at the random points, or the exception it raised."""
        return _evaluations(tree, self.names)

    def values(self, tree):
        outcome = self.outcome(tree)
        if isinstance(outcome, Exception):
            raise outcome.with_traceback(None)
        return outcome

    def expr_equal(self, g, a) -> bool:
        gt, at = g[1], a[1]
        if latex.symbols(gt) or latex.symbols(at):
            return gt == at  # opaque symbols (52_8) only equal themselves
        gv, av = self.outcome(gt), self.outcome(at)
        for outcome in (gv, av):
            if isinstance(outcome, latex.Undefined) and outcome.constant:
                return False  # an undefined value (\frac{1}{0}, \cot 0, x + \cot 0) equals nothing
        if isinstance(gv, latex.Huge) and _sizes_differ(gv, av):
            return False  # (10^9)! against anything computable: decided by size
        if isinstance(av, latex.Huge) and _sizes_differ(av, gv):
            return False
        for outcome in (gv, av):
            if isinstance(outcome, Exception):
                raise outcome.with_traceback(None)
        exact_int_gold = all(isinstance(v, latex.Fraction) and v.denominator == 1 for v in gv)
        loose = (latex.has_float(gt) or latex.has_float(at)) and not exact_int_gold
        tol = self.rel_tol if loose else None
        return all(latex.close(x, y, tol) for x, y in zip(gv, av, strict=True))

    def equal(self, g, a) -> bool:
        gk, ak = g[0], a[0]
        if gk == "raw" or ak == "raw":
            return g[-1] == a[-1] if gk == ak else False
        if gk == "text" or ak == "text":
            if gk == ak:
                return g[1] == a[1]
            other = a if gk == "text" else g
            text = g[1] if gk == "text" else a[1]
            return other[0] == "expr" and other[2].replace(" ", "").lower() == text.replace(" ", "")
        if gk == "expr" and ak == "expr":
            return self.expr_equal(g, a)
        if gk == "eq" or ak == "eq":
            return gk == ak and self.equations_equal(g, a)
        # one element in a container equals the bare element
        if gk == "bag" and len(g[1]) == 1 and ak != "bag":
            return self.equal(g[1][0], a)
        if ak == "bag" and len(a[1]) == 1 and gk != "bag":
            return self.equal(g, a[1][0])
        if gk == "bag" and ak == "bag":
            return self.bags_equal(g[1], a[1])
        if gk == "union" or ak == "union":
            gu, au = as_union(g), as_union(a)
            return gu is not None and au is not None and self.unions_equal(gu[1], au[1])
        if gk == "tuple" and ak == "tuple":
            return g[1] == a[1] and self.seq_equal(g[2], a[2])
        if gk == "matrix" or ak == "matrix":
            return self.matrix_equal(g, a)
        return False

    def equations_equal(self, g, a) -> bool:
        """Same sides (either way round), or lhs - rhs proportional: the same equation."""
        (_, gl, gr), (_, al, ar) = g, a
        if self.equal(gl, al) and self.equal(gr, ar) or self.equal(gl, ar) and self.equal(gr, al):
            return True
        sides = (gl, gr, al, ar)
        if not all(v[0] == "expr" for v in sides) or any(latex.symbols(v[1]) for v in sides):
            return False
        gd = self.values(("sub", gl[1], gr[1]))
        ad = self.values(("sub", al[1], ar[1]))
        if any(not latex.finite(v) or latex.close(v, 0) for v in gd + ad):
            return False  # finite / infinite is 0 at every point: no proportionality test
        ratios = [latex._mp(x) / latex._mp(y) for x, y in zip(gd, ad, strict=True)]
        return all(latex.close(r, ratios[0]) for r in ratios[1:])

    def seq_equal(self, gs, as_) -> bool:
        return len(gs) == len(as_) and all(self.equal(x, y) for x, y in zip(gs, as_, strict=True))

    def bags_equal(self, gs, as_) -> bool:
        if len(gs) != len(as_):
            return False
        used = [False] * len(as_)

        def match(i: int) -> bool:
            if i == len(gs):
                return True
            for j, item in enumerate(as_):
                if not used[j] and self.equal(gs[i], item):
                    used[j] = True
                    if match(i + 1):
                        return True
                    used[j] = False
            return False

        return match(0)

    def unions_equal(self, gs, as_) -> bool:
        def same(x, y):
            return x[1] == y[1] and x[3] == y[3] and self.equal(x[0], y[0]) and self.equal(x[2], y[2])

        if len(gs) != len(as_):
            return False
        remaining = list(as_)
        for interval in gs:
            for k, other in enumerate(remaining):
                if same(interval, other):
                    del remaining[k]
                    break
            else:
                return False
        return True

    def matrix_equal(self, g, a) -> bool:
        def flat(v):
            if v[0] == "matrix":
                rows = v[1]
                if len(rows) == 1:
                    return rows[0]
                if all(len(r) == 1 for r in rows):
                    return tuple(r[0] for r in rows)
                return None
            if v[0] == "tuple" and v[1] in ("()", "[]"):
                return v[2]
            return None

        if g[0] == "matrix" and a[0] == "matrix":
            gr, ar = g[1], a[1]
            return len(gr) == len(ar) and all(self.seq_equal(x, y) for x, y in zip(gr, ar, strict=True))
        fg, fa = flat(g), flat(a)
        return fg is not None and fa is not None and self.seq_equal(fg, fa)


def compare_values(gold, answer, rel_tol: float = 1e-6) -> tuple[bool, str]:
    """(equal, layer) of two read values; raises latex.TooLarge when a value is out of
    the evaluator's bounds."""
    ok = Comparer(gold, answer, rel_tol).equal(gold, answer)
    return ok, "numeric" if gold[0] == answer[0] == "expr" else "structure"


def read_equation(text: str):
    """``("eq", lhs, rhs)`` of an answer that is one equation, labels kept as
    sides (``y = 2x + 3``); None when it is not one equation of expressions."""
    s = strip_units(canonical_text(text))
    sides = split_top(s, _EQUALS)
    if len(sides) != 2 or not all(sides):
        return None
    try:
        return ("eq", ("expr", latex.parse(sides[0]), sides[0]), ("expr", latex.parse(sides[1]), sides[1]))
    except (latex.ParseError, RecursionError):
        return None


def equations_equivalent(gold: str, answer: str, rel_tol: float = 1e-6) -> bool:
    """Whether two single equations are the same relation: sides swapped, or
    rearranged and scaled (``3x-6y+2=0`` and ``y=\\frac{1}{2}x+\\frac{1}{3}``)."""
    g, a = read_equation(gold), read_equation(answer)
    if g is None or a is None:
        return False
    try:
        return Comparer(g, a, rel_tol).equations_equal(g, a)
    except (latex.TooLarge, ZeroDivisionError, ValueError, OverflowError, RecursionError):
        return False


def has_raw(value) -> bool:
    """Whether any part of a value could not be parsed."""
    kind = value[0]
    if kind == "raw":
        return True
    if kind == "tuple":
        return any(has_raw(v) for v in value[2])
    if kind == "bag":
        return any(has_raw(v) for v in value[1])
    if kind == "matrix":
        return any(has_raw(v) for row in value[1] for v in row)
    if kind == "union":
        return any(has_raw(lo) or has_raw(hi) for lo, _, hi, _ in value[1])
    if kind == "eq":
        return has_raw(value[1]) or has_raw(value[2])
    return False
