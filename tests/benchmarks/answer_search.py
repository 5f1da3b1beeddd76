"""A larger search for universal answers than the test's (tests/grading/test_answer_search.py).

    python tests/benchmarks/answer_search.py [--count 1000] [--seed 7] [--jobs N] [--templates all|test|none]

Draws ``--count`` answers from the seeded grammar of tests/grading/answer_grammar.py
and grades each against every distinct gold of the nine benchmarks in
../shared/benchmarks with the ``justeval`` grader, plus every template answer built
from a gold (``1.(G)``, ``G=G``, ``(G)!``, ...) against that gold. Every pair it
accepts goes to the external graders (mathruler's ``grade_answer``, then math-verify);
a pair neither confirmed by both (a template's pair never is: it is unequal by
construction) nor listed in tests/grading/answer_search_allowlist.jsonl is printed,
grouped by answer, for a person to judge: a false accept (fix the grader)
or a true equality the external graders miss (add it to the allow-list, with the
reason). Also printed: comparisons that erred or timed out, and what each step took.
This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "tests" / "grading"))

from answer_grammar import (  # noqa: E402
    TEMPLATES,
    TEST_TEMPLATES,
    answers,
    external_verdicts,
    from_template,
    grade_pairs,
    read_jsonl,
)

from justeval.sources.benchmarks import prepare  # noqa: E402

BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
NAMES = ["AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "BRUMO25", "CMIMC25", "HMMT25"]
ALLOWLIST = ROOT / "tests" / "grading" / "answer_search_allowlist.jsonl"


def every_gold() -> list[str]:
    golds = set()
    for name in NAMES:
        frame, _ = prepare(name, str(BENCHMARKS / name / "test.parquet"), None, None)
        golds.update(frame["answer"])
    return sorted(golds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="answers drawn from the grammar")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--templates", choices=("all", "test", "none"), default="all")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()

    golds = every_gold()
    templates = {"all": TEMPLATES, "test": TEST_TEMPLATES, "none": []}[args.templates]
    start = time.perf_counter()
    free = answers(args.count, args.seed)
    built = {(g, from_template(t, g)) for t in templates for g in golds}
    pairs = [(g, a) for a in free for g in golds] + sorted(built)
    made = time.perf_counter() - start
    print(f"{len(free)} answers (seed {args.seed}) x {len(golds)} golds + {len(templates)} templates")
    print(f"  {len(pairs)} pairs, made in {made:.1f}s")

    graded = grade_pairs(pairs, jobs=args.jobs, timeout=args.timeout)
    statuses = Counter(r.status for r in graded.results)
    layers = Counter(r.layer for r in graded.results)
    rate = len(pairs) / graded.seconds
    print(f"justeval: {graded.seconds:.1f}s ({rate:.0f} pairs/s, {args.jobs} workers)")
    print(f"  statuses {dict(statuses)}")
    print(f"  {graded.late} graded again after a timeout (deadline 60 s)")
    print(f"  decided by layer: {dict(layers.most_common())}")

    accepted = graded.accepted()
    start = time.perf_counter()
    verdicts = external_verdicts(accepted, jobs=args.jobs, timeout=args.timeout)
    print(f"external graders on the {len(accepted)} accepted pairs: {time.perf_counter() - start:.1f}s")

    allowed = {(g, r["answer"]) for r in read_jsonl(ALLOWLIST) for g in r["golds"]}
    confirmed = allow_listed = 0
    unconfirmed: dict[str, list[str]] = defaultdict(list)
    for gold, answer in accepted:
        verdict = verdicts[(gold, answer)]
        if (gold, answer) in allowed:
            allow_listed += 1
        elif verdict["justrl"] == verdict["math_verify"] == "match" and (gold, answer) not in built:
            confirmed += 1  # (a template's answer is unequal by construction: only the allow-list counts)
        else:
            externals = f"mathruler {verdict['justrl']}, math-verify {verdict['math_verify']}"
            unconfirmed[answer].append(f"{gold!r} ({externals})")
    open_pairs = sum(map(len, unconfirmed.values()))
    print(f"accepted: {confirmed} confirmed by both external graders, {allow_listed} on the allow-list")
    print(f"  {open_pairs} not established ({len(unconfirmed)} answers):")
    for answer, against in sorted(unconfirmed.items(), key=lambda item: -len(item[1])):
        print(f"  {answer!r}: accepted by {len(against)} golds not shown equal: {'; '.join(against[:5])}")
    for status in ("error", "timeout"):
        for gold, answer in graded.with_status(status)[:20]:
            print(f"  {status}: gold {gold[:60]!r}, answer {answer[:60]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
