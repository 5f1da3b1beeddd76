"""Overlap benchmark: a 17k-problem training set against the nine shared benchmarks.

    python tests/benchmarks/overlap_benchmark.py [--train 17000]

The training set is made of real problem words: each row is 60 words drawn at random from
the nine benchmarks' problems (their vocabulary and LaTeX, none of their sentences), and
100 rows are respaced copies of benchmark problems. Printed: seconds to compare (the
matcher only, in process, after the files are read), pairs found, planted copies found;
and, as the baseline measured in the same run, the exact all-pairs comparison on a 1,000-row
slice, scaled to the full set. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
NINE = ["AIME24", "AIME25", "AMC23", "BRUMO25", "CMIMC25", "HMMT25", "MATH-500", "Minerva", "Olympiad-Bench"]


def main() -> None:
    from justeval.sources.benchmarks import prepare
    from justeval.stages.overlap import jaccard, near_duplicates, shingles

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=17000)
    args = parser.parse_args()
    sets = {}
    for name in NINE:
        frame, _ = prepare(name, str(BENCHMARKS / name / "test.parquet"), None, None)
        sets[name] = dict(zip(frame["problem_id"], frame["problem"], strict=True))
    rng = random.Random(0)
    words = [w for items in sets.values() for t in items.values() for w in t.split()]
    problems = [(b, p) for b, items in sets.items() for p in items]
    planted = rng.sample(problems, 100)
    train = {str(i): " ".join(rng.choices(words, k=60)) for i in range(args.train - len(planted))}
    for b, p in planted:
        train[f"copy {b} {p}"] = re.sub(r" ", "  ", sets[b][p])
    start = time.monotonic()
    pairs = near_duplicates({**sets, "train": train}, ngram=3, threshold=0.5, num_perm=128, queries=NINE)
    seconds = time.monotonic() - start
    hits = {
        (r.benchmark, r.problem_id)
        for r in pairs.itertuples()
        if r.other_id == f"copy {r.benchmark} {r.problem_id}"
    }
    print(f"train rows {len(train)}, benchmark problems {sum(map(len, sets.values()))}")
    print(f"LSH + exact score: {seconds:.2f} s, {len(pairs)} pairs, planted copies found {len(hits)}/100")
    # baseline: exact Jaccard of every (benchmark problem, training row) pair, on a slice
    grams = {key: shingles(text, 3) for key, text in list(train.items())[:1000]}
    bench = [shingles(t, 3) for items in sets.values() for t in items.values()]
    start = time.monotonic()
    for g in bench:
        for h in grams.values():
            jaccard(g, h)
    exact = (time.monotonic() - start) * len(train) / len(grams)
    print(f"exact all pairs (scaled from 1,000 rows): {exact:.0f} s; ratio LSH / exact {seconds / exact:.3f}")


if __name__ == "__main__":
    main()
