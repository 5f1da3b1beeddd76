r"""A seeded grammar of the final answers models write, to search for answers that
a grader accepts against golds they are not equal to.

The universal-answer tests grade answers someone thought of; this grammar makes
them up: :func:`answers` draws ``count`` answers (deterministic for a seed) from
productions for

- numbers in every spelling: integers with signs, leading zeros and thousands
  separators (``1,000``, ``1{,}000``, ``1\,000``), decimals, ``e`` and
  ``\times 10^{k}`` notation, fractions (``\frac``, ``\dfrac``, ``\frac12``,
  ``a/b``, mixed numbers), repeating decimals (``0.(3)``, ``0.\overline{3}``,
  ``0.\dot{3}``, ``1.\overline{142857}``, ``0.\dot{1}4285\dot{7}``), percent,
  degrees, units, ordinals, base subscripts, number words;
- expressions: roots, powers and towers, factorials (``5!``, ``(10^9)!``),
  binomials, trigonometric functions and logarithms (poles included:
  ``\cot 0``, ``\csc 0``, ``\sec\frac{\pi}{2}``), absolute values, floors,
  ``\pm``, constants and free variables, sums, products and quotients of these;
- structures: intervals and unions, sets, tuples, lists, matrices and vectors,
  inequalities;
- equations and labels (``x = 5``, ``a=b``, ``c=c``, ``f(x)=2x``, ``AB = 3``);
- choice letters (``C``, ``(C)``, ``\text{(C)}``, ``\textbf{(C)}``, ``c``);
- text (``\text{yes}``, ``\text{no solution}``, names);
- degenerate and undefined forms (``\frac{1}{0}``, ``\infty - \infty``,
  ``\emptyset``, an empty box, ``?``);

and their combinations (hedges with "or", decorations such as ``\left(``,
``\displaystyle``, ``$``, a trailing period). :data:`TEMPLATES` are answers built
from a gold ``G`` (``1.(G)``, ``G=G``, ``(G)!``, ...), graded against that gold, and
:data:`RESPELLINGS` the gold itself written another way.

Nothing here knows what a grader does: whether a generated answer equals a gold
is decided by the external graders or by hand (see test_answer_search.py).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

# values that golds often are: small integers, simple fractions, powers of ten, years
_COMMON = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 20, 24, 25, 36, 60, 100, 120, 1000, 2024, 2025]
_FRACTIONS = [(1, 2), (1, 3), (2, 3), (1, 4), (3, 4), (1, 6), (5, 6), (1, 7), (7, 2), (9, 4), (-1, 2)]
_REPETENDS = [  # (integer part, fixed decimals, repetend)
    ("0", "", "3"), ("0", "", "6"), ("0", "1", "6"), ("1", "", "142857"), ("0", "", "9"),
    ("2", "", "3"), ("4", "", "3"), ("0", "", "142857"), ("0", "0", "3"), ("3", "", "1"),
]  # fmt: skip
_VARIABLES = ["x", "y", "n", "k", "a", "b", "c", "m", "t", r"\theta", r"\alpha"]
_CHOICE_LETTERS = "ABCDE"
_UNITS = [
    r"\text{ cm}", r"\text{ m}", r"\,\mathrm{kg}", r"\text{ dollars}", r"\text{ units}", " cm", r"\text{ s}",
]  # fmt: skip
_WORDS = [
    "yes", "no", "none", "undefined", "DNE", "even", "odd", "east", "ellipse", "all real numbers",
    "no solution", "infinitely many", "any", "Evelyn", "Navin", "true", "false", "never", "always",
]  # fmt: skip
_NUMBER_WORDS = ["zero", "one", "two", "three", "five", "ten", "twelve", "hundred"]
_TOWERS = ["2^{2^{2^{2}}}", "10^{10^{10}}", "2^{2^{2^{2^{2^{5}}}}}", "9^{9^9}", "2^{150000}", "10^{100}"]
_FACTORIALS = ["5!", "0!", "10!", "100!", "(10^9)!", "n!", "(-1)!", "(n+1)!", "3!!", "1000!", "(10^{100})!"]
_LOGS = [r"\log 0", r"\ln 1", r"\log_2 8", r"\log_{1} 5", r"\ln(-1)", r"\log_3 0", r"\ln e", r"\log 1000"]
_FUNCTIONS = [r"\sin", r"\cos", r"\tan", r"\cot", r"\sec", r"\csc", r"\ln", r"\log", r"\arcsin", r"\arctan"]

# answers built from a gold G, graded against that gold: none equals G by construction, but
# for a few golds (0.\overline{0} is 0, 2! is 2, \sqrt{1} is 1): an accepted template pair
# must be on the allow-list, whatever the external graders say (both accept 1.(\frac{a}{b})
# against \frac{a}{b}, and m=m against m)
TEMPLATES = [
    "1.({G})",  # a decimal point before a group: 1.(G) is no number, not 1·G
    r"0.\overline{{{G}}}",
    "{G}={G}",  # a tautology
    "x={G}={G}",
    "({G})!",
    r"\sqrt{{{G}}}",
    "0 \\cdot ({G})",
    r"({G}) + \frac{{1}}{{0}}",
    r"\cot 0 \cdot ({G})",
    r"({G})^{{(10^9)!}}",
    r"{G} \text{{ or }} 0",
    r"\frac{{1}}{{{G}}}",
    "-({G})",
    "({G})^2",
    r"{G}, \ldots",
    r"\left({G}\right)\left({G}\right)",
]
# the gold written another way, as models decorate an answer (for the differential test;
# left out: a trailing period and \mathbf{}, which both external graders reject on
# hundreds of golds while ours reads them as punctuation and bold type)
RESPELLINGS = [
    r"\left( {G} \right)", r"\displaystyle {G}", "${G}$", r"\({G}\)", "{{{G}}}", " {G} ", "x = {G}",
    r"{G} \text{{ units}}", r"\text{{{G}}}", r"{G}^{{\circ}}", r"{G}\%",
]  # fmt: skip
# the templates the test runs (the others send every gold that is a tuple, set or text to
# sympy, seconds each; the benchmark runs them all)
TEST_TEMPLATES = ["1.({G})", r"0.\overline{{{G}}}", "{G}={G}", r"{G} \text{{ or }} 0", r"\cot 0 \cdot ({G})"]


class Grammar:
    """Productions of answer strings; every choice comes from one seeded generator."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def pick(self, items):
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # ---------------------------------------------------------------- numbers

    def integer(self) -> int:
        r = self.rng.random()
        if r < 0.6:
            value = self.pick(_COMMON)
        elif r < 0.85:
            value = self.rng.randrange(1, 1000)
        else:
            value = self.rng.randrange(1000, 10**7)
        return -value if self.chance(0.15) else value

    def integer_text(self, value: int | None = None) -> str:
        value = self.integer() if value is None else value
        sign = "-" if value < 0 else "+" if self.chance(0.06) else ""
        digits = str(abs(value))
        style = self.rng.random()
        if len(digits) > 3 and style < 0.4:
            groups = f"{abs(value):,}"
            sep = self.pick([",", "{,}", r"\,", r",\!", " ", "\\ "])
            digits = groups.replace(",", sep)
        elif 0.4 <= style < 0.46:
            digits = self.pick(["0", "00"]) + digits  # leading zeros
        elif 0.46 <= style < 0.52:
            digits += self.pick([".0", ".00", "."])
        return sign + digits

    def decimal_text(self) -> str:
        whole = self.pick(["0", "1", "2", "3", "12", "-0", "0", ""])
        fraction = str(self.rng.randrange(1, 1000)).rstrip("0") or "5"
        text = f"{whole}.{fraction}"
        r = self.rng.random()
        if r < 0.15:
            return f"{text}e{self.pick(['3', '-2', '+1', '0'])}"
        if r < 0.3:
            times = self.pick([r"\times", r"\cdot", "*"])
            return f"{text} {times} 10^{{{self.pick(['3', '-2', '6', '1'])}}}"
        return text

    def fraction_text(self) -> str:
        if self.chance(0.5):
            p, q = self.pick(_FRACTIONS)
        else:
            p, q = self.rng.randrange(-20, 40), self.rng.randrange(1, 30)
        if self.chance(0.1):
            q = 0  # division by zero
        sign = "-" if p < 0 else ""
        p = abs(p)
        style = self.pick(["frac", "dfrac", "tfrac", "short", "slash", "mixed", "neg-inside"])
        if style == "short" and p < 10 and 0 < q < 10:
            return f"{sign}\\frac{p}{q}"
        if style == "slash":
            return f"{sign}{p}/{q}"
        if style == "mixed" and q and p > q:
            return f"{sign}{p // q}\\frac{{{p % q}}}{{{q}}}"
        if style == "neg-inside" and sign:
            return f"\\frac{{-{p}}}{{{q}}}"
        command = {"dfrac": "dfrac", "tfrac": "tfrac"}.get(style, "frac")
        return f"{sign}\\{command}{{{p}}}{{{q}}}"

    def repeating_text(self) -> str:
        whole, fixed, repetend = self.pick(_REPETENDS)
        style = self.pick(["paren", "overline", "overline", "dot", "bar"])
        if style == "paren":
            return f"{whole}.{fixed}({repetend})"
        if style == "bar":
            return f"{whole}.{fixed}\\bar{{{repetend}}}"
        if style == "dot":
            if len(repetend) == 1:
                return f"{whole}.{fixed}\\dot{{{repetend}}}"
            return f"{whole}.{fixed}\\dot{{{repetend[0]}}}{repetend[1:-1]}\\dot{{{repetend[-1]}}}"
        return f"{whole}.{fixed}\\overline{{{repetend}}}"

    def decorated_number(self) -> str:
        n = self.integer_text(abs(self.integer()))
        style = self.pick(
            ["percent", "percent2", "degrees", "degrees2", "unit", "dollar", "ordinal", "base", "word"]
        )
        if style == "percent":
            return n + r"\%"
        if style == "percent2":
            return n + "%"
        if style == "degrees":
            return n + r"^\circ"
        if style == "degrees2":
            return n + r"^{\circ}"
        if style == "unit":
            return n + self.pick(_UNITS)
        if style == "dollar":
            return r"\$" + n
        if style == "ordinal":
            return n + self.pick([r"^{\text{th}}", "th", r"^{\mathrm{th}}"])
        if style == "base":
            digits = "".join(self.pick("01") for _ in range(self.rng.randrange(2, 7)))
            return f"{digits}_{self.pick(['2', '{2}', '{10}', '8', '{six}'])}"
        return rf"\text{{{self.pick(_NUMBER_WORDS)}}}"

    def number(self) -> str:
        r = self.rng.random()
        if r < 0.35:
            return self.integer_text()
        if r < 0.5:
            return self.decimal_text()
        if r < 0.7:
            return self.fraction_text()
        if r < 0.82:
            return self.repeating_text()
        return self.decorated_number()

    # ---------------------------------------------------------------- expressions

    def atom(self) -> str:
        r = self.rng.random()
        if r < 0.45:
            return self.integer_text(self.pick(_COMMON[:12]))
        if r < 0.6:
            return self.pick(_VARIABLES)
        if r < 0.7:
            return self.pick([r"\pi", "e", "i", r"\infty"])
        if r < 0.85:
            return self.fraction_text()
        return self.repeating_text()

    def expression(self, depth: int = 0) -> str:
        if depth >= 2 or self.chance(0.25):
            return self.atom()
        sub = self.expression
        kind = self.pick(
            ["root", "root", "power", "tower", "factorial", "binom", "function", "pole", "log", "abs",
             "floor", "sum", "difference", "product", "juxtapose", "quotient", "slash", "pm", "applied"]
        )  # fmt: skip
        if kind == "root":
            index = self.pick(["", "", "[3]", "[4]"])
            coefficient = self.pick(["", "", "2", "3", "-"])
            return f"{coefficient}\\sqrt{index}{{{sub(depth + 1)}}}"
        if kind == "power":
            exponent = self.pick(["2", "3", "10", "{-1}", "{1/2}", "{100}", "{0}", f"{{{sub(depth + 1)}}}"])
            return f"{self.wrap(sub(depth + 1))}^{exponent}"
        if kind == "tower":
            return self.pick(_TOWERS)
        if kind == "factorial":
            return self.pick(_FACTORIALS)
        if kind == "binom":
            n, k = self.pick(["5", "10", "n", "-1", "100"]), self.pick(["2", "0", "k", "3"])
            return f"\\binom{{{n}}}{{{k}}}"
        if kind == "function":
            argument = self.pick(["x", r"\frac{\pi}{6}", r"\frac{\pi}{4}", "1", r"\pi", "2x", sub(depth + 1)])
            return f"{self.pick(_FUNCTIONS)} {argument}"
        if kind == "pole":
            return self.pick(
                [r"\cot 0", r"\csc 0", r"\sec \frac{\pi}{2}", r"\tan \frac{\pi}{2}", r"\tan(\pi/2)",
                 r"\cot \pi", r"\csc(2\pi)", r"\sec\left(\frac{3\pi}{2}\right)", r"\tan 90^\circ"]
            )  # fmt: skip
        if kind == "log":
            return self.pick(_LOGS)
        if kind == "abs":
            return f"|{sub(depth + 1)}|"
        if kind == "floor":
            return f"\\lfloor {sub(depth + 1)} \\rfloor"
        if kind == "sum":
            return f"{sub(depth + 1)}+{sub(depth + 1)}"
        if kind == "difference":
            return f"{sub(depth + 1)}-{sub(depth + 1)}"
        if kind == "product":
            times = self.pick([r"\cdot", r"\times", "*"])
            return f"{self.wrap(sub(depth + 1))} {times} {self.wrap(sub(depth + 1))}"
        if kind == "juxtapose":
            return f"{self.pick(['2', '3', '-', '1.', '0.'])}{self.wrap(sub(depth + 1), force=True)}"
        if kind == "quotient":
            return f"\\frac{{{sub(depth + 1)}}}{{{sub(depth + 1)}}}"
        if kind == "slash":
            return f"{self.wrap(sub(depth + 1))}/{self.wrap(sub(depth + 1))}"
        if kind == "pm":
            return f"{sub(depth + 1)} \\pm {sub(depth + 1)}"
        return f"{self.pick(['f', 'g', 'P', 'I'])}({self.pick(['0', '1', '-1', 'x'])})"

    def wrap(self, text: str, force: bool = False) -> str:
        simple = text.replace("-", "").replace(".", "").isalnum()
        return text if simple and not force else f"({text})"

    # ---------------------------------------------------------------- structures

    def value(self) -> str:
        return self.number() if self.chance(0.6) else self.expression(1)

    def structure(self) -> str:
        kind = self.pick(["interval", "union", "set", "tuple", "list", "matrix", "inequality", "special-set"])
        a, b = self.value(), self.value()
        if kind == "interval":
            left, right = self.pick(["(", "[", r"\left("]), self.pick([")", "]", r"\right)"])
            a = self.pick([a, r"-\infty", a])
            b = self.pick([b, r"\infty", b])
            return f"{left}{a}, {b}{right}"
        if kind == "union":
            return f"(-\\infty, {a}) \\cup ({b}, \\infty)"
        if kind == "set":
            items = [self.value() for _ in range(self.rng.randrange(1, 4))]
            return r"\{" + ", ".join(items) + r"\}"
        if kind == "tuple":
            items = [self.value() for _ in range(self.rng.randrange(2, 4))]
            left, right = self.pick([("(", ")"), ("[", "]"), (r"\langle ", r"\rangle")])
            return left + ", ".join(items) + right
        if kind == "list":
            sep = self.pick([", ", ",", "; ", r" \text{ and } ", r" \text{ or } ", r", \ldots, "])
            return sep.join(self.value() for _ in range(self.rng.randrange(2, 4)))
        if kind == "matrix":
            env = self.pick(["pmatrix", "bmatrix"])
            if self.chance(0.5):
                rows = [f"{self.value()} & {self.value()}", f"{self.value()} & {self.value()}"]
            else:
                rows = [self.value() for _ in range(self.rng.randrange(2, 4))]
            return f"\\begin{{{env}}} " + r" \\ ".join(rows) + f" \\end{{{env}}}"
        if kind == "inequality":
            var = self.pick(["x", "n", "t"])
            op, op2 = self.pick(["<", ">", r"\le", r"\ge", r"\leq", r"\ne"]), self.pick(["<", r"\le"])
            return self.pick([f"{var} {op} {a}", f"{a} {op2} {var} {op2} {b}", f"{a} {op} {var}"])
        return self.pick(
            [r"\emptyset", r"\varnothing", r"\{\}", r"\mathbb{R}", r"\mathbb{Z}", r"(-\infty, \infty)",
             r"\mathbb{R} \setminus \{0\}", r"x \in \mathbb{R}", r"\{0, 1, 2, \ldots\}"]
        )  # fmt: skip

    # ---------------------------------------------------------------- relations, choices, text

    def equation(self) -> str:
        letters = self.pick(_VARIABLES[:9])
        kind = self.pick(["label", "label", "letters", "tautology", "function", "named", "line", "angle"])
        if kind == "label":
            return f"{self.pick(_VARIABLES)} = {self.value()}"
        if kind == "letters":  # an equation between two letters: no value
            return f"{letters}={self.pick(_CHOICE_LETTERS + _CHOICE_LETTERS.lower() + 'xyn')}"
        if kind == "tautology":
            side = self.pick([letters, self.pick(_CHOICE_LETTERS.lower()), self.value(), "0"])
            return f"{side}={side}"
        if kind == "function":
            return f"{self.pick(['f(x)', 'g(n)', 'P(x)', 'f(0)'])} = {self.expression(1)}"
        if kind == "named":
            name = self.pick(["AB", "BC", r"\angle A", "S", "N", "a_n"])
            return f"{name} = {self.value()}"
        if kind == "line":
            return self.pick(["y = 2x + 1", "y=-2x", "x + y = 1", "2x+3y=6", "y = x^2", "x = y", "0 = 0"])
        return f"\\angle ABC = {self.integer_text(abs(self.integer()))}^\\circ"

    def choice(self) -> str:
        letter = self.pick(_CHOICE_LETTERS)
        style = self.pick(
            ["{L}", "({L})", r"\text{{({L})}}", r"\textbf{{({L})}}", r"\mathrm{{({L})}}", "{l}", "({l})",
             r"\text{{{L}}}", r"\text{{({L}) }} {n}", "{L})", r"\textbf{{{L}}}", r"\text{{Answer: }}({L})"]
        )  # fmt: skip
        return style.format(L=letter, l=letter.lower(), n=self.integer_text(abs(self.integer())))

    def text(self) -> str:
        return rf"\text{{{self.pick(_WORDS)}}}" if self.chance(0.8) else self.pick(_WORDS)

    def degenerate(self) -> str:
        return self.pick(
            [r"\frac{1}{0}", r"\frac{0}{0}", "1/0", "0^{-1}", r"\infty", r"-\infty", r"\pm\infty",
             r"\infty - \infty", r"0 \cdot \infty", r"\frac{\infty}{\infty}", r"\infty^\infty", "",
             " ", "{}", "()", r"\ldots", "?", r"\text{}", "x", "n", r"\theta", r"\cot 0", "0^0",
             r"1^\infty", "12:00", r"\emptyset", r"\mathbb{R}", "-", "=", r"\,", r"\quad"]
        )  # fmt: skip

    # ---------------------------------------------------------------- answers

    def decorate(self, text: str) -> str:
        r = self.rng.random()
        if r < 0.75:
            return text
        return self.pick(
            [f"\\left( {text} \\right)", f"\\displaystyle {text}", f"${text}$", f"{text}.",
             f"\\text{{{text}}}", f"\\mathbf{{{text}}}", f"{{{text}}}", f"\\({text}\\)", f" {text} "]
        )  # fmt: skip

    def answer(self) -> str:
        r = self.rng.random()
        if r < 0.24:
            text = self.number()
        elif r < 0.46:
            text = self.expression()
        elif r < 0.6:
            text = self.structure()
        elif r < 0.72:
            text = self.equation()
        elif r < 0.8:
            text = self.choice()
        elif r < 0.85:
            text = self.text()
        elif r < 0.93:
            text = self.degenerate()
        else:  # combinations: a hedge or two answers in one
            joint = self.pick([r"\text{ or }", "or", ",", r"\text{ and }", "="])
            text = f"{self.answer()} {joint} {self.answer()}"
        return self.decorate(text)


