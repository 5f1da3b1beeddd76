"""Which benchmark problem each problem of a released file is.

:func:`match_problems` takes the file's problems (``source_id``, ``problem``: what
:meth:`justeval.sources.released.common.Released.problems` gives) and a benchmark's
(``problem_id``, ``problem``) and matches them:

By id
    when the file's ids are the benchmark's: at least :data:`ID_SHARE` of the file's distinct
    ids are benchmark ``problem_id`` values (compared exactly: ``aime24-0`` is not
    ``AIME24-0``, and in the shared benchmarks they are different problems). A problem whose
    id is not the benchmark's goes on to the text rules below. Ids can coincide by chance (a
    file numbering its rows ``0, 1, ...`` against a benchmark whose ids are bare numbers):
    where both sides have a text, the pair's text similarity is its score, a pair below
    :data:`NEAR` is noted, and when more than half of the pairs with texts are below it, the
    ids are not trusted and everything is matched by text (said in ``notes``).
By text
    through the overlap stage's normalisation (:mod:`justeval.analysis.contamination`): the
    prompt's chat template, role lines and instruction sentences stripped
    (``strip_instructions``, plus whole instruction paragraphs and ``Problem:``/``Solution:``
    labels, which a harness's prompt wraps a problem in), Unicode folded to LaTeX, numbers'
    spellings made one (``clean``), figures (``[asy]``, TikZ) left out (``split_figures``: one
    harness keeps them, another drops them), then compared as the sequence of ``tokens``
    (LaTeX spacing, ``\\left``/``\\right``, ``\\dfrac``, braces, ``$`` and case do not count).

    ``exact``: the token sequences are equal (score 1). ``near``: the most similar benchmark
    problem by ``difflib``'s ratio of the token sequences (2 x matched tokens / all tokens),
    when that ratio is at least :data:`NEAR` (0.9) and the match is safe: the numbers of the
    benchmark problem are all in the file's problem (as a multiset: a changed number makes
    another problem, an instruction may add one), no negation or restricting word
    (``not``, ``positive``, ``distinct``... the overlap stage's lists) is on one side only,
    and no other benchmark problem also reaches the threshold (else it is ambiguous and left
    unmatched). The score is the ratio.

Why 0.9 and these guards: 0.9 of the tokens in order is what a copy keeps through
formatting leftovers (a dropped "the", a stray word of an instruction, ``1000`` against
``1{,}000`` already folded), while two problems of one benchmark that share a template
(AMC/AIME look-alikes) stay below it or are told apart by their numbers and qualifiers,
which a ratio alone does not weigh. The ratio is order-sensitive, unlike a Jaccard of
sets, so ``x^2 - y`` is not ``y^2 - x``. Nothing here was tuned on a particular file.

Checked on the real Saturn outputs of ``../shared/real-outputs/saturn-r1-distill`` (their ids
dropped): AIME24 30/30 and MATH-500 500/500 exact; AMC 2022+2023 against AMC23 40/83 exact
(the 43 others are AMC 2022's); AIME25, another transcription of the problems, 25/30 (10
exact, 15 near; the other 5 are reworded statements, left unmatched with their closest
problem). Every matched pair has the same gold answer on both sides.

Nothing is dropped: every file problem has a row in :attr:`Matching.matches`, unmatched
ones with the reason and the closest benchmark problem; benchmark problems matched by
several file problems are flagged (:attr:`Matching.duplicates`), and benchmark problems
no file problem matched are listed (:attr:`Matching.missing`).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from justeval.analysis.contamination import (
    FIGURE_WORD,
    NEGATIONS,
    QUALIFIERS,
    clean,
    split_figures,
    strip_instructions,
    tokens,
)

ID_SHARE = 0.9  # share of the file's distinct ids that must be benchmark ids for matching by id
NEAR = 0.9  # the ratio a near match reaches
CLOSEST_CHECKED = 3  # benchmark problems whose exact ratio is computed for an unmatched row's report
KINDS = ("id", "exact", "near")
_GUARD_WORDS = NEGATIONS | QUALIFIERS


@dataclass
class Matching:
    """The matching of a file's problems to a benchmark's.

    ``matches`` has one row per file problem, in the input's order and index: its
    ``source_id``, the benchmark ``problem_id`` (None when unmatched), the ``kind`` (``id``,
    ``exact``, ``near``, or None), the ``score`` (text similarity, 1.0 for an exact match; for
    an id match the texts' similarity, None without texts) and a ``note`` (why a row is
    unmatched and its closest benchmark problem; a shared benchmark problem; an id match
    whose texts differ). ``mode`` is ``id`` or ``text``."""

    matches: pd.DataFrame
    mode: str
    missing: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def unmatched(self) -> pd.DataFrame:
        return self.matches[self.matches["problem_id"].isna()]

    @property
    def duplicates(self) -> pd.DataFrame:
        """The rows whose benchmark problem another file problem matched too."""
        matched = self.matches[self.matches["problem_id"].notna()]
        return matched[matched["problem_id"].duplicated(keep=False)]

    def counts(self) -> dict[str, int]:
        kinds = self.matches["kind"].value_counts()
        return {kind: int(kinds.get(kind, 0)) for kind in KINDS}

    def problem_ids(self) -> pd.Series:
        return self.matches["problem_id"]

    def summary(self) -> str:
        counts = self.counts()
        matched = sum(counts.values())
        kinds = ", ".join(f"{k} {n}" for k, n in counts.items())
        shared = self.duplicates["problem_id"].nunique()
        return (
            f"{matched}/{len(self.matches)} file problems matched by {self.mode} ({kinds}); "
            f"{len(self.unmatched)} unmatched; {shared} benchmark problems matched more than once; "
            f"{len(self.missing)} benchmark problems unmatched"
        )


# ------------------------------------------------------------------ normalisation

# a chat decoded without its special tokens (verl's "input"): "system\n...\nuser\n...\nassistant\n"
_ROLE_TURN = re.compile(r"(?ms)^[ \t]*user[ \t]*\n(.*?)(?=^[ \t]*assistant[ \t]*$|\Z)")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_PLACEHOLDER = re.compile(r"\\boxed\s*\{[^{}\d]{0,20}\}|\$|\\[()\[\]]")
_INSTRUCTING = re.compile(
    r"step[- ]by[- ]step|\\boxed|final answer|last line of your|put your (?:final )?answer|your response"
    r"|reasoning process|think (?:carefully|step)|answer (?:format|should)|following format",
    re.IGNORECASE,
)
_LABEL_START = re.compile(r"^\s*(?:problem|question|q)\s*\d*\s*[:.]\s*", re.IGNORECASE)
_LABEL_END = re.compile(r"\n\s*(?:solution|answer|response|a|assistant)\s*:\s*$", re.IGNORECASE)


def _user_part(text: str) -> str:
    turns = (
        _ROLE_TURN.findall(text)
        if "\nassistant" in text or text.lstrip().startswith(("user", "system"))
        else []
    )
    return turns[-1] if turns else text


def _instruction_paragraph(paragraph: str) -> bool:
    """A paragraph that instructs and states nothing: an instruction phrase, and no digit
    once answer placeholders (``\\boxed{ANSWER}``) and math delimiters are out."""
    return bool(_INSTRUCTING.search(paragraph)) and not re.search(r"\d", _PLACEHOLDER.sub(" ", paragraph))


def _strip_paragraphs(text: str) -> str:
    paragraphs = [p for p in _PARAGRAPH.split(text) if p.strip()]
    while len(paragraphs) > 1 and _instruction_paragraph(paragraphs[0]):
        paragraphs.pop(0)
    while len(paragraphs) > 1 and _instruction_paragraph(paragraphs[-1]):
        paragraphs.pop()
    return "\n\n".join(paragraphs)


def problem_body(text: str) -> str:
    """A prompt's problem: chat markup, instructions and labels around it removed."""
    text = strip_instructions(_user_part(text))
    text = _strip_paragraphs(text)
    text = _LABEL_END.sub("", _LABEL_START.sub("", text, count=1))
    return strip_instructions(text)


