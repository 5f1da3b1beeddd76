"""Dry-run benchmark: how long `snakemake --dry-run` takes, as whole processes.

    python tests/benchmarks/dry_run_benchmark.py [--repeats 5] [--checkpoints 20]

Three workloads, each in a fresh folder, each timed `--repeats` times (min and
median printed):

- ``default``: the default protocol (config.yaml: 2 models x 9 benchmarks);
- ``sweep``: the default benchmarks for a sweep of ``--checkpoints`` checkpoint
  folders (one sweep entry; the folders hold a config.json and a small weights
  file, so hashing the weights costs nothing here);
- ``floor``: Snakemake's own cost for as many jobs: a Snakefile of one trivial
  rule with that many outputs, in the same virtual environment (the same
  plugins load), measured in the same run.

Then each workload against its floor (ratio and the difference, which is what
the pipeline's own code costs). Targets (issue 14): default < 2 s, 20-checkpoint
sweep < 5 s. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
TARGETS = {"default": 2.0, "sweep": 5.0}


def timed(cmd: list[str], cwd: Path, repeats: int) -> tuple[list[float], str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    times, out = [], ""
    for _ in range(repeats):
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.monotonic() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
        out = proc.stdout + proc.stderr
    return times, out


def jobs_of(output: str) -> int:
    match = re.search(r"^total\s+(\d+)$", output, re.M)
    return int(match.group(1)) if match else 0


def dry_run(workdir: Path, configfile: Path | None, repeats: int) -> tuple[list[float], int]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--dry-run", "--cores", "1"]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    times, out = timed(cmd, workdir, repeats)
    return times, jobs_of(out)


def floor(workdir: Path, jobs: int, repeats: int) -> list[float]:
    """Snakemake alone: one rule, `jobs - 1` outputs and `all`."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(
        f"rule all:\n    input: expand('out/{{i}}.txt', i=range({jobs - 1}))\n\n"
        "rule one:\n    output: 'out/{i}.txt'\n    shell: 'touch {output}'\n"
    )
    cmd = [sys.executable, "-m", "snakemake", "--dry-run", "--cores", "1"]
    times, out = timed(cmd, workdir, repeats)
    assert jobs_of(out) == jobs, out[-2000:]
    return times


def sweep_config(root: Path, checkpoints: int) -> Path:
    run = root / "ckpt"
    for k in range(checkpoints):
        folder = run / f"global_step_{100 * (k + 1)}" / "actor" / "huggingface"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"model_type": "qwen2"}')
        (folder / "model.safetensors").write_bytes(os.urandom(4096))
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["models"] = [
        {"name": "run7", "sweep": {"glob": str(run / "global_step_*" / "actor" / "huggingface")}}
    ]
    path = root / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoints", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "default").mkdir()
        (tmp / "default" / "config.yaml").write_text((ROOT / "config.yaml").read_text())
        times, jobs = dry_run(tmp / "default", None, args.repeats)
        rows.append(("default", jobs, times, floor(tmp / "floor-default", jobs, args.repeats)))
        (tmp / "sweep").mkdir()
        (tmp / "sweep" / "config.yaml").write_text((ROOT / "config.yaml").read_text())
        configfile = sweep_config(tmp / "sweep", args.checkpoints)
        times, jobs = dry_run(tmp / "sweep", configfile, args.repeats)
        rows.append(
            (
                f"sweep ({args.checkpoints} checkpoints)",
                jobs,
                times,
                floor(tmp / "floor-sweep", jobs, args.repeats),
            )
        )
    print(
        f"{'workload':<26} {'jobs':>5} {'min s':>7} {'median s':>9} {'floor s':>8} {'ratio':>6} "
        f"{'ours s':>7} {'target':>7}"
    )
    for name, jobs, times, base in rows:
        med, fmed = statistics.median(times), statistics.median(base)
        target = TARGETS["default" if name == "default" else "sweep"]
        print(
            f"{name:<26} {jobs:>5} {min(times):>7.2f} {med:>9.2f} {fmed:>8.2f} {med / fmed:>6.2f} "
            f"{med - fmed:>7.2f} {'< ' + str(target) if med < target else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