def answers(count: int, seed: int) -> list[str]:
    """``count`` distinct answers drawn from the grammar (the same for the same seed)."""
    grammar = Grammar(seed)
    out: dict[str, None] = {}
    for _ in range(count * 20):
        if len(out) == count:
            break
        out.setdefault(grammar.answer(), None)
    return list(out)


def from_template(template: str, gold: str) -> str:
    return template.format(G=gold)


# ---------------------------------------------------------------- grading what the grammar makes

EXTERNAL = ("justrl", "math_verify")  # mathruler's grade_answer (JustRL's grader) and math-verify
LATE_TIMEOUT = 60.0  # the deadline of a second try for a comparison that timed out (a busy machine)


def response(answer: str) -> str:
    return f"So the final answer is \\boxed{{{answer}}}."


@dataclass
class Graded:
    """The default grader's verdicts on (gold, answer) pairs, and what they cost."""

    pairs: list[tuple[str, str]]
    results: list  # GradeResult, one per pair
    seconds: float
    late: int = 0  # comparisons that timed out at first and were graded again
    built: set = field(default_factory=set)  # the pairs whose answer a template built from the gold

    def accepted(self) -> list[tuple[str, str]]:
        return [pair for pair, result in zip(self.pairs, self.results, strict=True) if result.rule_correct]

    def replace(self, other: Graded) -> None:
        """Take ``other``'s verdicts for the pairs it graded (a second try)."""
        again = dict(zip(other.pairs, other.results, strict=True))
        pairs = zip(self.pairs, self.results, strict=True)
        self.results = [again.get(pair, result) for pair, result in pairs]
        self.seconds += other.seconds

    def with_status(self, status: str) -> list[tuple[str, str]]:
        return [
            pair for pair, result in zip(self.pairs, self.results, strict=True) if result.status == status
        ]


