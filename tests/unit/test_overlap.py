"""The overlap stage's matcher: planted near-copies of real benchmark problems are
found, real problems that are not copies are not, and LSH loses nothing that the
exact all-pairs comparison finds."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from conftest import BENCHMARKS
from justeval.sources.benchmarks import prepare
from justeval.stages.overlap import jaccard, near_duplicates, normalise, shingles

NINE = ["AIME24", "AIME25", "AMC23", "BRUMO25", "CMIMC25", "HMMT25", "MATH-500", "Minerva", "Olympiad-Bench"]
SETTINGS = {"ngram": 3, "threshold": 0.5, "num_perm": 128}


@pytest.fixture(scope="module")
def nine():
    out = {}
    for name in NINE:
        frame, _ = prepare(name, str(BENCHMARKS / name / "test.parquet"), None, None)
        out[name] = dict(zip(frame["problem_id"], frame["problem"], strict=True))
    return out


WORDS = dict(enumerate("zero one two three four five six seven eight nine ten".split()))  # noqa: SIM905
WORDS = {str(i): w for i, w in WORDS.items()}


def reword_numbers(text: str) -> str:
    """Small numbers as words, and one larger number changed."""
    text = re.sub(r"(?<![\d.])([2-9])(?![\d.])", lambda m: WORDS[m.group(1)], text, count=2)
    return re.sub(r"\d{2,}", lambda m: str(int(m.group(0)) + 1), text, count=1)


def respace(text: str) -> str:
    return re.sub(r"\s+", lambda m: random.Random(len(m.group(0))).choice(["  ", "\n", "\t ", " "]), text)


def respell_latex(text: str) -> str:
    text = text.replace("\\frac", "\\dfrac").replace("(", "\\left(").replace(")", "\\right)")
    return re.sub(r"\$([^$]+)\$", r"\\(\1\\)", text)


PLANTS = {"numbers": reword_numbers, "whitespace": respace, "latex": respell_latex}


def test_normalisation_forgets_what_a_copy_changes():
    a = "Let $x = \\frac{2}{3}$. Find $(x+5)^2$."
    b = "Let  \\(x=\\dfrac{two}{three}\\).\nFind \\left(x + five\\right)^{2}."
    assert normalise(a) == [t for t in normalise(b) if t not in "{}"]
    assert shingles(a, 3) == shingles(b, 3)


def test_planted_copies_are_found_and_non_copies_are_not(nine):
    rng = random.Random(7)
    sources = [(b, pid) for b in ("AIME24", "MATH-500", "Olympiad-Bench") for pid in nine[b]]
    # long enough to be a problem, not a one-line template ("Compute $x$.")
    sources = [s for s in sources if len(normalise(nine[s[0]][s[1]])) >= 25]
    # and not one of Olympiad-Bench's multi-part problems that share a long preamble
    # (a copy of one is a near-copy of its siblings too: test_siblings_... below)
    grams = {s: shingles(nine[s[0]][s[1]], 3) for s in sources}
    by_bench = {b: [s for s in grams if s[0] == b] for b in ("AIME24", "MATH-500", "Olympiad-Bench")}
    sources = [s for s in sources if all(jaccard(grams[s], grams[o]) < 0.3 for o in by_bench[s[0]] if o != s)]
    planted = rng.sample(sources, 60)
    train, truth = {}, {}
    for i, (bench, pid) in enumerate(planted):
        kind = list(PLANTS)[i % 3]
        text = nine[bench][pid]
        if kind == "numbers" and not re.search(r"\d", text):
            kind = "latex"
        train[f"copy-{i}"] = PLANTS[kind](text)
        truth[f"copy-{i}"] = (bench, pid, kind)
    # non-copies: every problem of the benchmarks that are not queried here (412)
    for bench in ("AMC23", "BRUMO25", "CMIMC25", "HMMT25", "Minerva"):
        for pid, text in nine[bench].items():
            train[f"other-{pid}"] = text
    queries = {b: nine[b] for b in ("AIME24", "MATH-500", "Olympiad-Bench")}
    pairs = near_duplicates({**queries, "train": train}, **SETTINGS, queries=list(queries))
    found = {(r.benchmark, r.problem_id, r.other_id) for r in pairs.itertuples()}
    expected = {(b, pid, key) for key, (b, pid, _kind) in truth.items()}
    missed = expected - found
    by_kind = {k: sum(1 for key in truth.values() if key[2] == k) for k in PLANTS}
    assert not missed, (missed, by_kind)  # recall 60 / 60
    false = found - expected
    assert not false, sorted(false)[:5]  # no problem of another benchmark is a "copy"


def test_lsh_finds_what_the_exact_all_pairs_comparison_finds(nine):
    """The nine shared benchmarks against each other (1,646 problems), at a low
    threshold so that there is something to find: LSH's pairs are exactly the
    pairs the exact score finds on every cross-benchmark pair."""
    threshold = 0.2
    pairs = near_duplicates(nine, ngram=3, threshold=threshold, num_perm=256, queries=NINE)
    found = {(r.benchmark, r.problem_id, r.other, r.other_id) for r in pairs.itertuples()}
    grams = {(b, pid): shingles(t, 3) for b, items in nine.items() for pid, t in items.items()}
    exact = set()
    for a, b in itertools.combinations(grams, 2):
        if a[0] != b[0] and jaccard(grams[a], grams[b]) >= threshold:
            exact |= {(*a, *b), (*b, *a)}
    assert found <= exact
    assert len(exact - found) <= max(1, len(exact) // 20), sorted(exact - found)[:5]  # LSH recall ≥ 95 %


def test_the_nine_benchmarks_share_no_problem(nine):
    """What the nine shared benchmarks hold in common at the default threshold:
    nothing (the exact all-pairs check above agrees at 0.2 and finds only pairs
    far below 0.5)."""
    pairs = near_duplicates(nine, **SETTINGS, queries=NINE)
    assert pairs.empty, pairs.head()


def test_siblings_that_share_a_preamble_are_reported(nine):
    """Olympiad-Bench holds multi-part problems with one long shared context: a
    training copy of one part is a near-copy of its siblings, and is reported so."""
    ob = nine["Olympiad-Bench"]
    grams = {pid: shingles(t, 3) for pid, t in ob.items()}
    a, b = next((x, y) for x, y in itertools.combinations(ob, 2) if jaccard(grams[x], grams[y]) >= 0.6)
    pairs = near_duplicates({"Olympiad-Bench": ob, "train": {"0": respace(ob[a])}}, **SETTINGS,
                            queries=["Olympiad-Bench"])  # fmt: skip
    assert {a, b} <= set(pairs["problem_id"])
