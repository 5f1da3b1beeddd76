"""Which benchmark problems a training set (or another benchmark) already holds, and
whether each such pair is a *copy* (the same problem, respelled or reworded) or a
*look-alike* (a similar text that asks something else).

What is the library's and what is ours:

* datasketch (pinned, ``datasketch==2.0.0``) computes the MinHash signatures and does
  the LSH banding and bucket look-up (:func:`candidates`). Only the choice of bands
  and rows is ours (:func:`lsh_params`): the most rows per band whose chance of
  proposing a pair *at* the threshold is still ``lsh_recall``.
* Everything else is ours: the instruction and chat-template stripping
  (:func:`strip_instructions`), the boilerplate a training set repeats on its rows,
  learnt from the set (:func:`detect_boilerplate`), the normalisation, the second
  candidate source (:func:`same_numbers`), the exact scores, and the evidence that
  classifies a pair (:func:`compare`, :func:`decide`).
* Answers are compared with this project's own rule grader
  (:class:`justeval.grading.runner.Grader`).

What is compared is a problem's *body*: its text without instructions, chat markup,
boilerplate and a leading enumerator; its figures (``[asy]`` or TikZ code) taken out
and compared on their own; its answer choices (``(A) ... (E)``) left out of the scores
(a choice letter given as the answer is read as that choice's value). Two exact scores:

``score``
    Jaccard similarity of the sets of normalised token n-grams. A pair at or above
    ``threshold`` is reported, as a copy or a look-alike. MinHash LSH proposes the
    candidates.
``word_score``
    Jaccard similarity of the sets of normalised words (stop words out, plurals,
    British spellings and a few synonyms folded). It finds rewordings whose n-grams
    differ; a pair that reaches ``word_threshold`` only is reported when it is a copy.
    Its candidates are the problems with the same multiset of numbers (a copy has it).

A pair is a copy when nothing a person would check tells the two apart. The checks,
in the order :func:`decide` applies them (the first that fails makes a look-alike):

1. the answers, where both sides carry one, are equivalent for the grader;
2. the multisets of numbers are equal (numbers spelt as words, ``1{,}000``,
   ``\\frac12`` are read as numbers first);
3. the figures (sizes, pens and comments aside) are equal where both sides have one;
4. the asked-for part (the clause from the asking word, *find*, *what*, *how*...,
   to the end of its sentence) asks for the same thing: the two sides have a first
   formula of an asked-for clause (its target: ``c`` in "find $c$") in common, the
   other formulas of those clauses are on the other side too, and no word of them was
   swapped for another;
5. no word was swapped for another anywhere (``cylindrical`` for ``spherical``,
   ``distinguishable`` for ``indistinguishable``), no negation or restricting word
   (``not``, ``positive``, ``distinct``...) is on one side only;
6. the formulas (math pieces, split at top-level commas) are the same sets.

Checks 5 and 6 give way when the answers are equal and informative (not a single
digit, a letter or yes/no): an equal answer such as ``136`` is stronger evidence than
``x^2`` against ``y^2`` in a symmetric condition. Without answers, the text decides.

A training set is never held whole (:func:`find_pairs`): the benchmarks are prepared and
indexed once (:class:`BenchmarkIndex`); the set is read twice, once for the rows its
boilerplate is learnt from (every k-th row, :class:`EveryKth`) and once a batch at a
time, each batch's candidates scored and classified and the batch dropped. Memory grows
with the pairs found, not with the set; the pairs are those, in the order, that
:func:`search` finds with everything in memory.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import logging
import re
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

log = logging.getLogger(__name__)

COPY = "copy"
LOOK_ALIKE = "look-alike"


# ------------------------------------------------------------------ public types


@dataclass(frozen=True)
class Item:
    """One problem: its id in its set, its text, its final answer if the set has one,
    and its row number in the file it came from."""

    id: str
    text: str
    answer: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class Settings:
    """What decides the pairs. The first six are the config's (the `overlap` section, and
    the primary grading variant's rule grader for the answers), whose one home is the
    config schema: :meth:`defaults` reads them there. The last three are this module's
    own choices, fixed in code (their changes rerun the stage through its code version)."""

    ngram: int  # tokens per n-gram
    threshold: float  # n-gram Jaccard at which a pair is reported
    word_threshold: float  # word Jaccard at which a pair is reported if it is a copy
    num_perm: int  # MinHash permutations
    grader: str  # the rule grader that compares answers
    grader_timeout: float  # its deadline per comparison, in seconds
    lsh_recall: float = 0.999  # chance that LSH proposes a pair exactly at the threshold
    boilerplate_share: float = 0.3  # share of a set's rows a prefix/suffix must start/end
    minhash_seed: int = 1  # the MinHash permutations' seed

    @classmethod
    def from_mapping(cls, values: dict) -> Settings:
        """The settings of a mapping that holds every config-given field (extra keys are
        ignored); a missing one is an error, never a silent default."""
        required = ("ngram", "threshold", "word_threshold", "num_perm", "grader", "grader_timeout")
        missing = [k for k in required if values.get(k) is None]
        if missing:
            raise ValueError(f"overlap settings lack {', '.join(missing)}")
        return cls(**{k: values[k] for k in cls.__dataclass_fields__ if values.get(k) is not None})

    @classmethod
    def defaults(cls, **overrides) -> Settings:
        """The config's defaults (from the schema), with ``overrides``: for callers outside
        the pipeline (tests, benchmarks)."""
        from justeval.io.config_schema import schema_default

        values = {
            k: schema_default("overlap", k) for k in ("ngram", "threshold", "word_threshold", "num_perm")
        }
        values["grader"] = schema_default("rule_grade", "grader")
        values["grader_timeout"] = schema_default("rule_grade", "timeout")
        return cls.from_mapping({**values, **overrides})


@dataclass
class Pair:
    """A benchmark problem and an item of another set that resembles it."""

    benchmark: str
    problem_id: str
    other: str  # the training set's (or other benchmark's) name
    other_id: str
    other_row: int | None
    score: float
    word_score: float
    label: str  # COPY or LOOK_ALIKE
    reason: str  # the evidence that decided the label, in words
    answers: str  # "equal", "differ" or "" (one side has none)
    numbers_only_benchmark: str
    numbers_only_other: str
    asked: str  # "same" or "differ"
    figure: str  # "same", "differ", "one side", or "" (neither has one)
    words_changed: str
    formulas: str  # "same" or "differ"
    text: str
    other_text: str
    answer: str | None
    other_answer: str | None


# ------------------------------------------------------------------ boilerplate

# Prompt text that instructs a model rather than states a problem: a sentence with one
# of these, at the very start or end of a text, is not part of the problem.
_INSTRUCTION = re.compile(
    r"step[- ]by[- ]step|\\boxed\s*\{\s*(?:<?answer>?|ANSWER|\}|<[^>]*>\s*\})|final answer|your response"
    r"|last line of your|put your (?:final )?answer|answer on its own line|^answer\s*:\s*$"
    r"|is the answer to the problem|^(?:problem|question)\s*\d*\s*[:.]?$|reasoning process"
    r"|^(?:please\s+)?(?:solve|answer|consider|read)\b.{0,40}\bfollowing\b.{0,30}\b(?:problems?|questions?)\s*[.:]?$",
    re.IGNORECASE,
)
# where a sentence may start: after . ! ? : and space, after a line break, or at a
# capital after a formula or bracket (an instruction appended with no full stop)
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n\s*|(?<=[$\])}])\s+(?=[A-Z])")
_SPECIAL_TOKEN = re.compile(
    r"<\|[A-Za-z0-9_]+\|>|\[/?INST\]|</?s>|<</?SYS>>|<start_of_turn>|<end_of_turn>|<\|?(?:user|assistant)\|?>"
)
_USER_TURN = (
    re.compile(r"<\|im_start\|>\s*user\s*(.*?)(?:<\|im_end\|>|$)", re.S),
    re.compile(r"<\|start_header_id\|>\s*user\s*<\|end_header_id\|>\s*(.*?)(?:<\|eot_id\|>|$)", re.S),
    re.compile(r"<start_of_turn>\s*user\s*(.*?)(?:<end_of_turn>|$)", re.S),
    re.compile(r"\[INST\](.*?)(?:\[/INST\]|$)", re.S),
)
_ROLE_LINE = re.compile(r"^\s*(?:system|user|assistant|human)\s*:?\s*\n", re.IGNORECASE)


def user_turn(text: str) -> str:
    """The last user turn of a prompt written in a chat template (ChatML, Llama 3,
    Gemma, ``[INST]``); the text itself when it holds none."""
    for pattern in _USER_TURN:
        turns = pattern.findall(text)
        if turns:
            text = turns[-1]
            break
    return _ROLE_LINE.sub("", _SPECIAL_TOKEN.sub(" ", text)).strip()


def strip_instructions(text: str) -> str:
    """``text`` without the instruction sentences at its start and end (see
    :data:`_INSTRUCTION`), a chat template's markup, ``user:`` role lines, and a
    leading enumerator (``12.``, ``Problem 3:``, ``(5 points)``)."""
    if "<" in text or "[INST]" in text:
        text = user_turn(text)
    text = _ENUMERATOR.sub("", text.strip(), count=1).strip()
    for _ in range(MAX_INSTRUCTION_SENTENCES):
        first = _SENTENCE_END.search(text)
        if first is not None and _is_instruction(text[: first.start()]):
            text = text[first.end() :].strip()
            continue
        cut = _instruction_tail(text)
        if cut is None:
            break
        text = text[:cut].rstrip()
    return text


MAX_INSTRUCTION_SENTENCES = 8  # at either end, in all
END_CHARS = 600  # how far from the end an instruction is looked for
# a leading "12. ", "Problem 3:", "(5 points)": where the problem sat in its source, not a number of it
_ENUMERATOR = re.compile(
    r"^(?:(?:problem|question|exercise|example|task)\s*)?\d{1,3}\s*[.):]\s+(?=[^\d\s.,])"
    r"|^[(\[]\s*\d+\s*(?:points?|pts?|marks?)\s*[)\]]\s*",
    re.IGNORECASE,
)
# where an instruction appended to a problem may start: a sentence or line start, or any
# capitalised word (it is often appended with no full stop: "... $x+z$ Let's think ...")
_TAIL_START = re.compile(r"(?<=[.!?:])\s+|\n\s*|\s+(?=[A-Z])")


def _instruction_tail(text: str) -> int | None:
    """Where the instruction that ends ``text`` starts: the latest start whose tail is
    an instruction sentence; None when it ends with none."""
    lo = max(0, len(text) - END_CHARS)
    if not _may_instruct(text[lo:]):
        return None
    starts = [m.end() for m in _TAIL_START.finditer(text, lo) if 0 < m.end() < len(text)]
    for start in reversed(starts):
        tail = text[start:].rstrip()
        if _INNER_BOUNDARY.search(tail):
            return None  # one sentence at a time: this one and those before are the problem's
        if _is_instruction(tail):
            return start
    return None


_INNER_BOUNDARY = re.compile(r"[.!?]\s+\S|\n\s*\S")


# a word every instruction phrase holds: a cheap test before the regular expression
_INSTRUCTION_WORDS = ("step", "box", "answer", "response", "last line", "problem", "question", "reasoning")


def _may_instruct(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in _INSTRUCTION_WORDS)


def _is_instruction(sentence: str) -> bool:
    """An instruction: it has an instruction phrase, is short, asks no question, and holds
    no formula, digit or table cell (an empty ``\\boxed{}`` and the ``$Answer`` placeholder aside):
    nothing that could be part of a problem is ever cut."""
    if len(sentence) >= END_CHARS or sentence.rstrip().endswith("?") or not _may_instruct(sentence):
        return False
    if not _INSTRUCTION.search(sentence):
        return False
    rest = re.sub(r"\\boxed\s*\{[^{}\d]{0,20}\}|\$Answer\b", " ", sentence)
    return not re.search(r"\$|\\[(\[]|\\begin|\d|\|", rest)


@dataclass(frozen=True)
class Boilerplate:
    """Word sequences that start (prefixes) or end (suffixes) a large share of a set's rows."""

    prefixes: tuple[tuple[str, ...], ...] = ()
    suffixes: tuple[tuple[str, ...], ...] = ()

    def strip(self, text: str) -> str:
        if not (self.prefixes or self.suffixes):
            return text
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        words = tuple(text[s:e] for s, e in spans)
        start, end = 0, len(spans)
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            if len(prefix) < len(words) and words[: len(prefix)] == prefix:
                start = len(prefix)
                break
        for suffix in sorted(self.suffixes, key=len, reverse=True):
            if len(suffix) < end - start and words[len(words) - len(suffix) :] == suffix:
                end = len(words) - len(suffix)
                break
        if (start, end) == (0, len(spans)):
            return text
        return text[spans[start][0] : spans[end - 1][1]]