def grade_pairs(pairs: list[tuple[str, str]], jobs: int = 2, timeout: float = 5.0) -> Graded:
    """The ``justeval`` grader on every pair, in one batch (boxed in a short response); a
    comparison past the deadline gets a second try with a deadline of a minute (a busy
    machine), so that only what is slow in itself stays a ``timeout``."""
    from justeval.grading.runner import Grader

    start = time.perf_counter()
    results = Grader("justeval", timeout, jobs).grade([g for g, _ in pairs], [response(a) for _, a in pairs])
    graded = Graded(pairs, results, time.perf_counter() - start)
    late = graded.with_status("timeout")
    if late and timeout < LATE_TIMEOUT:
        graded.replace(grade_pairs(late, jobs, LATE_TIMEOUT))
    graded.late = len(late)
    return graded


def external_verdicts(
    pairs: list[tuple[str, str]], jobs: int = 2, timeout: float = 5.0, until: str | None = "reject"
) -> dict[tuple[str, str], dict[str, str]]:
    """Each external grader's verdict (``match``, ``mismatch``, ``timeout``, ``error``) on
    extracted (gold, answer) pairs, run by the workers under the deadline, without the
    guard or any extraction of ours. mathruler (the faster) goes first; with ``until``
    ``"reject"`` a pair it rejects, with ``"accept"`` a pair it accepts, is not sent to
    math-verify (whose verdict is then ``skipped``): enough to tell whether both accept,
    or whether both reject. A comparison past the deadline gets a second try with a
    deadline of a minute (a busy machine)."""
    from justeval.grading.pool import get_pool

    verdicts: dict[tuple[str, str], dict[str, str]] = {pair: {} for pair in dict.fromkeys(pairs)}
    todo = list(verdicts)
    for grader in EXTERNAL:
        for pair, (_, status, _, _) in zip(todo, get_pool(grader, jobs, timeout).run(todo), strict=True):
            verdicts[pair][grader] = status
        late = [pair for pair in todo if verdicts[pair][grader] == "timeout"]
        for pair, (_, status, _, _) in zip(late, get_pool(grader, jobs, LATE_TIMEOUT).run(late), strict=True):
            verdicts[pair][grader] = status
        if until == "reject":
            todo = [pair for pair in todo if verdicts[pair][grader] == "match"]
        elif until == "accept":
            todo = [pair for pair in todo if verdicts[pair][grader] != "match"]
    for verdict in verdicts.values():
        for grader in EXTERNAL:
            verdict.setdefault(grader, "skipped")
    return verdicts


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
