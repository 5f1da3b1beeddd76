"""Overlap benchmark: a 17,000-problem training set against the nine shared benchmarks
(1,646 problems), as a whole process, against the exact all-pairs computation; and, with
``--rows``, the time and peak memory of the whole process on large training sets.

    python tests/benchmarks/overlap_benchmark.py [--train 17000] [--runs 1]
    python tests/benchmarks/overlap_benchmark.py --rows 1000000

The training set is real: LIMR's 8,523 problems (with their answers), template siblings
of LIMR problems (every number + 1, no answer) up to the size asked for, and 100 copies of
benchmark problems (respaced); written as verl writes its Parquet files (a chat with a
system turn, the problem and a verl instruction suffix in the user turn; the answer in
reward_model.ground_truth). Printed:

* the wall time of ``python -m justeval overlap`` (a fresh process: imports, reading,
  normalising, LSH, classifying with the rule grader, writing), its pairs and the planted
  copies it found;
* as the baseline, measured in this run on the same normalised n-gram sets: the exact
  Jaccard score of every (benchmark problem, other problem) pair in Python (timed on a
  slice of the training set and scaled to all of it, as said) and the exact all-pairs
  computation with an inverted index in numpy (all of it);
* the LSH candidate recall: the share of the pairs the exact computation finds at the
  threshold that LSH proposes.

With ``--rows N`` it measures memory instead: a training set of N / 10 rows and one of N
rows (LIMR's 8,523 problems with their answers, then LIMR's problems again and again, each
time with every number shifted by a random amount and no answer, and 100 copies of
benchmark problems (respaced) at random rows; verl's layout as above, written 100,000 rows
(one row group) at a time), each run as a whole process, printing its seconds and its peak
resident memory (the child's own ``ru_maxrss``, from ``os.wait4``), to show whether memory
grows with the set.

A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))
SHARED = ROOT.parent / "shared"
NINE = ["AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "BRUMO25", "CMIMC25", "HMMT25"]
SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."
PLANTED = 100
SLICE = 1000  # training rows the Python all-pairs baseline is timed on
WRITE_ROWS = 100_000  # rows of a large training set written (one row group) at a time
SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def build(folder: Path, size: int) -> tuple[list[str], Path, dict[int, tuple[str, str]]]:
    """The nine prepared benchmarks and the training set, written to ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths, problems = write_benchmarks(folder)
    rng = random.Random(0)
    limr = json.loads((SHARED / "training-sets" / "limr-math8k" / "math.8k.json").read_text())
    rows = [(t["prompt"], t["answer"], None) for t in limr][: size - PLANTED]
    for t in rng.choices(limr, k=max(0, size - PLANTED - len(rows))):
        rows.append((re.sub(r"\d+", lambda m: str(int(m.group()) + 1), t["prompt"]), None, None))
    for name, pid, text, answer in rng.sample(problems, PLANTED):
        rows.append((re.sub(" ", "  ", text), answer, (name, pid)))
    rng.shuffle(rows)
    table = pa.table(
        {
            "prompt": [[SYSTEM, {"role": "user", "content": text + SUFFIX}] for text, _, _ in rows],
            "reward_model": [{"ground_truth": answer} for _, answer, _ in rows],
        }
    )
    train = folder / "train.parquet"
    pq.write_table(table, train)
    planted = {i: source for i, (_, _, source) in enumerate(rows) if source}
    return paths, train, planted


def write_benchmarks(folder: Path) -> tuple[list[str], list[tuple[str, str, str, str]]]:
    """The nine prepared benchmarks written to ``folder``: their paths, and their problems
    as (benchmark, problem id, text, answer)."""
    from justeval.io.parquet import write_parquet
    from justeval.io.schemas import BENCHMARK
    from justeval.sources.benchmarks import prepare

    paths, problems = [], []
    for name in NINE:
        frame, meta = prepare(name, str(SHARED / "benchmarks" / name / "test.parquet"), None, None)
        path = folder / f"{name}.parquet"
        write_parquet(frame, path, BENCHMARK, meta)
        paths.append(str(path))
        problems += [(name, r.problem_id, r.problem, r.answer) for r in frame.itertuples()]
    return paths, problems


