"""A small LaTeX math parser and a bounded numeric evaluator.

The grader compares most expression answers without sympy: both sides are
parsed into a tiny expression tree and evaluated, exactly (with fractions)
when the expression is rational, else with mpmath at 50 digits, at the same
random points for any free variables. Everything here is bounded: the parser
limits nesting and length, the evaluator refuses huge exponents, factorials
and arguments, so a hostile answer costs microseconds, not minutes.

Trees are tuples: ``("num", Fraction)``, ``("float", Fraction, text)`` (a
decimal literal), ``("const", "pi"|"e"|"inf")``, ``("var", name)``,
``("neg", x)``, ``("add", a, b)``, ``("sub", a, b)``, ``("mul", a, b)``,
``("div", a, b)``, ``("pow", a, b)``, ``("fact", x)``, ``("dfact", x)`` (``x!!``), ``("func", name, x)``,
``("root", n, x)``, ``("binom", n, k)``, ``("abs", x)``, ``("sym", text)``
(an opaque symbol such as ``52_8``, equal only to itself).
"""

from __future__ import annotations

import math
import operator
import random
import re
from fractions import Fraction
from functools import lru_cache

import mpmath

MAX_LENGTH = 600  # characters of one expression
MAX_DEPTH = 60  # nesting of the parse
MAX_NODES = 400
MAX_EXACT_BITS = 100_000  # bits of an exact rational; beyond, this evaluator does not decide
MAX_LOG2 = 100_000  # |log2| of any value; beyond it the value is "too large"
MAX_FACTORIAL = 1_000
PRECISION = 50  # decimal digits of the numeric evaluation


class ParseError(ValueError):
    """The text is not an expression this parser understands."""


class TooLarge(ArithmeticError):
    """A value outside the evaluator's bounds (it refuses instead of hanging)."""


FUNCTIONS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "ln", "log", "exp", "lg",
}  # fmt: skip

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau",
    "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
    "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}  # fmt: skip

ACCENTS = {"dot", "ddot", "hat", "bar", "vec", "tilde", "overline", "widehat", "overrightarrow"}