MAX_BOILERPLATE_WORDS = 80
BOILERPLATE_CHARS = 800  # how far from either end of a text boilerplate is looked for
MIN_BOILERPLATE_ROWS = 5
SAMPLE_ROWS = 5000


def detect_boilerplate(texts: Sequence[str], share: float = 0.3, sampled: bool = False) -> Boilerplate:
    """The prefixes and suffixes (whole words, ending / starting at a sentence or line
    boundary) that at least ``share`` of ``texts`` begin / end with, learnt from the set
    itself: a verl-style instruction suffix, a "Solve the following problem" preamble,
    a chat header. Only the longest such sequence of each branch is kept. From every
    ``len(texts) // SAMPLE_ROWS``-th text, or from all of ``texts`` when they are
    ``sampled`` already (:class:`EveryKth`)."""
    if len(texts) < MIN_BOILERPLATE_ROWS:
        return Boilerplate()
    step = 1 if sampled else max(1, len(texts) // SAMPLE_ROWS)
    sample = [t for t in texts[::step] if t]
    need = max(MIN_BOILERPLATE_ROWS, share * len(sample))
    prefixes = _common_ends(sample, need, reverse=False)
    suffixes = _common_ends(sample, need, reverse=True)
    return Boilerplate(tuple(prefixes), tuple(suffixes))


class EveryKth:
    """The boilerplate sample of a set read once, whose size is not known beforehand:
    the rows at every k-th position, k the smallest power of two that leaves at most
    ``limit`` rows (every row of a set of up to ``limit`` rows). k starts at 1 and doubles
    whenever more rows than ``limit`` are kept, the rows it no longer takes dropped, so
    that the sample never holds more than ``limit`` rows. The same positions are taken
    whether the rows come from a list or a file read in batches."""

    def __init__(self, limit: int = 2 * SAMPLE_ROWS):
        self.limit, self.k = limit, 1
        self.rows: list[tuple[int, str]] = []

    def wants(self, position: int) -> bool:
        return position % self.k == 0

    def add(self, position: int, text: str) -> None:
        if position % self.k:
            return
        self.rows.append((position, text))
        if len(self.rows) > self.limit:
            self.k *= 2
            self.rows = [row for row in self.rows if row[0] % self.k == 0]

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.rows]


def _common_ends(texts: Sequence[str], need: float, reverse: bool) -> list[tuple[str, ...]]:
    """The word sequences that at least ``need`` of ``texts`` start (end) with, grown
    one word at a time from the groups that are still large enough; for each branch,
    the longest one that ends (starts) at a sentence or line boundary."""
    split = [_words_and_bounds(t, reverse) for t in texts]
    groups: list[tuple[tuple[str, ...], list[int], tuple[str, ...] | None]] = [
        ((), list(range(len(texts))), None)
    ]
    found: set[tuple[str, ...]] = set()
    for depth in range(MAX_BOILERPLATE_WORDS):
        grown = []
        for prefix, members, best in groups:
            by_word: dict[str, list[int]] = {}
            for m in members:
                words = split[m][0]
                if depth < len(words):
                    by_word.setdefault(words[depth], []).append(m)
            ended = True
            for word, group in by_word.items():
                if len(group) < need:
                    continue
                ended = False
                here = (*prefix, word)
                bound = len(here) >= 2 and any(split[m][1][depth] for m in group)
                grown.append((here, group, here if bound else best))
            if ended and best is not None:
                found.add(best)
        groups = grown
        if not groups:
            break
    found.update(best for _, _, best in groups if best is not None)
    return [tuple(reversed(f)) for f in found] if reverse else sorted(found)