def normal_tokens(text: str | None) -> tuple[str, ...]:
    """The token sequence a problem is compared by (empty for no text). Figures (``[asy]``
    or TikZ code) are left out: one harness keeps a problem's figure, another drops it."""
    if not isinstance(text, str) or not text.strip():
        return ()
    body, _ = split_figures(clean(problem_body(text)))
    return tuple(t for t in tokens(body) if t != FIGURE_WORD)


def _numbers(toks: tuple[str, ...]) -> Counter:
    return Counter(t for t in toks if t[0].isdigit())


def _guard_words(toks: tuple[str, ...]) -> set[str]:
    return {t for t in toks if t in _GUARD_WORDS}


def similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# ------------------------------------------------------------------ matching


class _TextIndex:
    """The benchmark's problems, normalised once, for exact and near look-ups."""

    def __init__(self, ids: list[str], texts: list):
        self.ids = ids
        self.toks = [normal_tokens(t) for t in texts]
        self.exact: dict[tuple, list[int]] = {}
        for i, toks in enumerate(self.toks):
            if toks:
                self.exact.setdefault(toks, []).append(i)
        self.numbers = [_numbers(t) for t in self.toks]
        self.guards = [_guard_words(t) for t in self.toks]

    def match(self, toks: tuple[str, ...]) -> tuple[str | None, str | None, float | None, str]:
        """(problem_id, kind, score, note) of one file problem's tokens."""
        if not toks:
            return None, None, None, "no problem text to match"
        same = self.exact.get(toks, [])
        if len(same) == 1:
            return self.ids[same[0]], "exact", 1.0, ""
        if len(same) > 1:
            return None, None, 1.0, f"ambiguous: equal to {', '.join(self.ids[i] for i in same)}"
        scored = self._closest(toks)
        if not scored:
            return None, None, None, "no benchmark problem of a similar length"
        passing = [(r, i) for r, i in scored if r >= NEAR]
        best_ratio, best = scored[0]
        if len(passing) > 1:
            names = ", ".join(f"{self.ids[i]} ({r:.3f})" for r, i in passing)
            return None, None, best_ratio, f"ambiguous: {names} all reach {NEAR}"
        closest = f"closest {self.ids[best]} at {best_ratio:.3f}"
        if not passing:
            return None, None, best_ratio, f"{closest} (below {NEAR})"
        missing = self.numbers[best] - _numbers(toks)
        if missing:
            return (
                None,
                None,
                best_ratio,
                f"{closest}, but its numbers {sorted(missing)} are not in the file's text",
            )
        differ = self.guards[best] ^ _guard_words(toks)
        if differ:
            return None, None, best_ratio, f"{closest}, but {sorted(differ)} is on one side only"
        return self.ids[best], "near", round(best_ratio, 4), ""

    def _closest(self, toks: tuple[str, ...]) -> list[tuple[float, int]]:
        """(ratio, index) of the benchmark problems that may reach :data:`NEAR`, and of a few
        of the closest others (for the report), best first."""
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(toks)  # the fixed side: its index is built once
        bounds = []
        for i, other in enumerate(self.toks):
            if not other or 2 * min(len(other), len(toks)) / (len(other) + len(toks)) < NEAR / 2:
                continue
            matcher.set_seq1(other)
            bounds.append((matcher.quick_ratio(), i))
        bounds.sort(key=lambda b: (-b[0], b[1]))
        scored = []
        for bound, i in bounds:
            if bound < NEAR and len(scored) >= CLOSEST_CHECKED:
                break
            matcher.set_seq1(self.toks[i])
            scored.append((matcher.ratio(), i))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return scored


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _id(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def match_problems(file_problems: pd.DataFrame, benchmark: pd.DataFrame) -> Matching:
    """Match each of a file's problems (``source_id``, ``problem``; either may be None) to
    a benchmark's (``problem_id``, ``problem``): see the module's docstring for the rules."""
    for frame, needed, name in ((file_problems, ("source_id", "problem"), "file problems"),
                                (benchmark, ("problem_id", "problem"), "benchmark")):  # fmt: skip
        absent = [c for c in needed if c not in frame.columns]
        if absent:
            raise ValueError(f"{name}: no column {absent[0]!r} (it has {list(frame.columns)})")
    bench_ids = [str(i) for i in benchmark["problem_id"]]
    bench_texts = list(benchmark["problem"])
    known = {pid: i for i, pid in enumerate(bench_ids)}
    file_ids = [_id(v) for v in file_problems["source_id"]]
    file_texts = [_text(v) for v in file_problems["problem"]]
    index = _TextIndex(bench_ids, bench_texts)
    file_toks = [normal_tokens(t) for t in file_texts]
    notes: list[str] = []

    distinct = {i for i in file_ids if i is not None}
    mode = "text"
    scores: dict[int, float] = {}
    differing: list[int] = []
    if distinct and len(distinct & set(known)) >= ID_SHARE * len(distinct):
        mode = "id"
        pairs = [(k, known[sid]) for k, sid in enumerate(file_ids) if sid in known]
        with_text = [(k, b) for k, b in pairs if file_toks[k] and index.toks[b]]
        scores = {k: similarity(file_toks[k], index.toks[b]) for k, b in with_text}
        differing = [k for k, s in scores.items() if s < NEAR]
        if with_text and len(differing) > len(with_text) / 2:
            mode = "text"
            notes.append(
                f"{len(distinct & set(known))} of the file's {len(distinct)} ids are benchmark ids, but the "
                f"texts of {len(differing)} of {len(with_text)} such pairs differ: ids not trusted, "
                "matched by text"
            )
    rows = []
    for k in range(len(file_problems)):
        sid = file_ids[k]
        if mode == "id" and sid in known:
            b = known[sid]
            score = round(scores[k], 4) if k in scores else None
            note = f"text differs from the benchmark's (similarity {score:.3f})" if k in differing else ""
            rows.append((sid, bench_ids[b], "id", score, note))
            continue
        pid, kind, score, note = index.match(file_toks[k])
        if mode == "id" and sid is not None:
            note = f"id {sid!r} is not the benchmark's; " + (note or f"matched by text ({kind})")
        rows.append((sid, pid, kind, score, note))
    matches = pd.DataFrame(rows, columns=["source_id", "problem_id", "kind", "score", "note"],
                           index=file_problems.index).astype(object)  # fmt: skip
    matches = matches.where(matches.notna(), None)
    shared = matches[matches["problem_id"].notna() & matches["problem_id"].duplicated(keep=False)]
    for pid, group in shared.groupby("problem_id", sort=False):
        for k in group.index:
            others = [str(o) for o in group.index if o != k]
            flag = f"benchmark problem {pid} also matched by file problem(s) {', '.join(others)}"
            old = matches.at[k, "note"]
            matches.at[k, "note"] = f"{old}; {flag}" if old else flag
    matched = set(matches["problem_id"].dropna())
    missing = [pid for pid in bench_ids if pid not in matched]
    return Matching(matches, mode, missing, notes)