IGNORED_COMMANDS = {
    "left", "right", "displaystyle", "textstyle", "big", "Big", "bigg", "Bigg",
    "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", ",", ";", ":", "!", " ", "quad", "qquad",
}  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+(?![a-zA-Z]))?)
  | (?P<cmd>\\(?:[a-zA-Z]+|.))
  | (?P<sub>_(?:\{[^{}]*\}|[a-zA-Z0-9]))
  | (?P<letter>[a-zA-Z])
  | (?P<op>[-+*/^(){}\[\]|!'])
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE,
)


_AFTER_POINT = {"(", "\\overline", "\\bar", "\\dot"}
_PRIME = re.compile(r"\^\s*\{?\s*((?:\\prime\s*)+)\}?")


def tokenize(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_LENGTH:
        raise ParseError("expression too long")
    text = _PRIME.sub(lambda m: "'" * m.group(1).count("prime"), text)
    tokens = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        value = m.group()
        if kind == "space":
            continue
        if kind == "cmd" and value[1:] in IGNORED_COMMANDS:
            continue
        if kind == "other":
            raise ParseError(f"unexpected character {value!r}")
        if tokens and tokens[-1][0] == "num" and tokens[-1][1].endswith(".") and value in _AFTER_POINT:
            # repeating-decimal notation around something that is no repetend (1.(x+1)):
            # not a number (read as a product, 1.(G) equalled G); 0.(3) is \frac{1}{3} by now
            raise ParseError("a decimal point before a group")
        tokens.append((kind, value))
    return tokens


class Parser:
    """Recursive descent over the tokens; implicit multiplication included."""

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.nodes = 0

    # -- helpers
    def peek(self, offset: int = 0):
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def expect(self, value: str):
        kind, tok = self.take()
        if tok != value:
            raise ParseError(f"expected {value!r}, got {tok!r}")

    def node(self, *parts):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ParseError("expression too large")
        return parts

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("expression nested too deeply")

    def leave(self):
        self.depth -= 1

    # -- grammar
    def parse(self):
        tree = self.expr()
        if self.pos != len(self.tokens):
            raise ParseError(f"unexpected {self.peek()[1]!r}")
        return tree

    def expr(self):
        self.enter()
        left = self.term()
        while True:
            _, tok = self.peek()
            if tok in ("+", "-"):
                self.take()
                right = self.term()
                left = self.node("add" if tok == "+" else "sub", left, right)
            else:
                break
        self.leave()
        return left

    def term(self):
        left = self.unary()
        while True:
            kind, tok = self.peek()
            if tok in ("*", "/", "\\cdot", "\\times", "\\div"):
                self.take()
                right = self.unary()
                left = self.node("div" if tok in ("/", "\\div") else "mul", left, right)
            elif self.starts_atom(kind, tok):
                right = self.power()
                if _is_mixed_number(left, right, tok):
                    left = self.node("add", left, right)  # 1\frac{4}{5} is 9/5
                elif left[0] == "neg" and _is_mixed_number(left[1], right, tok):
                    left = self.node("neg", self.node("add", left[1], right))  # -6\frac{1}{2} is -13/2
                else:
                    left = self.node("mul", left, right)
            else:
                return left

    def unary(self):
        _, tok = self.peek()
        if tok == "-":
            self.take()
            return self.node("neg", self.unary())
        if tok == "+":
            self.take()
            return self.unary()
        return self.power()

    def starts_atom(self, kind, tok) -> bool:
        if kind in ("num", "letter"):
            return True
        if kind == "cmd":
            name = tok[1:]
            return (
                name in FUNCTIONS
                or name in GREEK
                or name in ("frac", "dfrac", "tfrac", "sqrt", "pi", "infty", "binom", "dbinom", "tbinom")
                or name in ("lfloor", "lceil", "mathrm", "operatorname", "angle")
                or name in ACCENTS
                or tok in ("\\lvert", "\\vert", "\\|")
            )
        return tok in ("(", "[", "{")

    def power(self):
        base = self.postfix()
        _, tok = self.peek()
        if tok == "^":
            self.take()
            self.enter()
            exponent = self.exponent()
            self.leave()
            return self.node("pow", base, exponent)
        return base

    def exponent(self):
        kind, tok = self.peek()
        if tok == "{":
            return self.group("{", "}")
        if tok == "-":
            self.take()
            return self.node("neg", self.exponent())
        if kind == "num":
            self.take()  # models mean 2^10 as 2^{10}: the whole number is the exponent
            return self.number(tok)
        return self.postfix()

    def postfix(self):
        atom = self.atom()
        while True:
            kind, tok = self.peek()
            if tok == "!" and self.peek(1)[1] == "!":  # n!! is the double factorial, not (n!)!
                self.pos += 2
                atom = self.node("dfact", atom)
            elif tok == "!":
                self.take()
                atom = self.node("fact", atom)
            else:
                return atom

    def group(self, open_: str, close: str):
        self.expect(open_)
        inner = self.expr()
        self.expect(close)
        return inner

    def braced_text(self) -> str:
        """Raw text of a {...} group (for \\text, \\mathrm, \\operatorname)."""
        self.expect("{")
        parts, depth = [], 1
        while True:
            kind, tok = self.take()
            if tok is None:
                raise ParseError("unclosed group")
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if depth == 0:
                    return "".join(parts)
            parts.append(tok)

    def number(self, text: str):
        if any(c in text for c in ".eE"):
            return self.node("float", Fraction(text), text)
        return self.node("num", Fraction(int(text)))

    def atom(self):
        kind, tok = self.take()
        if tok is None:
            raise ParseError("unexpected end")
        if kind == "num":
            node = self.number(tok)
            return self.subscripted(node, tok)
        if kind == "letter":
            return self.applied(self.primed(self.subscripted(self.node("var", tok), tok)))
        if tok in ("(", "[", "{"):
            close = {"(": ")", "[": "]", "{": "}"}[tok]
            self.enter()
            inner = self.expr()
            self.leave()
            self.expect(close)
            return inner
        if tok in ("|", "\\|", "\\lvert", "\\vert"):
            closing = {"\\lvert": "\\rvert"}.get(tok, tok)
            self.enter()
            inner = self.expr()
            self.leave()
            self.expect(closing)
            return self.node("abs", inner)
        if kind == "cmd":
            return self.command(tok[1:])
        raise ParseError(f"unexpected {tok!r}")

    def subscripted(self, node, text):
        kind, tok = self.peek()
        if kind == "sub":
            self.take()
            body = tok[1:].strip("{}")
            # x_1 is a variable name; 52_8 is a number in base 8: an opaque symbol
            return self.node("sym" if node[0] != "var" else "var", f"{text}_{body}")
        return node

    def applied(self, node):
        """``f(0)``, ``P(-1)``, ``f'(2)``: a letter applied to one number is a
        function's value, an unknown of its own (a variable named ``f(0)``), not the
        product f·0, which is 0 for any f: a response that restates the question,
        "f(0)", would match the gold 0, and every answer 0 Minerva's gold
        ``I(0) e^{-t/(RC)}``. ``x(x+1)``, ``a(1+\\sqrt 2)`` stay products; ``e`` and
        ``i`` are constants."""
        if node[0] != "var" or node[1] in ("e", "i") or self.peek()[1] != "(":
            return node
        sign = "-" if self.peek(1)[1] == "-" else ""
        kind, number = self.peek(1 + len(sign))
        if kind != "num" or self.peek(2 + len(sign))[1] != ")":
            return node
        self.pos += 3 + len(sign)
        return self.node("var", f"{node[1]}({sign}{number})")

    def primed(self, node):
        """y' and y'' are variables of their own (derivatives, as names)."""
        primes = ""
        while self.peek()[1] == "'":
            self.take()
            primes += "'"
        return self.node("var", node[1] + primes) if primes and node[0] == "var" else node

    def command(self, name: str):
        if name in ("frac", "dfrac", "tfrac"):
            num = self.arg()
            den = self.arg()
            return self.node("div", num, den)
        if name in ("binom", "dbinom", "tbinom"):
            return self.node("binom", self.arg(), self.arg())
        if name == "sqrt":
            index = ("num", Fraction(2))
            if self.peek()[1] == "[":
                index = self.group("[", "]")
            return self.node("root", index, self.arg())
        if name == "pi":
            return self.node("const", "pi")
        if name == "infty":
            return self.node("const", "inf")
        if name in GREEK:
            return self.primed(self.subscripted(self.node("var", name), name))
        if name in ACCENTS:
            inner = self.braced_text() if self.peek()[1] == "{" else self.take()[1]
            text = f"{name}{{{inner.strip()}}}"
            return self.primed(self.subscripted(self.node("var", text), text))
        if name == "angle":  # \angle ABC: a named angle
            letters = ""
            while self.peek()[0] in ("letter", "sub"):
                letters += self.take()[1]
            if not letters:
                raise ParseError("\\angle without a name")
            return self.node("sym", f"angle {letters}")
        if name in ("lfloor", "lceil"):
            inner = self.expr()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            return self.node("func", "floor" if name == "lfloor" else "ceil", inner)
        if name in ("mathrm", "operatorname", "text"):
            word = self.braced_text().strip()
            if word in FUNCTIONS:
                return self.function(word)
            if word == "e":
                return self.node("const", "e")
            raise ParseError(f"text {word!r} in an expression")
        if name in FUNCTIONS:
            return self.function(name)
        raise ParseError(f"unsupported command \\{name}")

    def arg(self):
        """A command argument: {group} or a single token (\\frac12)."""
        kind, tok = self.peek()
        if tok == "{":
            return self.group("{", "}")
        if kind == "num" and tok.isdigit() and len(tok) > 1:
            # \frac12 is \frac{1}{2}: a bare argument is one digit
            self.tokens[self.pos] = ("num", tok[1:])
            return self.number(tok[0])
        return self.atom()

    def function(self, name: str):
        base = None
        if name == "log" and self.peek()[0] == "sub":
            _, tok = self.take()
            base = Parser(tok[1:].strip("{}")).parse()
        power = None
        if self.peek()[1] == "^":  # \sin^2 x
            self.take()
            power = self.exponent()
        _, tok = self.peek()
        arg = self.atom() if tok in ("(", "{", "[") else self.unary_factor()
        node = self.node("func", name, arg)
        if base is not None:
            node = self.node("div", self.node("func", "ln", arg), self.node("func", "ln", base))
        if power is not None:
            node = self.node("pow", node, power)
        return node

    def unary_factor(self):
        """The argument of \\sin 2x: a product of atoms without + or -."""
        left = self.power()
        while True:
            kind, tok = self.peek()
            if self.starts_atom(kind, tok) and not (kind == "cmd" and tok[1:] in FUNCTIONS):
                left = self.node("mul", left, self.power())
            else:
                return left


def _is_mixed_number(left, right, tok) -> bool:
    return (
        tok in ("\\frac", "\\dfrac", "\\tfrac")
        and left[0] == "num"
        and right[0] == "div"
        and right[1][0] == "num"
        and right[2][0] == "num"
    )


def parse(text: str):
    return Parser(text).parse()


# ------------------------------------------------------------------ evaluation


_LEAVES = ("num", "float", "const", "var", "sym")


@lru_cache(maxsize=16384)
def _leaf_names(tree, kind: str) -> frozenset[str]:
    """The names of the ``kind`` leaves (``var`` or ``sym``) anywhere in ``tree`` (memoised)."""
    out: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if node[0] == kind:
            out.add(node[1])
        elif node[0] not in _LEAVES:
            stack.extend(p for p in node[1:] if isinstance(p, tuple))
    return frozenset(out)


def free_vars(tree) -> frozenset[str]:
    return _leaf_names(tree, "var")


def symbols(tree) -> frozenset[str]:
    return _leaf_names(tree, "sym")


def has_float(tree) -> bool:
    stack = [tree]
    while stack:
        node = stack.pop()
        if node[0] == "float" and node[1].denominator != 1:
            return True
        if node[0] not in ("num", "float", "const", "var", "sym"):
            stack.extend(p for p in node[1:] if isinstance(p, tuple))
    return False


# |log2| above which a rounded value no longer tells integers apart: rounded to
# PRECISION digits, 2024^{4046} and 2024^{4046} - 1 (CMIMC25's gold and a near
# miss) are the same number
ROUNDED_MAX_LOG2 = int((PRECISION - 10) * math.log2(10))


class Undefined(TooLarge):
    """A value that does not exist: division by zero, ``0^{-1}``, ``\\log 0``, a pole of a
    trigonometric function (``\\cot 0``, ``\\tan\\frac{\\pi}{2}``), ``\\infty-\\infty``.
    Undefined equals nothing. ``constant``: it arose in a part without free variables
    (``\\frac{1}{0}``, not ``\\frac{1}{x-x}`` at a sampled point), so the whole expression
    is undefined everywhere."""

    constant = False


class Huge(TooLarge):
    """A value too large to compute whose size is known: ``|value| >= 2**log2`` (a lower
    bound), with its sign where known (+1, -1, or None). ``(10^9)!`` is at least
    2^{2.8e10}: no gold comes near, so it is decided without computing it."""

    def __init__(self, log2: float, sign: int | None):
        super().__init__(f"|value| >= 2^{log2:.4g}")
        self.log2 = log2
        self.sign = sign


def _sign(x) -> int | None:
    if isinstance(x, (Fraction, mpmath.mpf)):
        return 1 if x > 0 else -1 if x < 0 else 0
    return None  # complex


def _times(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a * b


def log2_bounds(x) -> tuple[float, float]:
    """(lower, upper) bounds of log2 |x| for a finite value (-inf for 0)."""
    if isinstance(x, Fraction):
        if x == 0:
            return -math.inf, -math.inf
        exp = x.numerator.bit_length() - x.denominator.bit_length()
        return exp - 1.0, exp + 1.0
    mag = abs(x)
    if mag == 0:
        return -math.inf, -math.inf
    value = float(mpmath.log(mag, 2))
    return value - 1e-6, value + 1e-6


def _huge_factorial(n) -> Huge:
    """n! for a real n > MAX_FACTORIAL: n! > (n/e)^n (Stirling)."""
    bits = n.numerator.bit_length() if isinstance(n, Fraction) else None
    if bits is not None and bits > 1000:
        return Huge(math.inf, 1)
    log2n = math.log2(n) if isinstance(n, Fraction) else float(mpmath.log(n, 2))
    return Huge(float(n) * (log2n - math.log2(math.e)) - 1.0, 1)


def _huge_arithmetic(kind: str, a, b) -> TooLarge | Fraction:
    """``a op b`` where at least one operand is :class:`Huge` (an exception instance):
    a Huge to raise when the size of the result is known, a plain TooLarge when it is not
    (``H - H``, ``1 / H``), or a value (``0 \\cdot H``)."""
    if kind in ("add", "sub"):
        if isinstance(a, Huge) and isinstance(b, Huge):
            return TooLarge("difference of huge values")
        huge, other = (a, b) if isinstance(a, Huge) else (b, a)
        if _sign(other) is None or log2_bounds(other)[1] > huge.log2 - 2:
            return TooLarge("huge plus a large value")
        sign = huge.sign if huge is a or kind == "add" else _times(huge.sign, -1)
        return Huge(huge.log2 - 1, sign)  # |H ± v| >= 2^L - 2^(L-2)
    if kind == "mul":
        if isinstance(a, Huge) and isinstance(b, Huge):
            return Huge(a.log2 + b.log2, _times(a.sign, b.sign))
        huge, other = (a, b) if isinstance(a, Huge) else (b, a)
        if other == 0:
            return Fraction(0) if isinstance(other, Fraction) else mpmath.mpf(0)
        return Huge(huge.log2 + log2_bounds(other)[0], _times(huge.sign, _sign(other)))
    # div
    if isinstance(b, Huge):
        return TooLarge("division by a huge value")
    if b == 0:
        return Undefined("division by zero")
    return Huge(a.log2 - log2_bounds(b)[1], _times(a.sign, _sign(b)))


def _rounded(x):
    """An exact value too large to keep exact, rounded (``_check_mp`` done): kept while
    it is small enough for the rounding not to merge neighbours, else refused (sympy, which
    keeps integers exact, decides)."""
    if not mpmath.isinf(x) and x != 0 and mpmath.log(abs(x), 2) > ROUNDED_MAX_LOG2:
        raise TooLarge("exact value too large to round")
    return x


def _check_mp(x):
    if isinstance(x, (mpmath.mpf, mpmath.mpc)):
        if mpmath.isnan(x):
            raise Undefined("undefined value")
        if not mpmath.isinf(x) and x != 0:
            log2 = mpmath.log(abs(x), 2)
            if log2 > MAX_LOG2:
                raise Huge(float(log2) - 1e-6, _sign(x))
            if log2 < -MAX_LOG2:
                raise TooLarge("value too small")
    return x


def _mp(x):
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return x


def _exact_ok(x: Fraction) -> bool:
    return x.numerator.bit_length() + x.denominator.bit_length() <= MAX_EXACT_BITS


def _int_root(value: Fraction, n: int):
    """Exact n-th root of a non-negative rational, or None."""
    if value < 0 or n <= 0:
        return None
    num, den = value.numerator, value.denominator
    roots = []
    for part in (num, den):
        r = round(part ** (1.0 / n)) if part.bit_length() < 1000 else None
        if r is None:
            return None
        for cand in (r - 1, r, r + 1):
            if cand >= 0 and cand**n == part:
                roots.append(cand)
                break
        else:
            return None
    return Fraction(roots[0], roots[1])


_ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}

_FUNCTIONS = {
    "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "cot": mpmath.cot,
    "sec": mpmath.sec, "csc": mpmath.csc, "arcsin": mpmath.asin, "arccos": mpmath.acos,
    "arctan": mpmath.atan, "sinh": mpmath.sinh, "cosh": mpmath.cosh, "tanh": mpmath.tanh,
    "ln": mpmath.ln, "log": mpmath.log10, "lg": mpmath.log10, "exp": mpmath.exp,
}  # fmt: skip
# where each function has its poles: the zeros of cos (tan, sec) or of sin (cot, csc)
_POLES = {"tan": mpmath.cos, "sec": mpmath.cos, "cot": mpmath.sin, "csc": mpmath.sin}
# |cos x| or |sin x| below this is a zero computed at PRECISION digits, not a value
# near one (a random point or a decimal literal is never that close)
POLE_TOLERANCE = mpmath.mpf(10) ** (20 - PRECISION)


class Evaluator:
    """Evaluates a tree at one assignment of its free variables.

    Raises :class:`Undefined` for a value that does not exist, :class:`Huge` for one
    too large to compute whose size is known, :class:`TooLarge` for anything else out
    of bounds. A node that gets a Huge operand works out the size of its own value
    where it can (``-H``, ``H + 1``, ``2H``, ``H^2``, ``H!``, ``2^H``) and refuses
    otherwise (``H - H``, ``\\sin H``)."""

    def __init__(self, env: dict[str, object]):
        self.env = env

    def operand(self, node):
        """The value of a child node, or the :class:`Huge` it raised (as a value)."""
        try:
            return self(node)
        except Huge as huge:
            return huge

    def plain(self, node):
        """The value of a child node whose size this node cannot carry on."""
        value = self.operand(node)
        if isinstance(value, Huge):
            raise TooLarge("huge operand")
        return value

    def __call__(self, node):
        try:
            return self.value(node)
        except Undefined as undefined:
            if not undefined.constant and not free_vars(node):
                undefined.constant = True
            raise

    def value(self, node):
        kind = node[0]
        if kind in ("num", "float"):
            return node[1]
        if kind == "const":
            return {"pi": +mpmath.pi, "e": +mpmath.e, "inf": mpmath.inf}[node[1]]
        if kind == "var":
            if node[1] == "e":
                return +mpmath.e
            return self.env[node[1]]
        if kind == "sym":
            raise TooLarge("opaque symbol has no value")
        if kind == "neg":
            x = self.operand(node[1])
            if isinstance(x, Huge):
                raise Huge(x.log2, _times(x.sign, -1))
            return -x
        if kind in _ARITHMETIC:
            a, b = self.operand(node[1]), self.operand(node[2])
            if isinstance(a, Huge) or isinstance(b, Huge):
                result = _huge_arithmetic(kind, a, b)
                if isinstance(result, TooLarge):
                    raise result
                return result
            if kind == "div" and b == 0:
                raise Undefined("division by zero")
            op = _ARITHMETIC[kind]
            if isinstance(a, Fraction) and isinstance(b, Fraction):
                r = op(a, b)
                if _exact_ok(r):
                    return r
                return _rounded(_check_mp(op(_mp(a), _mp(b))))
            return _check_mp(op(_mp(a), _mp(b)))
        if kind == "pow":
            return self.power(self.operand(node[1]), self.operand(node[2]))
        if kind == "root":
            return self.root(self.plain(node[1]), self.operand(node[2]))
        if kind == "fact":
            return self.factorial(self.operand(node[1]))
        if kind == "dfact":
            return self.double_factorial(self.operand(node[1]))
        if kind == "binom":
            n, k = self.plain(node[1]), self.plain(node[2])
            integers = all(isinstance(v, Fraction) and v.denominator == 1 for v in (n, k))
            if integers and 0 <= n <= MAX_FACTORIAL:
                return Fraction(math.comb(int(n), int(k))) if k >= 0 else Fraction(0)
            if integers and n < 0 <= k and k - n - 1 <= MAX_FACTORIAL:
                # the binomial series' coefficient, as sympy has it: C(-n, k) = (-1)^k C(n+k-1, k)
                return Fraction((-1) ** int(k) * math.comb(int(k - n - 1), int(k)))
            if not integers and abs(_mp(n)) <= MAX_FACTORIAL and abs(_mp(k)) <= MAX_FACTORIAL:
                return _check_mp(mpmath.binomial(_mp(n), _mp(k)))
            raise TooLarge("binomial out of range")
        if kind == "abs":
            x = self.operand(node[1])
            if isinstance(x, Huge):
                raise Huge(x.log2, 1)
            return abs(x) if isinstance(x, Fraction) else _check_mp(abs(_mp(x)))
        if kind == "func":
            x = self.operand(node[2])
            if isinstance(x, Huge):
                if node[1] == "exp" and x.sign == 1:
                    raise Huge(math.inf, 1)
                raise TooLarge("function of a huge value")
            return self.function(node[1], x)
        raise TooLarge(f"unknown node {kind}")

    def factorial(self, x):
        if isinstance(x, Huge):
            if x.sign == 1:
                raise Huge(math.inf, 1)
            raise TooLarge("factorial of a huge value")
        if isinstance(x, Fraction) and x.denominator == 1:
            if x < 0:
                raise Undefined("factorial of a negative integer")
            if x <= MAX_FACTORIAL:
                return Fraction(math.factorial(int(x)))
            raise _huge_factorial(x)
        if not isinstance(x, Fraction) and abs(x) <= MAX_FACTORIAL:
            return _check_mp(mpmath.gamma(x + 1))  # x! at a random point: Gamma(x+1)
        if _sign(x) == 1:
            raise _huge_factorial(x)
        raise TooLarge("factorial out of range")

    def double_factorial(self, x):
        """n!! = n (n-2) (n-4) ... for an integer n >= -1; (n!!)^2 >= n!, so its size is
        at least half that of n!."""
        if isinstance(x, Huge):
            if x.sign == 1:
                raise Huge(math.inf, 1)
            raise TooLarge("double factorial of a huge value")
        if not (isinstance(x, Fraction) and x.denominator == 1 and x >= -1):
            raise TooLarge("double factorial of a non-integer")
        if x > MAX_FACTORIAL:
            raise Huge(_huge_factorial(x).log2 / 2, 1)
        return Fraction(math.prod(range(int(x), 0, -2)))

    def power(self, base, exp):
        if isinstance(base, Huge) or isinstance(exp, Huge):
            raise self.huge_power(base, exp)
        exact = isinstance(base, Fraction) and isinstance(exp, Fraction) and exp.denominator == 1
        if exact:
            e = int(exp)
            if base == 0 and e < 0:
                raise Undefined("division by zero")
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if bits * abs(e) <= MAX_EXACT_BITS:
                return base**e
        if isinstance(base, Fraction) and isinstance(exp, Fraction) and base > 0 and exp.denominator > 1:
            root = _int_root(base, exp.denominator) if exp.denominator <= 64 else None
            if root is not None:
                return self.power(root, Fraction(exp.numerator))
        b, e = _mp(base), _mp(exp)
        # |log2(b^e)| = |e| * |log2 b|: refuse before computing a monster
        if isinstance(e, mpmath.mpf) and abs(e) > 1 and abs(b) not in (0, 1):
            size = e * mpmath.log(abs(b), 2)
            if size > MAX_LOG2:
                raise Huge(float(size) - 1e-6, self.power_sign(base, exp))
            if size < -MAX_LOG2:
                raise TooLarge("power too small")
        if b == 0 and _sign(e) == -1:
            raise Undefined("division by zero")
        value = _check_mp(mpmath.power(b, e))
        return _rounded(value) if exact else value

    @staticmethod
    def power_sign(base, exp) -> int | None:
        """The sign of a real ``base^exp`` (None where it may be complex)."""
        sign = _sign(base)
        if sign == 1:
            return 1
        if sign == -1 and isinstance(exp, Fraction) and exp.denominator == 1:
            return 1 if exp.numerator % 2 == 0 else -1
        return None

    @staticmethod
    def huge_power(base, exp) -> TooLarge:
        """What ``base^exp`` is when one of them is :class:`Huge`."""
        if isinstance(exp, Huge):
            if exp.sign != 1 or isinstance(base, Huge) and base.sign != 1:
                return TooLarge("huge exponent of unknown sign")
            if isinstance(base, Huge) or _sign(base) == 1 and abs(base) > 1:
                return Huge(math.inf, 1)  # b^H >= b^(2^L)
            return TooLarge("huge exponent")
        if _sign(exp) == 1:  # |H|^e >= 2^(L e) for any e > 0
            even = isinstance(exp, Fraction) and exp.denominator == 1 and exp.numerator % 2 == 0
            sign = 1 if base.sign == 1 or even else None
            return Huge(base.log2 * float(exp), sign)  # (a lower bound also for 0 < e < 1)
        return TooLarge("huge base")

    def root(self, index, x):
        if isinstance(x, Huge):
            if _sign(index) == 1:
                raise Huge(x.log2 / float(index), 1 if x.sign == 1 else None)
            raise TooLarge("root of a huge value")
        if isinstance(index, Fraction) and index.denominator == 1 and isinstance(x, Fraction) and x >= 0:
            exact = _int_root(x, int(index))
            if exact is not None:
                return exact
        if isinstance(index, Fraction) and index == 2:
            return _check_mp(mpmath.sqrt(_mp(x)))
        if index == 0:
            raise Undefined("zeroth root")
        return self.power(x, 1 / _mp(index) if not isinstance(index, Fraction) else 1 / index)

    def function(self, name, x):
        v = _mp(x)
        trig = name in ("sin", "cos", "tan", "cot", "sec", "csc")
        if trig and isinstance(v, (mpmath.mpf, mpmath.mpc)) and abs(v) > 1e6:
            raise TooLarge("trigonometric argument too large")
        if name == "exp" and abs(v) > 1e5:
            if _sign(v) == 1:
                raise Huge(float(v) * math.log2(math.e) - 1.0, 1)
            raise TooLarge("exponential too large")
        if name in ("floor", "ceil"):
            if isinstance(x, Fraction):
                return Fraction(math.floor(x) if name == "floor" else math.ceil(x))
            if not isinstance(v, mpmath.mpf):
                raise TooLarge(f"{name} of a complex value")
            if mpmath.isinf(v):
                return v  # an infinity is its own floor
            return Fraction(int(mpmath.floor(v) if name == "floor" else mpmath.ceil(v)))
        if name in ("ln", "log", "lg") and v == 0:
            raise Undefined("log of zero")
        if name in _POLES and abs(_POLES[name](v)) < POLE_TOLERANCE:
            raise Undefined(f"{name} at a pole")
        try:
            return _check_mp(_FUNCTIONS[name](v))
        except ZeroDivisionError:
            raise Undefined(f"{name} at a pole") from None


def evaluate(tree, env: dict | None = None):
    with mpmath.workdps(PRECISION):
        return Evaluator(env or {})(tree)


# Where the free variables are sampled: positive, away from 0 and 1, at three
# scales, so that floors, ceilings and piecewise answers are told apart too.
SAMPLE_RANGES = ((1.1, 2.9), (3.3, 9.7), (11.5, 37.3))


def random_envs(names: set[str], seed: int = 1234) -> list[dict]:
    """Shared random points for the free variables, one per range."""
    rng = random.Random(seed)
    names = sorted(names)
    with mpmath.workdps(PRECISION):
        return [{n: mpmath.mpf(rng.uniform(lo, hi)) for n in names} for lo, hi in SAMPLE_RANGES]


def finite(x) -> bool:
    """Whether an evaluated value is a finite number (not an infinity, not nan)."""
    return isinstance(x, Fraction) or bool(mpmath.isfinite(x))


def _far_apart(a, b) -> bool:
    """Whether two values differ by far more than any tolerance, seen in floats (cheap)."""
    try:
        x, y = complex(a), complex(b)
    except (OverflowError, TypeError, ValueError):
        return False
    scale = max(abs(x), abs(y))
    return scale < 1e300 and abs(x - y) > 1e-3 * scale


def close(a, b, rel_tol: float | None = None) -> bool:
    """Equal values: exactly for two rationals (unless a tolerance is given),
    else within ``rel_tol`` (default: the evaluation's own rounding)."""
    if isinstance(a, Fraction) and isinstance(b, Fraction) and (rel_tol is None or a == b):
        return a == b
    if _far_apart(a, b):
        return False
    with mpmath.workdps(PRECISION):
        x, y = _mp(a), _mp(b)
        if mpmath.isnan(x) or mpmath.isnan(y):
            return False  # undefined is close to nothing (max() would drop a nan scale)
        if mpmath.isinf(x) or mpmath.isinf(y):
            return x == y  # an infinity equals only the same infinity
        scale = max(abs(x), abs(y))
        if scale == 0:
            return True
        tol = rel_tol if rel_tol is not None else mpmath.mpf(10) ** (10 - PRECISION)
        return abs(x - y) <= tol * scale