def _words_and_bounds(text: str, reverse: bool) -> tuple[list[str], list[bool]]:
    """The first (or, ``reverse``, the last, last first) whitespace-separated words of
    ``text``, at most :data:`MAX_BOILERPLATE_WORDS`, and for each whether the prefix
    that ends after it (the suffix that starts at it) ends (starts) at a sentence or
    line boundary, with more text beyond it."""
    part = text[-BOILERPLATE_CHARS:] if reverse else text[:BOILERPLATE_CHARS]
    cut = len(part) < len(text)
    lines = [line.split() for line in part.split("\n")]
    words: list[str] = []
    bounds: list[bool] = []
    if not reverse:
        for line in lines:
            for i, word in enumerate(line):
                words.append(word)
                bounds.append(i == len(line) - 1 or word[-1] in ".!?:")
        if bounds:
            bounds[-1] = False  # nothing after it in view (or nothing after it at all)
        return words[:MAX_BOILERPLATE_WORDS], bounds[:MAX_BOILERPLATE_WORDS]
    if cut and lines and lines[0]:
        lines[0] = lines[0][1:]  # its first word may be cut
    for line in reversed(lines):
        for i in range(len(line) - 1, -1, -1):
            words.append(line[i])
            bounds.append(i == 0 or line[i - 1][-1] in ".!?:")
    if bounds:
        bounds[-1] = False  # what comes before it is out of view (or there is nothing)
    return words[:MAX_BOILERPLATE_WORDS], bounds[:MAX_BOILERPLATE_WORDS]


# ------------------------------------------------------------------ normalisation

_SUPERSCRIPTS = str.maketrans({"⁰": "^0", "¹": "^1", "²": "^2", "³": "^3", "⁴": "^4", "⁵": "^5",
                               "⁶": "^6", "⁷": "^7", "⁸": "^8", "⁹": "^9"})  # fmt: skip
_UNICODE = {
    "−": "-", "–": "-", "—": " - ", "×": r"\times ", "÷": r"\div ", "≤": r"\leq ", "≥": r"\geq ",
    "≠": r"\neq ", "·": r"\cdot ", "⋅": r"\cdot ", "…": r"\dots ", "∞": r"\infty ", "√": r"\sqrt ",
    "°": r"^\circ ", "∠": r"\angle ", "△": r"\triangle ", "’": "'", "‘": "'", "“": '"', "”": '"',
}  # fmt: skip
_FIGURE = re.compile(
    r"\[asy\](.*?)\[/asy\]|\\begin\{tikzpicture\}(.*?)\\end\{tikzpicture\}", re.S | re.IGNORECASE
)
FIGURE_WORD = "asyfigure"


def _unicode(text: str) -> str:
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text.translate(_SUPERSCRIPTS))
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif ch in _UNICODE:
            out.append(_UNICODE[ch])
        else:
            name = unicodedata.name(ch, "")
            if name.startswith("GREEK SMALL LETTER ") and " " not in name[19:]:
                out.append(f"\\{name[19:].lower()} ")
            elif name.startswith("GREEK CAPITAL LETTER ") and " " not in name[21:]:
                out.append(f"\\{name[21:].capitalize()} ")
            else:
                out.append(ch)
    return "".join(out)


def split_figures(text: str) -> tuple[str, list[str]]:
    """The text with each figure (``[asy]`` or TikZ code) replaced by one placeholder
    word, and the figures' code."""
    if "[asy]" not in text.lower() and "tikzpicture" not in text:
        return text, []
    figures = [asy or tikz for asy, tikz in _FIGURE.findall(text)]
    return _FIGURE.sub(f" {FIGURE_WORD} ", text), figures


_FIGURE_STYLE = re.compile(
    r"^\s*(?:size|unitsize|defaultpen|import|settings\.\w+|usepackage|texpreamble|currentpen)\b[^;]*;"
    r"|^\s*\[(?:scale|x|y)=[^\]]*\]",
    re.M,
)
_FIGURE_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/|(?<!\\)%[^\n]*", re.S)
_FIGURE_TOKEN = re.compile(r"[A-Za-z_]+|\d+(?:\.\d+)?|\S")


def figure_key(code: str) -> tuple[str, ...]:
    """A figure's drawing, as tokens: comments, sizes, pens and imports left out."""
    code = _FIGURE_STYLE.sub(" ", _FIGURE_COMMENT.sub(" ", code))
    return tuple(_FIGURE_TOKEN.findall(code))


