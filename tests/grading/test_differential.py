"""Differential test: every pair our grader accepts while both external graders reject
is adjudicated by hand, with the reason ours is right.

The corpus of (gold, final answer) pairs:

- the 2,372 real responses in ../shared/real-outputs (800 of Qwen2.5-Math's harness,
  1,572 of the Saturn R1-distill set; the last ``\\boxed{}`` of each, the benchmark's
  gold), without the responses that have no box;
- answers of the grammar (``answer_grammar.py``) against the real golds: for every
  distinct gold of the nine benchmarks, ``FREE_PER_GOLD`` answers drawn from the grammar
  and ``RESPELLINGS_PER_GOLD`` respellings of the gold itself (``RESPELLINGS``: ``\\left( G \\right)``,
  ``x = G``, ``G \\text{ units}``, ``G^{\\circ}``, ...), chosen with a fixed seed.

Each distinct pair is graded by the ``justeval`` grader; only the pairs it accepts go to
the external graders (mathruler's ``grade_answer``, i.e. JustRL's grader, then
math-verify on what mathruler rejects), in the worker pool under the deadline, without
our extraction or guard. A pair both reject is a disagreement, and must be in
``differential_adjudications.jsonl`` (gold, answer, source, the reason ours is right);
a disagreement missing from it fails, and so does an entry that no longer disagrees.
Where ours is wrong the grader is fixed, not the list.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from answer_grammar import RESPELLINGS, Grammar, external_verdicts, from_template, grade_pairs, read_jsonl

from conftest import BENCHMARKS, SHARED, prepared_benchmarks
from justeval.grading.extract import last_boxed
from justeval.sources.benchmarks import unwrap_gold

REAL = SHARED / "real-outputs"
ADJUDICATIONS = Path(__file__).with_name("differential_adjudications.jsonl")
FREE_PER_GOLD = 8
RESPELLINGS_PER_GOLD = 2
SEED = 20240612


def real_pairs() -> list[tuple[str, str, str]]:
    """(gold, last boxed answer, source) of every real response that has a box."""
    qwen = REAL / "qwen25-math_math-cot-100.jsonl"
    if not qwen.is_file():
        pytest.skip(f"no real outputs at {REAL}")
    pairs = []
    for line in qwen.read_text().splitlines():
        row = json.loads(line)
        pairs += [(unwrap_gold(row["gt"]), last_boxed(r), "qwen25-math") for r in row["code"]]
    for path in sorted((REAL / "saturn-r1-distill").glob("*.jsonl")):
        for row in read_jsonl(path):
            pairs.append((unwrap_gold(str(row["answer"])), last_boxed(row["response"]), "saturn"))
    return [(g, a, source) for g, a, source in pairs if a is not None]


def grammar_pairs() -> list[tuple[str, str, str]]:
    if not BENCHMARKS.is_dir():
        pytest.skip(f"no benchmarks at {BENCHMARKS}")
    golds = sorted({g for frame in prepared_benchmarks().values() for g in frame["answer"]})
    grammar, rng = Grammar(SEED), random.Random(SEED)
    pairs = []
    for gold in golds:
        pairs += [(gold, grammar.answer(), "grammar") for _ in range(FREE_PER_GOLD)]
        pairs += [
            (gold, from_template(t, gold), "respelling")
            for t in rng.sample(RESPELLINGS, RESPELLINGS_PER_GOLD)
        ]
    return pairs


@pytest.fixture(scope="module")
def differential():
    real = real_pairs()
    corpus = real + grammar_pairs()
    source = {}
    for gold, answer, where in corpus:
        source.setdefault((gold, answer), where)
    pairs = list(source)
    graded = grade_pairs(pairs)
    accepted = graded.accepted()
    start = time.perf_counter()
    verdicts = external_verdicts(accepted, until="accept")
    seconds = time.perf_counter() - start
    disagreements = {
        pair: verdict
        for pair, verdict in verdicts.items()
        if verdict["justrl"] != "match" and verdict["math_verify"] != "match"
    }
    print(
        f"\ndifferential: {len(real)} real responses with a box, {len(corpus) - len(real)} grammar answers; "
        f"{len(pairs)} distinct pairs graded in {graded.seconds:.1f}s; ours accepts {len(accepted)}, "
        f"external graders on them in {seconds:.1f}s; both reject {len(disagreements)}"
    )
    return source, graded, disagreements


def adjudications() -> dict[tuple[str, str], dict]:
    rows = read_jsonl(ADJUDICATIONS)
    table = {(r["gold"], r["answer"]): r for r in rows}
    assert len(table) == len(rows), "duplicate (gold, answer) in the adjudications"
    return table


def test_every_disagreement_is_adjudicated(differential):
    _, _, disagreements = differential
    listed = adjudications()
    new = [f"  {g!r} vs {a!r}: {v}" for (g, a), v in disagreements.items() if (g, a) not in listed]
    assert not new, "ours accepts, both external graders reject, no adjudication:\n" + "\n".join(new)
    stale = set(listed) - set(disagreements)
    assert not stale, f"adjudicated pairs that no longer disagree: {sorted(stale)}"


def test_adjudications_are_reasoned(differential):
    source, _, _ = differential
    for pair, entry in adjudications().items():
        assert entry["reason"].strip(), pair
        assert entry["source"] == source[pair], pair


def test_every_comparison_is_decided(differential):
    _, graded, _ = differential
    statuses = {result.status for result in graded.results}
    unexpected = graded.with_status("error") + graded.with_status("timeout")
    assert statuses <= {"match", "mismatch", "no_answer"}, unexpected
