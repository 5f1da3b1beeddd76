"""Results page benchmark: a run of the published size, its page built and opened in
headless Chromium.

    python tests/benchmarks/results_page_benchmark.py [--out /tmp/page-bench] [--loads 3]

The run is synthetic in its verdicts and real in its text: 2 models x 9 benchmarks at the
published N (5 benchmarks of 30 problems x 32 samples, 3 of about 500 problems x 4 samples,
and a ninth of 30 x 32), 2 x (6 x 30 x 32 + 3 x 500 x 4) = 23,520 samples. Problems are the
shared benchmarks' own (AIME24 and AIME25 stand in for the 30-problem ones, MATH-500 for
the 500-problem ones); responses are the 1,572 real long chain-of-thought responses of
../shared/real-outputs/saturn-r1-distill, drawn at random (mean length ~15,000 characters,
as R1-style models write), so the math and the page's size are realistic. About 40 % of the
samples are graded correct.

Printed, each as a whole process where it says so:

* the wall time of every `python -m justeval problem-view` (one per (model, benchmark),
  as the rule runs it) and of `python -m justeval results-page`;
* the size of results/index.html, of each view's index.html, of one problem's file, and
  of all the views together;
* Chromium's load time (navigation start to the load event, median of --loads) of
  index.html, of the largest view (a 500-problem benchmark) and of opening one problem of
  32 samples (click to its samples listed), and, as the baseline in the same browser, of
  an empty page.

A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "tests"))

from justeval.io.parquet import write_parquet  # noqa: E402
from justeval.io.schemas import BENCHMARK, GENERATIONS, VERDICTS  # noqa: E402
from justeval.sources.benchmarks import prepare  # noqa: E402

BENCHMARKS = {  # name -> (shared benchmark whose problems it uses, N)
    "AIME24": ("AIME24", 32), "AIME25": ("AIME25", 32), "AMC23": ("AIME24", 32), "BRUMO25": ("AIME25", 32),
    "CMIMC25": ("AIME24", 32), "HMMT25": ("AIME25", 32),
    "MATH-500": ("MATH-500", 4), "Minerva": ("MATH-500", 4), "Olympiad-Bench": ("MATH-500", 4),
}  # fmt: skip
MODELS = ["justrl-deepscaler-1.5b", "justrl-nemotron-1.5b"]


def responses() -> list[str]:
    out = []
    for path in sorted((SHARED / "real-outputs" / "saturn-r1-distill").glob("*.jsonl")):
        out += [json.loads(line)["response"] for line in path.open()]
    return out


def build_run(out: Path) -> list[tuple[str, str]]:
    rng = random.Random(0)
    texts = responses()
    pairs = []
    for bench, (source, n) in BENCHMARKS.items():
        frame, _ = prepare(source, str(SHARED / "benchmarks" / source / "test.parquet"), None, None)
        frame = frame.assign(problem_id=[f"{bench}-{i}" for i in range(len(frame))])
        write_parquet(frame, out / "data" / f"{bench}.parquet", BENCHMARK, {"benchmark": bench})
        for model in MODELS:
            rows = []
            for pid in frame["problem_id"]:
                p_right = rng.random()
                for idx in range(n):
                    text = rng.choice(texts)
                    right = rng.random() < p_right
                    rows.append(
                        {
                            "problem_id": pid, "sample_idx": idx, "seed": rng.randrange(2**31),
                            "response": text,
                            "prompt_tokens": 200, "completion_tokens": len(text) // 4,
                            "finish_reason": "stop" if len(text) < 40000 else "length", "model": model,
                            "settings_hash": "bench", "extracted_answer": str(rng.randrange(1000)),
                            "rule_correct": right, "status": "match" if right else "mismatch",
                            "layer": "number", "sent_to_verifier": not right,
                            "verifier_verdict": None if right else "B", "verifier_output": None,
                            "input_truncated": False, "correct": right, "response_chars": len(text),
                        }
                    )  # fmt: skip
            frame_rows = pd.DataFrame(rows)
            base = out / "results" / model / bench
            write_parquet(frame_rows, base / "generations" / "shard-0.parquet", GENERATIONS, {"model": model})
            write_parquet(frame_rows, base / "main" / "verdicts.parquet", VERDICTS, {"model": model})
            pairs.append((model, bench))
    accuracy = pd.DataFrame({"model": MODELS})
    for bench, (_, n) in BENCHMARKS.items():
        accuracy[f"{bench} (@{n})"] = [40.0 + i for i in range(len(MODELS))]
    accuracy["Avg"] = accuracy.iloc[:, 1:].mean(axis=1)
    (out / "results" / "tables").mkdir(parents=True, exist_ok=True)
    accuracy.to_csv(out / "results" / "tables" / "accuracy.csv", index=False)
    return pairs


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    env = {"PYTHONPATH": str(ROOT / "workflow"), "PATH": "/usr/bin:/bin"}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    return time.perf_counter() - start


def load_ms(page, url: str) -> float:
    page.goto(url)
    return page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/page-bench")
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    out = Path(args.out)
    start = time.perf_counter()
    pairs = build_run(out)
    took = time.perf_counter() - start
    print(f"synthetic run: {len(pairs)} (model, benchmark) pairs written in {took:.0f} s")
    results = out / "results"
    view_seconds = []
    for model, bench in pairs:
        settings = json.dumps({"model": model, "benchmark": bench, "variant": "main", "version": "bench"})
        pair = results / model / bench
        view_seconds.append(
            timed(
                [sys.executable, "-m", "justeval", "problem-view",
                 "--benchmark", str(out / "data" / f"{bench}.parquet"),
                 "--generations", str(pair / "generations" / "shard-0.parquet"),
                 "--verdicts", str(pair / "main" / "verdicts.parquet"), "--settings", settings,
                 "--output", str(results / "page" / model / bench)]
            )
        )  # fmt: skip
    layout = {"models": {m: {} for m in MODELS}, "benchmarks": {b: n for b, (_, n) in BENCHMARKS.items()}}
    layout |= {"variants": ["main"], "order": {"models": MODELS, "benchmarks": list(BENCHMARKS)}}
    page_seconds = timed(
        [sys.executable, "-m", "justeval", "results-page",
         "--accuracy", str(results / "tables" / "accuracy.csv"),
         "--views", *(str(results / "page" / m / b) for m, b in pairs), "--settings", json.dumps(layout),
         "--output", str(results / "index.html"), "--headline", str(results / "page" / "headline.html")]
    )  # fmt: skip
    samples = sum(n * (30 if n == 32 else 500) for _, n in BENCHMARKS.values()) * len(MODELS)
    print(
        f"problem-view, whole process, per pair: median {statistics.median(view_seconds):.1f} s, "
        f"max {max(view_seconds):.1f} s, all {sum(view_seconds):.0f} s ({samples:,} samples)"
    )
    print(f"results-page, whole process: {page_seconds:.1f} s")
    views = results / "page"
    total = sum(p.stat().st_size for p in views.rglob("*") if p.is_file())
    big = views / MODELS[0] / "MATH-500"
    small = views / MODELS[0] / "AIME24"
    print(f"index.html: {(results / 'index.html').stat().st_size / 1e3:.0f} kB")
    print(f"a 500-problem view's index.html: {(big / 'index.html').stat().st_size / 1e3:.0f} kB")
    print(f"a 30-problem view's index.html: {(small / 'index.html').stat().st_size / 1e3:.0f} kB")
    one = sorted((small / "p").iterdir())
    one_mb = statistics.median(p.stat().st_size for p in one) / 1e6
    print(f"one problem of 32 samples: median {one_mb:.2f} MB")
    print(f"all views together: {total / 1e6:.0f} MB in {sum(1 for _ in views.rglob('*.js'))} problem files")

    from browser import browser

    with browser() as (page, requests):
        empty = out / "empty.html"
        empty.write_text("<!DOCTYPE html><title>empty</title>")
        rows = {"empty page (baseline)": empty.as_uri(), "index.html": (results / "index.html").as_uri()}
        rows["500-problem view"] = (big / "index.html").as_uri()
        for name, url in rows.items():
            times = [load_ms(page, url) for _ in range(args.loads)]
            print(f"Chromium load, {name}: median {statistics.median(times):.0f} ms (of {args.loads})")
        opened = []
        for i in range(args.loads):
            page.goto((small / "index.html").as_uri())
            start = time.perf_counter()
            page.click(f'tr.problem[data-index="{i}"]')
            page.wait_for_function("document.querySelectorAll('#detail details.sample').length == 32")
            opened.append(1000 * (time.perf_counter() - start))
        print(f"Chromium, one problem opened (32 samples listed): median {statistics.median(opened):.0f} ms")
        start = time.perf_counter()
        page.eval_on_selector_all("#detail details.sample", "ds => ds.forEach(d => { d.open = true; })")
        page.wait_for_function("document.querySelectorAll('#detail .response').length == 32")
        took = 1000 * (time.perf_counter() - start)
        print(f"Chromium, its 32 responses unfolded (math rendered): {took:.0f} ms")
    print(f"requests that left the files: {[u for u in requests if not u.startswith('file://')]}")


if __name__ == "__main__":
    main()