# numbers: thousands separators, \frac12, \sqrt2
_NUMBER_FIXES = (
    (re.compile(r"(?<=\d)(?:\{,\}|,\\!|\\[,;: ]|\{\\,\}|\\!)(?=\d{3}(?!\d))"), ""),
    # 1,000 (not in a set \{1,234\} or a list 5,100,200 of numbers of other lengths)
    (re.compile(r"(?<![\w.,}\\])(?<!\\\{)([1-9]\d{0,2})((?:,\d{3})+)(?!\d|,\d|\.\d)"), None),
    (re.compile(r"\\[dt]?frac\s*(\d)\s*(\d)"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\[dt]?frac\s*(\d)\s*\{"), r"\\frac{\1}{"),
    (re.compile(r"\\[dt]?frac\s*(\{[^{}]*\})\s*(\d)"), r"\\frac\1{\2}"),
    (re.compile(r"\\sqrt\s*(\d)"), r"\\sqrt{\1}"),
)
_LATEX_FIXES = (
    (re.compile(r"\\\\"), r" \\newline "),  # \\ (a line break), before the spacing below eats half of it
    (re.compile(r"\\\$"), " dollar "),
    (re.compile(r"\\[dt]frac(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\[dt]binom(?![a-zA-Z])"), r"\\binom"),
    (re.compile(r"\\(?:left|right|[bB]igg?[lr]?|middle)(?![a-zA-Z])\s*\.?"), " "),
    (
        re.compile(
            r"\\(?:displaystyle|textstyle|scriptstyle|(?:no)?limits|mathstrut|hfill|noindent)(?![a-zA-Z])"
        ),
        " ",
    ),
    (re.compile(r"\\(?:q?quad|enspace|thinspace|medspace|thickspace)(?![a-zA-Z])|\\[,;:!]|\\\s|~"), " "),
    (re.compile(r"\\(?:[cl]?dots[bcimo]?|ldots|cdots)(?![a-zA-Z])"), r" \\dots "),
    (re.compile(r"\\(?:leq?slant|leqq|leq|le)(?![a-zA-Z])"), r" \\leq "),
    (re.compile(r"\\(?:geq?slant|geqq|geq|ge)(?![a-zA-Z])"), r" \\geq "),
    (re.compile(r"\\(?:neq|ne)(?![a-zA-Z])"), r" \\neq "),
    (re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])"), " degree "),
    (re.compile(r"\\%"), " percent "),
    (re.compile(r"\\(?:operatorname\*?|mathrm|mbox|text(?:normal|rm|up|bf|it)?|emph|mathit)\s*(?=\{)"), " "),
)
_DELIMITERS = re.compile(r"\$|\\[()\[\]]")
_TOKEN = re.compile(r"\\[a-zA-Z]+|[a-zA-Z]+|\d+(?:\.\d+)?|[^\s\w{}]")

# fmt: off
_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# fmt: on
NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}

# British spellings that American-spelt copies of a problem use, and words that mean the
# same in a problem (a rewording's), folded into one form.
SPELLING = {
    "centre": "center", "centres": "centers", "centred": "centered", "metre": "meter", "metres": "meters",
    "litre": "liter", "litres": "liters", "colour": "color", "colours": "colors", "coloured": "colored",
    "neighbour": "neighbor", "neighbours": "neighbors", "neighbouring": "neighboring",
    "favourite": "favorite", "behaviour": "behavior", "labour": "labor", "harbour": "harbor",
    "minimise": "minimize", "maximise": "maximize", "minimised": "minimized", "maximised": "maximized",
    "factorise": "factorize",
    "recognise": "recognize", "organise": "organize", "realise": "realize", "rationalise": "rationalize",
    "simplifies": "simplify", "zeroes": "zeros", "grey": "gray", "percent": "%",
    # words a rewording uses for one another
    "total": "sum", "biggest": "largest", "greatest": "largest", "maximum": "largest", "maximal": "largest",
    "least": "smallest", "minimum": "smallest", "minimal": "smallest", "average": "mean",
    "chance": "probability", "roots": "solutions", "root": "solution", "diagram": "figure",
    "picture": "figure",
}  # fmt: skip


def _fix_numbers(text: str) -> str:
    for pattern, repl in _NUMBER_FIXES:
        if repl is None:
            text = pattern.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
        else:
            text = pattern.sub(repl, text)
    return text


def _fix_latex(text: str) -> str:
    if "\\" not in text and "~" not in text:
        return text  # every fix below starts at a backslash (or is the ~ of a non-breaking space)
    for pattern, repl in _LATEX_FIXES:
        text = pattern.sub(repl, text)
    return text


def clean(text: str) -> str:
    """Unicode folded to LaTeX and ASCII, numbers' spellings made one (``1{,}000`` ->
    ``1000``, ``\\frac12`` -> ``\\frac{1}{2}``); math delimiters stay."""
    return _fix_numbers(_unicode(text))


def tokens(text: str, keep_case: bool = False) -> list[str]:
    """The tokens a text is compared by: LaTeX commands, words, numbers and single
    symbols; braces, ``$`` and spacing dropped; number words read as numbers."""
    text = _DELIMITERS.sub(" ", _fix_latex(text))
    found = _TOKEN.findall(text if keep_case else text.lower())
    return _number_words([SPELLING.get(t, t) for t in found])


def _number_words(toks: list[str]) -> list[str]:
    """``twenty - five`` -> ``25``, ``one hundred and two`` -> ``102``, ``two`` -> ``2``."""
    if not any(t in NUMBER_WORDS for t in toks):
        return toks
    out: list[str] = []
    i, n = 0, len(toks)
    while i < n:
        word = toks[i].lower()
        if word not in NUMBER_WORDS:
            out.append(toks[i])
            i += 1
            continue
        total, current = 0, NUMBER_WORDS[word]
        i += 1
        while i < n:
            nxt = toks[i].lower()
            if current % 100 >= 20 and current % 10 == 0 and nxt in _UNITS[1:10]:
                current += NUMBER_WORDS[nxt]
                i += 1
            elif (
                current % 100 >= 20
                and current % 10 == 0
                and nxt == "-"
                and i + 1 < n
                and toks[i + 1].lower() in _UNITS[1:10]
            ):
                current += NUMBER_WORDS[toks[i + 1].lower()]
                i += 2
            elif nxt == "hundred" and 0 < current < 100:
                current *= 100
                i += 1
            elif nxt in _SCALES and nxt != "hundred" and current > 0:
                total += current * _SCALES[nxt]
                current = 0
                i += 1
            elif (
                current % 100 == 0
                and current
                and nxt == "and"
                and i + 1 < n
                and toks[i + 1].lower() in NUMBER_WORDS
            ):
                i += 1
            elif (
                current % 100 == 0 and nxt in NUMBER_WORDS and NUMBER_WORDS[nxt] < 100 and (total or current)
            ):
                current += NUMBER_WORDS[nxt]
                i += 1
            else:
                break
        out.append(str(total + current))
    return out


# fmt: off
STOPWORDS = frozenset((
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "into", "onto", "over",
    "under", "about", "as", "and", "or", "but", "if", "then", "than", "so", "that", "this", "these",
    "those", "there", "here", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does",
    "did", "has", "have", "had", "having", "it", "its", "it's", "itself", "they", "them", "their", "we",
    "us", "our", "you", "your", "he", "she", "his", "her", "i", "me", "my", "who", "whom", "whose",
    "which", "when", "where", "while", "also", "such", "both", "each", "every", "any", "all", "some",
    "can", "could", "would", "should", "will", "shall", "may", "might", "must", "let", "lets", "let's",
    "suppose", "assume", "given", "th", "st", "nd", "rd", "s", "just", "only", "very"
))
# fmt: on
# Words that frame a question rather than say what it asks, and fillers that
# rewordings add or drop ("what is the value of", "prime numbers").
# fmt: off
FRAMING = frozenset((
    "find", "compute", "determine", "evaluate", "calculate", "what", "which", "how", "many", "much",
    "express", "simplify", "give", "state", "write", "show", "obtain", "value", "possible", "number",
    "equal", "equals", "result", "resulting", "following", "below", "above", "exactly", "indeed", "thus",
    "hence", "therefore", "respectively"
))
# fmt: on
# fmt: off
NEGATIONS = frozenset((
    "not", "no", "neither", "nor", "never", "none", "cannot", "without", "except", "non", "nothing",
    "nobody"
))
# fmt: on
# Words that restrict what is counted or asked: one side having one and the other not
# makes two problems.
# fmt: off
QUALIFIERS = frozenset((
    "positive", "negative", "nonnegative", "nonpositive", "nonzero", "distinct", "different", "identical",
    "distinguishable", "indistinguishable", "ordered", "unordered", "even", "odd", "prime", "composite",
    "rational", "irrational", "real", "imaginary", "integer", "integral", "whole", "natural",
    "consecutive", "adjacent", "interior", "exterior", "inscribed", "circumscribed", "acute", "obtuse",
    "minimum", "maximum", "smallest", "largest", "least", "greatest", "most", "fewest", "shortest",
    "longest", "first", "last", "strictly", "proper", "improper", "regular", "convex", "concave",
    "perpendicular", "parallel", "opposite", "clockwise", "counterclockwise", "inclusive", "exclusive"
))
# fmt: on
# fmt: off
ASK_WORDS = frozenset((
    "find", "compute", "determine", "evaluate", "calculate", "what", "which", "how", "express",
    "simplify", "solve", "give", "list", "write", "prove", "show", "estimate", "enter", "identify",
    "state", "rationalize", "factor", "expand", "convert", "sketch", "why"))
# fmt: on
FORMAT_WORDS = frozenset({"answer", "option", "round"})
_UNIT_TOKENS = frozenset({"\\dots", "degree", "%", "\\circ", "dollar"})


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A plural or third-person ``s`` folded (``primes`` -> ``prime``, ``digits`` ->
    ``digit``, ``boxes`` -> ``box``, ``parities`` -> ``parity``)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def shingles(toks: Sequence[str], n: int) -> set[str]:
    """The token n-grams (the tokens themselves, when there are fewer than n)."""
    if len(toks) < n:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def word_set(toks: Iterable[str]) -> set[str]:
    return {stem(t) for t in toks if (t[0].isalnum() or t[0] == "\\") and t not in STOPWORDS}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


# ------------------------------------------------------------------ one problem


class Problem:
    """A problem prepared for comparison: its body (boilerplate and figures out), its
    token n-grams and words (computed at once), and the facts that classify a pair
    (computed the first time a pair needs them)."""

    __slots__ = (
        "item",
        "body",
        "without_choices",
        "choices",
        "figures",
        "grams",
        "words",
        "numbers",
        "__dict__",
    )

    def __init__(
        self, item: Item, ngram: int, boilerplate: Boilerplate | None = None, text: str | None = None
    ):
        """``text``: the item's text with its instructions already stripped (by default
        they are stripped here)."""
        self.item = item
        text = strip_instructions(item.text) if text is None else text
        if boilerplate is not None:
            stripped = boilerplate.strip(text)
            if stripped is not text:
                text = strip_instructions(stripped)
        body, figures = split_figures(clean(text))
        self.body = body
        self.figures = figures
        # answer choices are a format, not the question: the scores are the stem's
        self.without_choices, self.choices = split_choices(body)
        toks = tokens(self.without_choices)
        self.grams = shingles(toks, ngram)
        self.words = word_set(toks)
        # the numbers' multiset, as a key: a copy has the same one (the word route's index)
        self.numbers = tuple(sorted(_canonical_number(t) for t in toks if t[0].isdigit()))

    @functools.cached_property
    def facts(self) -> Facts:
        return Facts.of(self.body, self.figures)

    @functools.cached_property
    def stem_facts(self) -> Facts:
        return Facts.of(self.without_choices, self.figures) if self.choices else self.facts

    @functools.cached_property
    def answer(self) -> str | None:
        return training_answer(self.item.answer)

    def answer_as_value(self) -> str | None:
        """The answer, a choice letter read as that choice's content."""
        letter = choice_letter(self.answer)
        if letter and self.choices and letter in self.choices:
            return self.choices[letter]
        return self.answer


# answer choices: (A) ... (B) ... (C) ... (D) ..., bare, in \textbf{} or \mathrm{}, in or out of $
_CHOICE = re.compile(r"\$?\s*(?:\\(?:textbf|mathrm|text|textrm|bf)\s*\{\s*)?\(\s*([A-E])\s*\)\s*\}?")


def split_choices(body: str) -> tuple[str, dict[str, str]]:
    """(the text before its answer choices, {letter: choice}); (body, {}) when it has no
    run of choices (A) to (D) or (E) in order."""
    if "(A)" not in body.replace(" ", ""):
        return body, {}
    marks = list(_CHOICE.finditer(body))
    starts = [i for i, m in enumerate(marks) if m.group(1) == "A"]
    for i in reversed(starts):  # the last run: choices close a problem
        run = [marks[i]]
        for m in marks[i + 1 :]:
            if ord(m.group(1)) != ord(run[-1].group(1)) + 1:
                break
            run.append(m)
        if len(run) < 4:
            continue
        choices = {}
        for k, m in enumerate(run):
            end = run[k + 1].start() if k + 1 < len(run) else len(body)
            content = body[m.end() : end]
            if k + 1 == len(run):
                content = re.split(r"\n\s*\n", content, maxsplit=1)[0]
            content = re.sub(r"\\q?quad|\\\\|\$|\\[,;: ]", " ", content)
            choices[m.group(1)] = " ".join(content.split()).strip(" .,;")
        return body[: run[0].start()].rstrip(), choices
    return body, {}


def choice_letter(answer: str | None) -> str | None:
    """The letter of an answer that names a choice (``C``, ``(C)``, ``\\text{(C)}``)."""
    if not answer:
        return None
    core = re.sub(r"\\(?:text|textbf|mathrm|bf)\s*\{([^{}]*)\}", r"\1", answer)
    match = re.fullmatch(r"\s*\(?\s*([A-E])\s*\)?\s*", core)
    return match.group(1) if match else None


def training_answer(answer: str | None) -> str | None:
    """A final answer as a set stores it: the content of its last ``\\boxed{}`` when it
    has one, ``$...$`` taken off; None when empty."""
    if answer is None:
        return None
    text = str(answer).strip()
    if "\\boxed" in text or "\\fbox" in text:
        from justeval.grading.extract import last_boxed

        text = last_boxed(text) or ""
    text = text.strip().strip("$").strip()
    return text or None


def informative(answer: str | None) -> bool:
    """Whether two equal answers say more than chance would: not a single digit, a
    letter (a multiple-choice option or a variable) or yes/no."""
    if not answer:
        return False
    core = re.sub(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", answer)
    core = re.sub(r"[\s$(){}\\]", "", core).lower()
    return not (re.fullmatch(r"-?\d|[a-z]|yes|no|true|false", core) or not core)


@dataclass
class Facts:
    """What classifies a pair, read from one problem's body."""

    numbers: Counter
    pieces: frozenset  # formula pieces (math split at top-level commas), numbers-only pieces out
    ask_pieces: frozenset  # the pieces of the asked-for clauses
    targets: frozenset  # each asked-for clause's first formula piece: what it asks for
    words: list  # content words, in order
    ask_positions: frozenset  # indexes into words that lie in an asked-for clause
    negations: Counter
    figures: tuple  # figure keys
    word_set: frozenset = field(default=frozenset())

    @classmethod
    def of(cls, body: str, figures: Sequence[str]) -> Facts:
        stream = _stream(body)
        numbers: Counter = Counter()
        pieces: set[str] = set()
        words: list[str] = []
        negations: Counter = Counter()
        for kind, value in stream:
            if kind == "n":
                numbers[value] += 1
            elif kind == "m":
                for piece, piece_numbers in value:
                    numbers.update(piece_numbers)
                    if piece:
                        pieces.add(piece)
        ask_pieces: set[str] = set()
        ask_positions: set[int] = set()
        sentences = _sentences(stream)
        asked = [s[_ask_start(stream, s) :] for s in sentences if _ask_start(stream, s) is not None]
        if not asked and sentences:
            asked = [sentences[-1]]
        in_ask = {i for clause in asked for i in clause}
        targets = set()
        for clause in asked:
            first = next(
                (stream[i][1] for i in clause if stream[i][0] == "m" and any(p for p, _ in stream[i][1])),
                None,
            )
            if first is not None:
                targets.add(next(p for p, _ in first if p))
        for i, (kind, value) in enumerate(stream):
            if kind == "m" and i in in_ask:
                ask_pieces.update(p for p, _ in value if p)
            if kind != "w":
                continue
            if value in NEGATIONS:
                negations[value] += 1
            if len(value) < 2 or value in STOPWORDS or value in FRAMING or not value.isalpha():
                continue
            if i in in_ask:
                ask_positions.add(len(words))
            words.append(stem(value))
        return cls(
            numbers=numbers,
            pieces=frozenset(pieces),
            ask_pieces=frozenset(ask_pieces),
            targets=frozenset(targets),
            words=words,
            ask_positions=frozenset(ask_positions),
            negations=negations,
            figures=tuple(figure_key(f) for f in figures),
            word_set=frozenset(words),
        )


_MATH = re.compile(
    r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]|\\begin\{([a-zA-Z]+\*?)\}(.*?)\\end\{\5\}", re.S
)
_TEXT_IN_MATH = re.compile(r"\\(?:text|textbf|textit|textrm|mbox|textnormal)\s*\{([^{}]*)\}")


def _canonical_number(token: str) -> str:
    try:
        value = Decimal(token)
    except InvalidOperation:
        return token
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _stream(body: str) -> list[tuple[str, object]]:
    """The body as a stream of ("w", word), ("n", number), ("p", punctuation) and ("m",
    [(formula piece, its numbers), ...]) tokens, in the body's order."""
    out: list[tuple[str, object]] = []
    pos = 0
    for match in _MATH.finditer(body):
        _text_tokens(body[pos : match.start()], out)
        groups = match.groups()
        math = groups[5] if groups[4] is not None else next((g for g in groups[:4] if g is not None), "")
        words_inside = _TEXT_IN_MATH.findall(math)
        math = _TEXT_IN_MATH.sub(" , ", math)
        out.append(("m", _pieces(math)))
        for inside in words_inside:
            _text_tokens(inside, out)
        pos = match.end()
    _text_tokens(body[pos:], out)
    return out


def _text_tokens(text: str, out: list) -> None:
    for tok in tokens(text):
        if tok[0].isdigit():
            out.append(("n", _canonical_number(tok)))
        elif tok.isalpha() or tok[0] == "\\":
            out.append(("w", tok))
        else:
            out.append(("p", tok))


def _pieces(math: str) -> list[tuple[str, list[str]]]:
    """A formula split at its top-level commas and semicolons: each piece as its
    tokens (case kept, trailing punctuation off; "" when it holds no letter or
    command) with its numbers."""
    text = _DELIMITERS.sub(" ", _fix_latex(math))
    raw = re.findall(r"\\[a-zA-Z]+|[a-zA-Z]|\d+(?:\.\d+)?|[{}()\[\]]|[^\s\w]", text)
    pieces: list[list[str]] = [[]]
    depth = 0
    for tok in raw:
        if tok in "([{" and len(tok) == 1:
            depth += 1
        elif tok in ")]}" and len(tok) == 1:
            depth = max(0, depth - 1)
        if depth == 0 and tok in (",", ";"):
            pieces.append([])
            continue
        pieces[-1].append(tok)
    out = []
    for piece in pieces:
        toks = [t for t in piece if t not in ("{", "}")]
        while toks and toks[-1] in (".", ",", ";", ":"):
            toks.pop()
        numbers = [_canonical_number(t) for t in toks if t[0].isdigit()]
        named = any((t[0].isalpha() or t[0] == "\\") and t not in _UNIT_TOKENS for t in toks)
        if toks or numbers:
            out.append((" ".join(toks) if named else "", numbers))
    return out


def _sentences(stream: list) -> list[list[int]]:
    """The stream's sentences, as lists of token indexes. A sentence ends at ``.`` ``?``
    ``!`` and ``:`` (a lead-in: "Preamble:", "Solution:"), not at a paragraph break, so
    that a text whose line breaks were joined splits alike ("the domain of\n\n$f(x)$?"
    is one question)."""
    sentences: list[list[int]] = [[]]
    for i, (kind, value) in enumerate(stream):
        sentences[-1].append(i)
        if kind == "p" and value in (".", "?", "!", ":"):
            sentences.append([])
    return [s for s in sentences if s]


def _ask_start(stream: list, sentence: list[int]) -> int | None:
    """Where (an offset into ``sentence``) its asked-for clause starts: at its asking
    word, or at its start for a question without one; None for a sentence that asks
    nothing or only says how to write the answer."""
    words = [stream[i][1] for i in sentence if stream[i][0] == "w"]
    if any(stem(w) in FORMAT_WORDS for w in words):
        return None
    for offset, i in enumerate(sentence):
        kind, value = stream[i]
        if kind == "w" and value in ASK_WORDS:
            return offset
    if stream[sentence[-1]] == ("p", "?"):
        return 0
    return None


# ------------------------------------------------------------------ evidence and decision


@dataclass
class Evidence:
    answers: str = ""  # "equal", "differ" or ""
    answers_informative: bool = False
    numbers_only_a: tuple = ()
    numbers_only_b: tuple = ()
    figure: str = ""
    asked: str = "same"
    asked_detail: str = ""
    words_changed: tuple = ()
    formulas: str = "same"
    formulas_detail: str = ""


def _counter_text(counter: Counter) -> tuple:
    return tuple(sorted(counter.elements(), key=lambda s: (len(s), s)))


def compare(a: Problem, b: Problem, same_answer: Callable[[str, str], bool | None] | None) -> Evidence:
    """The evidence on a pair: answers, numbers, figures, the asked-for part, words, formulas."""
    ev = Evidence()
    one_sided = bool(a.choices) != bool(b.choices)  # then the choices are left out
    fa, fb = (a.stem_facts, b.stem_facts) if one_sided else (a.facts, b.facts)
    ans_a, ans_b = a.answer, b.answer
    if bool(choice_letter(ans_a)) != bool(choice_letter(ans_b)):
        ans_a, ans_b = a.answer_as_value(), b.answer_as_value()
    if ans_a and ans_b and same_answer is not None:
        equal = same_answer(ans_a, ans_b)
        if equal is not None:
            ev.answers = "equal" if equal else "differ"
            ev.answers_informative = equal and informative(ans_a) and informative(ans_b)
    ev.numbers_only_a = _counter_text(fa.numbers - fb.numbers)
    ev.numbers_only_b = _counter_text(fb.numbers - fa.numbers)
    if fa.figures and fb.figures:
        ev.figure = "same" if sorted(fa.figures) == sorted(fb.figures) else "differ"
    elif fa.figures or fb.figures:
        ev.figure = "one side"
    missing_a = fa.ask_pieces - fb.pieces
    missing_b = fb.ask_pieces - fa.pieces
    if fa.targets and fb.targets and not fa.targets & fb.targets:
        ev.asked = "differ"
        ev.asked_detail = "asks for " + " / ".join("; ".join(sorted(t)) for t in (fa.targets, fb.targets))
    elif missing_a or missing_b:
        ev.asked = "differ"
        ev.asked_detail = "; ".join(sorted(missing_a | missing_b))
    changes, asked_change = _word_changes(fa, fb)
    ev.words_changed = tuple(changes)
    if asked_change:
        ev.asked = "differ"
        ev.asked_detail = "; ".join(x for x in (ev.asked_detail, asked_change) if x)
    if fa.pieces != fb.pieces:
        ev.formulas = "differ"
        ev.formulas_detail = "; ".join(sorted(fa.pieces ^ fb.pieces))
    return ev


def _word_changes(fa: Facts, fb: Facts) -> tuple[list[str], str]:
    """Words swapped for others (aligned, not moved elsewhere), negations and
    restricting words on one side only; and the swaps that touch an asked-for clause."""
    changes: list[str] = []
    asked: list[str] = []
    # a word only counts as changed as often as it is on one side more than on the other
    # (a word that moved is on both sides)
    extra_a = Counter(fa.words) - Counter(fb.words)
    extra_b = Counter(fb.words) - Counter(fa.words)
    matcher = difflib.SequenceMatcher(None, fa.words, fb.words, autojunk=False)
    swapped: set[str] = set()
    for i1, i2, j1, j2 in _regions(matcher.get_opcodes()):
        left = _take(fa.words[i1:i2], extra_a)
        right = _take(fb.words[j1:j2], extra_b)
        if left and right:
            text = f"{' '.join(left)} -> {' '.join(right)}"
            changes.append(text)
            swapped.update(left + right)
            in_ask = any(i in fa.ask_positions for i in range(i1, i2)) or any(
                j in fb.ask_positions for j in range(j1, j2)
            )
            if in_ask:
                asked.append(text)
    if fa.negations != fb.negations:
        only_a = _counter_text(fa.negations - fb.negations)
        only_b = _counter_text(fb.negations - fa.negations)
        changes.append(f"negation {' '.join(only_a) or '-'} -> {' '.join(only_b) or '-'}")
    one_sided = (fa.word_set ^ fb.word_set) & QUALIFIERS
    for word in sorted(one_sided - swapped):
        changes.append(f"{word} only in {'benchmark' if word in fa.word_set else 'other'}")
    return changes, "; ".join(asked)


SAME_RUN = 2  # matching words between two changes that still make them one change


def _regions(opcodes: list) -> list[tuple[int, int, int, int]]:
    """The changed spans of an alignment, two changes separated by at most
    :data:`SAME_RUN` matching words taken as one (``rectangle of area 6 ... area`` against
    ``rectangle of perimeter 6 ... area`` aligns as an insertion and a deletion around
    one matching word)."""
    regions: list[list[int]] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        if regions and i1 - regions[-1][1] <= SAME_RUN and j1 - regions[-1][3] <= SAME_RUN:
            regions[-1][1], regions[-1][3] = i2, j2
        else:
            regions.append([i1, i2, j1, j2])
    return [tuple(r) for r in regions]


def _take(words: list[str], extra: Counter) -> list[str]:
    """The words of a block that are in excess on its side (each taken once)."""
    out = []
    for word in words:
        if extra[word] > 0:
            extra[word] -= 1
            out.append(word)
    return out


def decide(ev: Evidence) -> tuple[str, str]:
    """(label, the reason in words) from the evidence, in the order of the module's
    docstring."""
    if ev.answers == "differ":
        return LOOK_ALIKE, "the answers differ"
    if ev.numbers_only_a or ev.numbers_only_b:
        return LOOK_ALIKE, "the numbers differ"
    if ev.figure == "differ":
        return LOOK_ALIKE, "the figures differ"
    if ev.asked == "differ":
        return LOOK_ALIKE, f"another question is asked ({ev.asked_detail})"
    trusted = ev.answers == "equal" and ev.answers_informative
    if ev.words_changed and not trusted:
        return LOOK_ALIKE, f"words changed ({'; '.join(ev.words_changed)})"
    if ev.formulas == "differ" and not trusted:
        return LOOK_ALIKE, f"the formulas differ ({ev.formulas_detail})"
    if ev.answers == "equal":
        return COPY, "same answer, numbers and question" + (
            "; the wording or a formula differs" if ev.words_changed or ev.formulas == "differ" else ""
        )
    return COPY, "same numbers, formulas and question (no answer to compare)"


# ------------------------------------------------------------------ candidates (datasketch)


def lsh_params(threshold: float, num_perm: int, recall: float) -> tuple[int, int]:
    """(bands, rows per band) for ``num_perm`` permutations: the most rows per band
    (fewest false candidates) such that a pair whose Jaccard similarity is exactly
    ``threshold`` is proposed with probability at least ``recall`` (a pair above it,
    with more): 1 - (1 - threshold**rows) ** bands >= recall."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= recall:
            best = (bands, rows)
    return best


def minhashes(sets: Sequence[set[str]], num_perm: int, seed: int) -> list:
    """datasketch MinHash signatures of token sets (tokens hashed by CRC-32: fast and
    the same in every process, so that a run's candidates do not change)."""
    from datasketch import MinHash

    encoded = [[s.encode("utf-8") for s in items] for items in sets]
    return MinHash.bulk(encoded, num_perm=num_perm, seed=seed, hashfunc=zlib.crc32)


def candidates(
    index_sets: Sequence[set[str]],
    probe_sets: Sequence[set[str]],
    threshold: float,
    num_perm: int,
    recall: float,
    seed: int = 1,
) -> set[tuple[int, int]]:
    """(index, probe) pairs that datasketch's MinHash LSH proposes as possibly at least
    ``threshold`` similar (banding from :func:`lsh_params`). The smaller side (the
    benchmarks) is indexed and every set is looked up in it: a pair is proposed the
    same either way, and a look-up costs less than an insertion."""
    lsh = lsh_index(index_sets, threshold, num_perm, recall, seed)
    return lsh_query(lsh, probe_sets, num_perm, seed)


def lsh_index(index_sets: Sequence[set[str]], threshold: float, num_perm: int, recall: float, seed: int = 1):
    """datasketch's MinHash LSH with ``index_sets`` inserted (keyed by their positions;
    empty sets left out), for :func:`lsh_query`."""
    from datasketch import MinHashLSH

    bands, rows = lsh_params(threshold, num_perm, recall)
    lsh = MinHashLSH(num_perm=num_perm, params=(bands, rows))
    indexed = [i for i, s in enumerate(index_sets) if s]
    with lsh.insertion_session() as session:
        for i, mh in zip(indexed, minhashes([index_sets[i] for i in indexed], num_perm, seed), strict=True):
            session.insert(i, mh, check_duplication=False)
    return lsh


def lsh_query(lsh, probe_sets: Sequence[set[str]], num_perm: int, seed: int = 1) -> set[tuple[int, int]]:
    """(index, probe) pairs that ``lsh`` (:func:`lsh_index`) proposes for ``probe_sets``."""
    out = set()
    probed = [j for j, s in enumerate(probe_sets) if s]
    for j, mh in zip(probed, minhashes([probe_sets[j] for j in probed], num_perm, seed), strict=True):
        out.update((i, j) for i in lsh.query(mh))
    return out


def same_numbers(flat: Sequence[tuple[str, Problem]], query_index: Sequence[int]) -> set[tuple[int, int]]:
    """(query, other) pairs of problems with the same multiset of numbers: the second,
    exact, candidate source, for rewordings whose n-grams differ (a copy has the same
    numbers, so no copy is lost here)."""
    buckets: dict[tuple, list[int]] = {}
    for i, (_, problem) in enumerate(flat):
        if problem.words:
            buckets.setdefault(problem.numbers, []).append(i)
    return {(q, j) for q in query_index for j in buckets.get(flat[q][1].numbers, ()) if j != q}


# ------------------------------------------------------------------ the search


def answer_comparer(
    grader: str | None = None, timeout: float | None = None
) -> Callable[[str, str], bool | None]:
    """``same(gold, answer)``: the project's rule grader (its memo lives with it; name and
    deadline default to the config's); None when it cannot compare."""
    from justeval.grading.runner import Grader

    judge = Grader(grader, timeout=timeout, jobs=1)

    def same(gold: str, answer: str) -> bool | None:
        try:
            return bool(judge.equivalent(gold, answer) or judge.equivalent(answer, gold))
        except Exception:  # noqa: BLE001 (a grader failure leaves the answers unknown)
            return None

    return same


def prepare(
    sets: dict[str, Sequence[Item]], settings: Settings, learn_boilerplate: Iterable[str] = ()
) -> dict[str, list[Problem]]:
    """Each set's problems prepared; for the sets named in ``learn_boilerplate``, the
    prefixes and suffixes they repeat are found (from the :class:`EveryKth` sample, as
    :func:`find_pairs` learns them) and stripped first."""
    learn = set(learn_boilerplate)
    out = {}
    for name, items in sets.items():
        texts = [strip_instructions(i.text) for i in items]
        boiler = None
        if name in learn:
            sample = EveryKth()
            for position, text in enumerate(texts):
                sample.add(position, text)
            boiler = detect_boilerplate(sample.texts, settings.boilerplate_share, sampled=True)
        out[name] = [
            Problem(item, settings.ngram, boiler, text) for item, text in zip(items, texts, strict=True)
        ]
    return out


@dataclass(frozen=True)
class Stream:
    """A set read as it goes, never held whole (a training set of any size):
    ``items()`` gives its items in order, afresh at each call; ``texts_at(wanted)`` gives
    (position, text) of the rows whose position ``wanted`` accepts, asking about every
    position in turn (a cheap read of the boilerplate sample; a position counts every row
    of the file, also the rows left out for an empty text). :meth:`of` makes one of a list."""

    items: Callable[[], Iterable[Item]]
    texts_at: Callable[[Callable[[int], bool]], Iterable[tuple[int, str]]]

    @classmethod
    def of(cls, items: Sequence[Item]) -> Stream:
        return cls(
            lambda: iter(items), lambda wanted: ((i, it.text) for i, it in enumerate(items) if wanted(i))
        )


def learn_boilerplate(stream: Stream, share: float) -> Boilerplate:
    """A set's boilerplate (:func:`detect_boilerplate`) learnt from its :class:`EveryKth`
    sample, in one cheap pass over the set."""
    sample = EveryKth()
    for position, text in stream.texts_at(sample.wants):
        sample.add(position, text)
    return detect_boilerplate([strip_instructions(t) for t in sample.texts], share, sampled=True)


BATCH_ROWS = 4096  # items of a training set prepared, looked up and classified at a time
PROGRESS_ROWS = 100_000  # a log line every this many items of a training set


def find_pairs(
    benchmarks: dict[str, Sequence[Item]],
    training: dict[str, Sequence[Item] | Stream],
    settings: Settings | None = None,
    same_answer: Callable[[str, str], bool | None] | None = None,
    batch_rows: int | None = None,
) -> list[Pair]:
    """Every (benchmark problem, item of another set) pair that reaches ``threshold``
    (copies and look-alikes) or ``word_threshold`` (copies only), classified. Each
    benchmark is compared with every other benchmark and every training set, never
    with itself. ``same_answer`` defaults to the project's grader.

    In bounded memory: the benchmarks (small) are prepared and indexed once
    (:class:`BenchmarkIndex`); a training set (a list, or a :class:`Stream` read from its
    file) is read twice: once for its boilerplate sample (:func:`learn_boilerplate`),
    then ``batch_rows`` (default :data:`BATCH_ROWS`) items at a time, each batch
    prepared, looked up in the index, its candidate pairs scored and classified, and
    dropped but for the pairs kept. What stays is the benchmarks, the index and the
    pairs (with both texts); the same pairs, in the same order, as :func:`search` finds
    with every set in memory."""
    settings = settings or Settings.defaults()
    clash = set(benchmarks) & set(training)
    if clash:
        raise ValueError(f"names used by a benchmark and a training set: {sorted(clash)}")
    if same_answer is None:
        same_answer = answer_comparer(settings.grader, settings.grader_timeout)
    start = time.perf_counter()
    bench = prepare(benchmarks, settings)
    order = {name: i for i, name in enumerate([*benchmarks, *training])}
    index = BenchmarkIndex(bench, order, settings, same_answer)
    log.info("overlap: %d benchmark problems prepared and indexed in %.1f s", len(index.queries),
             time.perf_counter() - start)  # fmt: skip
    found: list[tuple[tuple, Pair]] = []
    for name, problems in bench.items():
        found += index.pairs(name, problems, 0)
    for name, source in training.items():
        stream = source if isinstance(source, Stream) else Stream.of(source)
        found += _stream_pairs(index, name, stream, settings, batch_rows or BATCH_ROWS)
    found.sort(key=lambda kp: kp[0])
    return [pair for _, pair in found]


def _stream_pairs(
    index: BenchmarkIndex, name: str, stream: Stream, settings: Settings, batch_rows: int
) -> list[tuple[tuple, Pair]]:
    """A training set's pairs (with their sort keys), a batch of items at a time."""
    start = time.perf_counter()
    boiler = learn_boilerplate(stream, settings.boilerplate_share)
    if boiler.prefixes or boiler.suffixes:
        log.info("overlap: %s: boilerplate learnt: prefixes %s, suffixes %s", name,
                 [" ".join(p) for p in boiler.prefixes], [" ".join(p) for p in boiler.suffixes])  # fmt: skip
    out: list[tuple[tuple, Pair]] = []
    items = iter(stream.items())
    position = answers = 0
    while batch := list(itertools.islice(items, batch_rows)):
        texts = [strip_instructions(item.text) for item in batch]
        problems = [Problem(it, settings.ngram, boiler, text) for it, text in zip(batch, texts, strict=True)]
        out += index.pairs(name, problems, position)
        answers += sum(item.answer is not None for item in batch)
        if (position + len(batch)) // PROGRESS_ROWS > position // PROGRESS_ROWS:
            log.info("overlap: %s: %d items read, %d pairs so far, %.0f s", name, position + len(batch),
                     len(out), time.perf_counter() - start)  # fmt: skip
        position += len(batch)
    log.info("overlap: training set %s: %d problems, %d with an answer; %d pairs in %.1f s", name, position,
             answers, len(out), time.perf_counter() - start)  # fmt: skip
    return out


class BenchmarkIndex:
    """The benchmarks' problems, prepared and indexed once, for the look-ups of every
    batch of problems of another set: datasketch's MinHash LSH over their n-grams
    (:func:`lsh_index`) and a table by their numbers (:func:`same_numbers`'s, turned
    round). ``order``: every set's place in the output, benchmarks first."""

    def __init__(
        self,
        bench: dict[str, list[Problem]],
        order: dict[str, int],
        settings: Settings,
        same_answer: Callable[[str, str], bool | None] | None,
    ):
        self.queries = [(name, p) for name, problems in bench.items() for p in problems]
        self.order, self.settings, self.same_answer = order, settings, same_answer
        s = settings
        self.lsh = lsh_index([p.grams for _, p in self.queries], s.threshold, s.num_perm, s.lsh_recall,
                             s.minhash_seed)  # fmt: skip
        self.by_numbers: dict[tuple, list[int]] = {}
        for i, (_, p) in enumerate(self.queries):
            self.by_numbers.setdefault(p.numbers, []).append(i)

    def candidates(self, problems: Sequence[Problem]) -> set[tuple[int, int]]:
        """(query, position in ``problems``) pairs: those LSH proposes, and those with the
        same multiset of numbers (the other side with words), as :func:`search` finds them."""
        s = self.settings
        found = lsh_query(self.lsh, [p.grams for p in problems], s.num_perm, s.minhash_seed)
        for j, p in enumerate(problems):
            if p.words:
                found.update((i, j) for i in self.by_numbers.get(p.numbers, ()))
        return found

    def pairs(self, name: str, problems: Sequence[Problem], start: int) -> list[tuple[tuple, Pair]]:
        """The pairs of a batch of set ``name``'s problems (the first at position ``start``
        in its set) that reach a threshold, classified, each with its sort key: the order
        of :func:`search` (benchmark, copies first, other set, score, problem id, then the
        query's and the other problem's places)."""
        s = self.settings
        out = []
        for qi, j in sorted(self.candidates(problems)):
            qname, a = self.queries[qi]
            if qname == name:
                continue
            b = problems[j]
            score = jaccard(a.grams, b.grams)
            word_score = jaccard(a.words, b.words)
            if score < s.threshold and word_score < s.word_threshold:
                continue
            ev = compare(a, b, self.same_answer)
            label, reason = decide(ev)
            if score < s.threshold and label != COPY:
                continue  # found by its words only: reported only as a copy
            p = _pair(qname, a, name, b, score, word_score, label, reason, ev)
            key = (self.order[qname], label != COPY, self.order[name], -p.score, p.problem_id, qi, start + j)
            out.append((key, p))
        return out


def search(
    prepared: dict[str, list[Problem]],
    queries: Sequence[str],
    settings: Settings,
    same_answer: Callable[[str, str], bool | None] | None,
) -> list[Pair]:
    """:func:`find_pairs` with every set prepared and in memory at once (:func:`prepare`):
    the sets named in ``queries`` against all others. The reference the streamed search is
    checked against in the tests; its memory grows with the sets."""
    start = time.perf_counter()
    flat = [(name, p) for name, problems in prepared.items() for p in problems]
    where = {name: i for i, name in enumerate(prepared)}
    asked = set(queries)
    query_index = [i for i, (name, _) in enumerate(flat) if name in asked]
    grams = [p.grams for _, p in flat]
    hits = candidates(
        [grams[i] for i in query_index], grams, settings.threshold, settings.num_perm, settings.lsh_recall,
        settings.minhash_seed,
    )  # fmt: skip
    found = {(query_index[q], j) for q, j in hits}
    proposed = len(found)
    log.info("overlap: MinHash LSH took %.1f s", time.perf_counter() - start)
    found.update(same_numbers(flat, query_index))
    log.info("overlap: LSH proposed %d pairs, equal numbers %d more", proposed, len(found) - proposed)
    start = time.perf_counter()
    pairs = []
    for qi, oi in sorted(found):
        (qname, a), (oname, b) = flat[qi], flat[oi]
        if qname == oname:
            continue
        score = jaccard(a.grams, b.grams)
        word_score = jaccard(a.words, b.words)
        if score < settings.threshold and word_score < settings.word_threshold:
            continue
        ev = compare(a, b, same_answer)
        label, reason = decide(ev)
        if score < settings.threshold and label != COPY:
            continue  # found by its words only: reported only as a copy
        pairs.append(_pair(qname, a, oname, b, score, word_score, label, reason, ev))
    log.info("overlap: %d pairs classified in %.1f s", len(pairs), time.perf_counter() - start)
    order = {name: where[name] for name in prepared}
    pairs.sort(key=lambda p: (order[p.benchmark], p.label != COPY, order[p.other], -p.score, p.problem_id))
    return pairs


def _pair(qname, a: Problem, oname, b: Problem, score, word_score, label, reason, ev: Evidence) -> Pair:
    return Pair(
        benchmark=qname,
        problem_id=a.item.id,
        other=oname,
        other_id=b.item.id,
        other_row=b.item.row,
        score=round(score, 4),
        word_score=round(word_score, 4),
        label=label,
        reason=reason,
        answers=ev.answers,
        numbers_only_benchmark=" ".join(ev.numbers_only_a),
        numbers_only_other=" ".join(ev.numbers_only_b),
        asked=ev.asked,
        figure=ev.figure,
        words_changed="; ".join(ev.words_changed),
        formulas=ev.formulas,
        text=a.item.text,
        other_text=b.item.text,
        answer=a.answer,
        other_answer=b.answer,
    )


def classify(
    a: Item, b: Item, settings: Settings | None = None, same_answer: Callable | None = None
) -> tuple[str | None, str, float, float]:
    """(label or None below both thresholds, reason, score, word score) of one pair, as
    :func:`find_pairs` would decide it (no boilerplate learnt: one row is no set)."""
    settings = settings or Settings.defaults()
    pa, pb = Problem(a, settings.ngram), Problem(b, settings.ngram)
    score, word_score = jaccard(pa.grams, pb.grams), jaccard(pa.words, pb.words)
    ev = compare(pa, pb, same_answer)
    label, reason = decide(ev)
    if score < settings.threshold and (word_score < settings.word_threshold or label != COPY):
        return None, reason, score, word_score
    return label, reason, score, word_score


def exact_pairs(
    query_sets: Sequence[set[str]], index_sets: Sequence[set[str]], threshold: float
) -> set[tuple[int, int]]:
    """Every (query, index) pair whose Jaccard similarity is at least ``threshold``, by
    the exact all-pairs computation (an inverted index and numpy counts; the yardstick
    of the LSH's recall in the tests and the benchmark)."""
    import numpy as np

    vocab: dict[str, int] = {}
    postings: list[list[int]] = []
    for j, items in enumerate(index_sets):
        for s in items:
            k = vocab.setdefault(s, len(vocab))
            if k == len(postings):
                postings.append([])
            postings[k].append(j)
    arrays = [np.asarray(p, dtype=np.int64) for p in postings]
    sizes = np.asarray([len(s) for s in index_sets], dtype=np.int64)
    out = set()
    for q, items in enumerate(query_sets):
        keys = [vocab[s] for s in items if s in vocab]
        if not keys or not items:
            continue
        counts = np.bincount(np.concatenate([arrays[k] for k in keys]), minlength=len(index_sets))
        union = sizes + len(items) - counts
        hit = np.nonzero((counts > 0) & (counts >= threshold * union - 1e-9))[0]
        out.update((q, int(j)) for j in hit)
    return out
