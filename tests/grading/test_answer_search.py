"""Universal answers found by search, not by list.

The universal-answer tests grade answers someone wrote down, and a list finds what
its author thought of: the default grader accepted ``2.(3)`` against 6, ``0.\\overline{3}``
against 0 and ``1.(G)`` against 870 of the 1,069 golds (all read as products), and
``c=c`` against ``\\text{(C)}``, with every list passing. Here a seeded grammar of the
notations models write (``answer_grammar.py``) makes ``COUNT`` answers, and each is
graded by the ``justeval`` grader against every distinct gold of the nine benchmarks
(plus answers built from each gold, ``TEST_TEMPLATES``, against that gold).

An accepted pair must be one whose equality is established without our grader: both
external graders accept it (mathruler's ``grade_answer``, i.e. JustRL's grader, and
math-verify, each in the worker pool under the deadline, without our extraction or
guard), or ``answer_search_allowlist.jsonl`` lists it with the reason it is equal
(the external graders miss some notations: ``\\frac{1}{3}`` is ``0.\\overline{3}``
for neither). An answer built from its gold by a template is not equal to it by
construction, so there only the allow-list counts: both external graders accept
``1.(\\frac{7}{2})`` against ``\\frac{7}{2}``, and ``m=m`` against ``m``. Only the
pairs ours accepts go to the slow external graders, so the search costs about one
batch of the default grader. A larger search (more answers, every template, other
seeds) is ``tests/benchmarks/answer_search.py``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from answer_grammar import TEST_TEMPLATES, answers, external_verdicts, from_template, grade_pairs, read_jsonl

from conftest import BENCHMARKS, prepared_benchmarks

COUNT = 200
SEED = 20240611
ALLOWLIST = Path(__file__).with_name("answer_search_allowlist.jsonl")


def allowlist() -> dict[tuple[str, str], str]:
    """(gold, answer) -> why they are equal. One line per answer: the golds it equals."""
    rows = read_jsonl(ALLOWLIST)
    assert len({r["answer"] for r in rows}) == len(rows), "an answer listed twice in the allow-list"
    return {(gold, r["answer"]): r["reason"] for r in rows for gold in r["golds"]}


def every_gold() -> list[str]:
    if not BENCHMARKS.is_dir():
        pytest.skip(f"no benchmarks at {BENCHMARKS}")
    return sorted({g for frame in prepared_benchmarks().values() for g in frame["answer"]})


@pytest.fixture(scope="module")
def search():
    golds = every_gold()
    free = answers(COUNT, SEED)
    built = [(g, from_template(t, g)) for t in TEST_TEMPLATES for g in golds]
    pairs = [(g, a) for a in free for g in golds] + built
    graded = grade_pairs(pairs)
    graded.built = set(built)
    start = time.perf_counter()
    verdicts = external_verdicts(graded.accepted())
    external_seconds = time.perf_counter() - start
    print(
        f"\nanswer search: {len(free)} answers x {len(golds)} golds + {len(TEST_TEMPLATES)} templates = "
        f"{len(pairs)} pairs graded in {graded.seconds:.1f}s ({graded.late} graded again after a timeout); "
        f"{len(verdicts)} accepted, external graders on them in {external_seconds:.1f}s"
    )
    return golds, free, graded, verdicts


def test_the_grammar_is_seeded_and_varied():
    first = answers(COUNT, SEED)
    assert first == answers(COUNT, SEED)
    assert len(set(first)) == COUNT
    assert first != answers(COUNT, SEED + 1)
    text = "\n".join(answers(1000, SEED))
    for notation in (r"\overline", r"\dot", ".(", r"\%", r"\circ", r"\frac", r"\sqrt", "!", r"\cup", r"\{",
                     "pmatrix", "=", r"\text{(", r"\infty", r"\cot 0", r"\le", r"\pm", "^{"):  # fmt: skip
        assert notation in text, notation


def test_no_answer_is_accepted_beyond_the_golds_it_equals(search):
    _, _, graded, verdicts = search
    allowed = allowlist()
    offenders: dict[str, list[str]] = defaultdict(list)
    for gold, answer in graded.accepted():
        if (gold, answer) in allowed:
            continue
        verdict = verdicts[(gold, answer)]
        if verdict["justrl"] == verdict["math_verify"] == "match" and (gold, answer) not in graded.built:
            continue  # (a template's answer is unequal by construction: the allow-list decides)
        externals = f"mathruler {verdict['justrl']}, math-verify {verdict['math_verify']}"
        offenders[answer].append(f"{gold!r} ({externals})")
    accepted = Counter(answer for _, answer in graded.accepted())
    lines = [
        f"  {answer!r}: accepted by {accepted[answer]} golds, shown equal to "
        f"{accepted[answer] - len(against)}; not: {', '.join(against[:6])}"
        for answer, against in sorted(offenders.items(), key=lambda item: -len(item[1]))
    ]
    assert not offenders, (
        f"{len(offenders)} answers accepted by golds they are not shown equal to (both external graders "
        f"reject or one does, and no allow-list entry):\n" + "\n".join(lines)
    )


def test_every_comparison_is_decided(search):
    """No comparison errs (a pole, ``\\cot 0``, raised inside the grader) or runs into the
    deadline twice (``(10^9)!`` went to sympy)."""
    _, _, graded, _ = search
    statuses = Counter(result.status for result in graded.results)
    assert set(statuses) <= {"match", "mismatch", "no_answer"}, (
        statuses,
        graded.with_status("error")[:10],
        graded.with_status("timeout")[:10],
    )


def test_the_allowlist_is_reasoned_and_needed():
    """Every entry says why the pair is equal, our grader accepts it, and the external
    graders do not both accept it (else the entry is not needed)."""
    allowed = allowlist()
    assert all(reason.strip() for reason in allowed.values())
    pairs = list(allowed)
    graded = grade_pairs(pairs)
    rejected = [pair for pair, result in zip(pairs, graded.results, strict=True) if not result.rule_correct]
    assert not rejected, f"allow-list entries our grader rejects: {rejected}"
    verdicts = external_verdicts(pairs, until=None)
    confirmed = [p for p, v in verdicts.items() if v["justrl"] == v["math_verify"] == "match"]
    assert not confirmed, f"allow-list entries both external graders accept: {confirmed}"