def shifted(text: str, shift: int) -> str:
    """``text`` with every number shifted by ``shift``."""
    return re.sub(r"\d+", lambda m: str(int(m.group()) + shift), text)


def write_large(path: Path, size: int, problems: list, seed: int = 0) -> dict[int, tuple[str, str]]:
    """A training set of ``size`` rows in verl's layout, written :data:`WRITE_ROWS` rows at a
    time (the writer never holds it whole): LIMR's problems with their answers, then LIMR's
    problems again and again with every number shifted by a random amount (no answer), and
    :data:`PLANTED` benchmark problems (respaced) at random rows. Returns the planted rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    limr = json.loads((SHARED / "training-sets" / "limr-math8k" / "math.8k.json").read_text())
    planted = dict(zip(sorted(rng.sample(range(size), PLANTED)), rng.sample(problems, PLANTED), strict=True))
    writer = None
    try:
        for start in range(0, size, WRITE_ROWS):
            texts, answers = [], []
            for i in range(start, min(size, start + WRITE_ROWS)):
                if i in planted:
                    _, _, text, answer = planted[i]
                    text = re.sub(" ", "  ", text)
                elif i < len(limr):
                    text, answer = limr[i]["prompt"], limr[i]["answer"]
                else:
                    text, answer = shifted(limr[i % len(limr)]["prompt"], rng.randint(1, 99)), None
                texts.append(text)
                answers.append(answer)
            table = pa.table(
                {
                    "prompt": [[SYSTEM, {"role": "user", "content": t + SUFFIX}] for t in texts],
                    "reward_model": [{"ground_truth": a} for a in answers],
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return {i: (name, pid) for i, (name, pid, _, _) in planted.items()}


def _config_settings() -> dict:
    """The overlap settings the pipeline passes by default (the config schema's)."""
    from dataclasses import asdict

    from justeval.analysis.contamination import Settings

    return asdict(Settings.defaults())


def whole_process(paths: list[str], train: Path, out: Path) -> float:
    settings = {
        "train": [
            {
                "name": "train",
                "path": str(train),
                "column": "prompt",
                "answer_column": "reward_model.ground_truth",
            }
        ],
        **_config_settings(),
    }
    outputs = {"--markdown": "overlap.md", "--csv": "overlap.csv", "--summary": "overlap_summary.csv"}
    command = [
        sys.executable,
        "-m",
        "justeval",
        "overlap",
        "--benchmarks",
        *paths,
        "--settings",
        json.dumps(settings),
    ]
    for flag, name in {**outputs, "--log": "overlap.log"}.items():
        command += [flag, str(out / name)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    start = time.monotonic()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    PEAK_KIB.append(usage.ru_maxrss)  # this child's own peak resident memory (KiB on Linux)
    return seconds


PEAK_KIB: list[int] = []  # the peak resident memory of each whole-process run, in order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=17000, help="training problems")
    parser.add_argument("--runs", type=int, default=1, help="whole-process runs (the fastest is printed)")
    parser.add_argument(
        "--rows", type=int, help="measure time and peak memory on N / 10 and N training rows instead"
    )
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")  # fmt: skip
    if args.rows:
        memory(args.rows)
        return
    with tempfile.TemporaryDirectory(prefix="overlap-benchmark-") as tmp:
        folder = Path(tmp)
        paths, train, planted = build(folder, args.train)
        seconds = min(whole_process(paths, train, folder) for _ in range(args.runs))
        with open(folder / "overlap.csv", newline="") as fh:
            pairs = list(csv.DictReader(fh))
        copies = [p for p in pairs if p["label"] == "copy"]
        found = {
            int(p["other_row"])
            for p in copies
            if planted.get(int(p["other_row"])) == (p["benchmark"], p["problem_id"])
        }
        print(f"training problems {args.train:,}, benchmark problems 1,646")
        print(
            f"whole process (python -m justeval overlap): {seconds:.1f} s; {len(pairs)} pairs, "
            f"{len(copies)} copies, {len(pairs) - len(copies)} look-alikes; planted copies found "
            f"{len(found)}/{len(planted)}"
        )
        baseline(train)


def memory(rows: int) -> None:
    """Seconds and peak resident memory of the whole process on ``rows`` / 10 and ``rows``
    training rows (:func:`write_large`), one set at a time (each deleted after its run)."""
    with tempfile.TemporaryDirectory(prefix="overlap-memory-") as tmp:
        folder = Path(tmp)
        paths, problems = write_benchmarks(folder)
        for size in (rows // 10, rows):
            train = folder / "train.parquet"
            start = time.monotonic()
            planted = write_large(train, size, problems)
            written = time.monotonic() - start
            megabytes = train.stat().st_size / 1e6
            seconds = whole_process(paths, train, folder)
            with open(folder / "overlap.csv", newline="") as fh:
                pairs = list(csv.DictReader(fh))
            copies = [p for p in pairs if p["label"] == "copy"]
            found = {
                int(p["other_row"])
                for p in copies
                if p["other_kind"] == "training"
                and planted.get(int(p["other_row"])) == (p["benchmark"], p["problem_id"])
            }
            print(
                f"{size:,} training rows ({megabytes:.0f} MB of Parquet, written in {written:.0f} s): whole "
                f"process {seconds:.1f} s, peak RSS {PEAK_KIB[-1] / 1024:.0f} MiB; {len(pairs):,} pairs, "
                f"{len(copies):,} copies; planted copies found {len(found)}/{len(planted)}",
                flush=True,
            )
            train.unlink()


def baseline(train: Path) -> None:
    """The exact all-pairs computation on the same n-gram sets, and the LSH's recall."""
    from justeval.analysis import contamination as C
    from justeval.sources.benchmarks import prepare
    from justeval.sources.training_sets import read_training_set

    settings = C.Settings.defaults()
    bench = {}
    for name in NINE:
        frame, _ = prepare(name, str(SHARED / "benchmarks" / name / "test.parquet"), None, None)
        bench[name] = [C.Item(r.problem_id, r.problem, r.answer) for r in frame.itertuples()]
    rows = read_training_set(train, "prompt", "reward_model.ground_truth")
    items = {"train": [C.Item(r.id, r.text, r.answer, r.row) for r in rows]}
    prepared = C.prepare({**bench, **items}, settings, learn_boilerplate=items)
    flat = [(name, p.grams) for name, problems in prepared.items() for p in problems]
    queries = [i for i, (name, _) in enumerate(flat) if name != "train"]
    train_sets = [g for name, g in flat if name == "train"]
    query_sets = [flat[i][1] for i in queries]

    start = time.monotonic()
    for q in query_sets:
        for t in train_sets[:SLICE]:
            C.jaccard(q, t)
    per_row = (time.monotonic() - start) / SLICE
    python_all = per_row * len(flat)  # every benchmark problem against every other problem
    print(
        f"exact all pairs, Python set Jaccard: {python_all:.0f} s (timed on {SLICE:,} training rows x 1,646 "
        f"problems, scaled to {len(flat):,} rows)"
    )
    start = time.monotonic()
    exact = C.exact_pairs(query_sets, [g for _, g in flat], settings.threshold)
    numpy_all = time.monotonic() - start
    exact = {(q, j) for q, j in exact if flat[queries[q]][0] != flat[j][0]}
    print(f"exact all pairs, inverted index + numpy: {numpy_all:.1f} s (all of it)")
    start = time.monotonic()
    lsh = C.candidates(
        query_sets, [g for _, g in flat], settings.threshold, settings.num_perm, settings.lsh_recall
    )
    lsh_seconds = time.monotonic() - start
    bands, rows_per_band = C.lsh_params(settings.threshold, settings.num_perm, settings.lsh_recall)
    print(
        f"LSH ({settings.num_perm} permutations, {bands} bands x {rows_per_band} rows): {lsh_seconds:.1f} s, "
        f"{len(lsh):,} candidates; candidate recall {len(exact & lsh)}/{len(exact)} = "
        f"{100 * len(exact & lsh) / max(1, len(exact)):.2f} % of the exact pairs at Jaccard "
        f">= {settings.threshold}"
    )


if __name__ == "__main__":
    main()
