"""Engine-loads benchmark: the protocol's shape on a CPU, old shard size against new.

    python tests/benchmarks/engine_loads_benchmark.py [--aime 6] [--math 24] [--max-tokens 64]

The real Snakefile runs the same scaled-down protocol twice, each in a fresh
folder, as whole `snakemake --cores 2` processes: AIME24 (a subset, its real
N = 32) and MATH-500 (a subset, its real N = 4), a tiny random policy (it rarely
stops, so every request runs to max_tokens) and a tiny random verifier that
judges every rule-grader rejection. The baseline uses the previous default
`shard_size: 4` (AIME24 in 8 generate jobs), the new default `shard_size: 32`
(one job per benchmark). Printed for both, from the run's own cost table
(`results/tables/cost.csv`): engine loads, engine seconds (load and generation),
completion tokens per second of generation, the share of engine steps with fewer
than half the job's peak requests in flight, and the whole run's wall time;
then new / old ratios. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"


def config(policy: Path, verifier: Path, args, shard_size: int) -> dict:
    return {
        "models": [{"name": "tiny-policy", "path": str(policy)}],
        "verifiers": [{"name": "tiny-verifier", "path": str(verifier)}],
        "benchmark_source": str(BENCHMARKS),
        "benchmarks": [
            {"name": "AIME24", "n_samples": 32, "limit": args.aime},
            {"name": "MATH-500", "n_samples": 4, "limit": args.math},
        ],
        "generation": {"max_tokens": args.max_tokens, "shard_size": shard_size, "max_model_len": 2048},
        "model_grade": {"verifier": "tiny-verifier", "max_tokens": 4, "parse": "exact"},
        "grading_variants": [{"name": "main"}],
    }


def run(workdir: Path, cfg: dict) -> dict:
    workdir.mkdir(parents=True)
    (workdir / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    (workdir / "bench.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2"]
    cmd += ["--configfile", "bench.yaml", "--quiet", "rules"]
    start = time.monotonic()
    subprocess.run(cmd, cwd=workdir, env=env, check=True, capture_output=True, text=True)
    wall = time.monotonic() - start
    cost = pd.read_csv(workdir / "results" / "tables" / "cost.csv")
    total = cost[cost.model == "all"].set_index("stage")
    gen = total.loc["generate"]
    return {
        "engine loads": int(total["engine_loads"].sum()),
        "generate loads": int(gen["engine_loads"]),
        "model_grade loads": int(total.loc["model_grade", "engine_loads"]),
        "engine seconds": float((total["load_seconds"] + total["generation_seconds"]).sum()),
        "load seconds": float(total["load_seconds"].sum()),
        "generate tokens/s": float(gen["tokens_per_second"]),
        "steps below half peak (generate)": float(gen["share_of_steps_below_half_peak"]),
        "wall seconds": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aime", type=int, default=6, help="AIME24 problems (N = 32)")
    parser.add_argument("--math", type=int, default=24, help="MATH-500 problems (N = 4)")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    from justeval.engine.tiny import build_tiny_model
    from justeval.sources.benchmarks import problem_texts

    texts = problem_texts(BENCHMARKS / "AIME24" / "test.parquet") + problem_texts(
        BENCHMARKS / "MATH-500" / "test.parquet"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        policy = build_tiny_model(tmp / "policy", "random", texts, seed=0)
        verifier = build_tiny_model(tmp / "verifier", "random", texts, seed=1)
        results = {}
        for label, shard_size in (("old: shard_size 4", 4), ("new: shard_size 32", 32)):
            results[label] = run(tmp / label.split(":")[0], config(policy, verifier, args, shard_size))
            print(f"{label}: {results[label]}", flush=True)
    old, new = results.values()
    print(
        f"\nAIME24 {args.aime} problems x 32, MATH-500 {args.math} problems x 4, max_tokens {args.max_tokens}"
    )
    print(f"{'':34} {'old (4)':>10} {'new (32)':>10} {'new/old':>8}")
    for key in old:
        ratio = new[key] / old[key] if old[key] else float("nan")
        print(f"{key:34} {old[key]:10.2f} {new[key]:10.2f} {ratio:8.2f}")


if __name__ == "__main__":
    main()
