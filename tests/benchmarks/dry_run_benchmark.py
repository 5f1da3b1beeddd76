"""Dry-run benchmark: how long `snakemake --dry-run` takes, as whole processes.

    python tests/benchmarks/dry_run_benchmark.py [--repeats 5] [--checkpoints 20]

Two workloads, each in a fresh folder, against Snakemake's floor (min and
median printed). Every command runs once first (to count its jobs and fill the
caches a second call finds), then all of them `--repeats` times, taking turns:

- ``default``: the default protocol (config.yaml: 2 models x 9 benchmarks);
- ``sweep``: the default benchmarks for a sweep of ``--checkpoints`` checkpoint
  folders (one sweep entry; the folders hold a config.json and a 4 KB weights
  file written an hour ago, so hashing the weights costs nothing here);
- ``floor``: Snakemake's own cost for as many jobs: a Snakefile of one trivial
  rule with that many outputs, in the same virtual environment (the same
  plugins load), measured in the same run;
- ``startup``: the same with one job, which is what any Snakemake call costs here.

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

import numpy as np
import yaml
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
TARGETS = {"default": 2.0, "sweep": 5.0}


def run_once(cmd: list[str], cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return elapsed, proc.stdout + proc.stderr


def interleaved(commands: dict[str, tuple[list[str], Path]], repeats: int) -> dict[str, list[float]]:
    """Each command `repeats` times, taking turns, so that a machine that slows down
    or speeds up during the run weighs on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (cmd, cwd) in commands.items():
            times[name].append(run_once(cmd, cwd)[0])
    return times


def jobs_of(output: str) -> int:
    match = re.search(r"^total\s+(\d+)$", output, re.M)
    return int(match.group(1)) if match else 0


# Snakemake imports every executor plugin installed at each start; the SLURM one
# imports pandas. This launcher hides it, as an install without the `slurm` extra.
WITHOUT_SLURM_PLUGIN = (
    "import pkgutil, runpy, sys; _all = pkgutil.iter_modules; "
    "pkgutil.iter_modules = lambda *a, **k: "
    "(m for m in _all(*a, **k) if not m.name.startswith('snakemake_executor_plugin_slurm')); "
    "sys.argv = ['snakemake', *sys.argv[1:]]; runpy.run_module('snakemake', run_name='__main__')"
)


def snakemake(plugin: bool) -> list[str]:
    return [sys.executable, "-m", "snakemake"] if plugin else [sys.executable, "-c", WITHOUT_SLURM_PLUGIN]


def pipeline_command(workdir: Path, configfile: Path | None, plugin: bool = True) -> tuple[list[str], Path]:
    cmd = [*snakemake(plugin), "-s", str(ROOT / "Snakefile"), "--dry-run", "--cores", "1"]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    return cmd, workdir


def floor_command(workdir: Path, jobs: int, plugin: bool = True) -> tuple[list[str], Path]:
    """Snakemake alone: one rule, `jobs - 1` outputs and `all` (jobs=1: `all` only,
    which is Snakemake's start-up)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text(
        f"rule all:\n    input: expand('out/{{i}}.txt', i=range({jobs - 1}))\n\n"
        "rule one:\n    output: 'out/{i}.txt'\n    shell: 'touch {output}'\n"
    )
    return [*snakemake(plugin), "--dry-run", "--cores", "1"], workdir


def sweep_config(root: Path, checkpoints: int) -> Path:
    run = root / "ckpt"
    for k in range(checkpoints):
        folder = run / f"global_step_{100 * (k + 1)}" / "actor" / "huggingface"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"model_type": "qwen2"}')
        save_file({"w": np.zeros(1024, dtype=np.float32)}, str(folder / "model.safetensors"))
        when = time.time() - 3600  # written an hour ago: past the sweep's settle time
        for path in (*folder.iterdir(), folder):
            os.utime(path, (when, when))
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
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("default", "sweep"):
            (tmp / name).mkdir()
            (tmp / name / "config.yaml").write_text((ROOT / "config.yaml").read_text())
        sweep = f"sweep ({args.checkpoints} checkpoints)"
        configs = {
            "default": (tmp / "default", None),
            sweep: (tmp / "sweep", sweep_config(tmp / "sweep", args.checkpoints)),
        }
        jobs = {name: jobs_of(run_once(*pipeline_command(*where))[1]) for name, where in configs.items()}
        commands, expected = {}, {}
        for plugin, suffix in ((True, ""), (False, ", no SLURM plugin")):
            for i, (name, where) in enumerate(configs.items()):
                commands[name + suffix] = pipeline_command(*where, plugin=plugin)
                floor = f"floor {name}{suffix}"
                commands[floor] = floor_command(tmp / f"floor-{i}{suffix}", jobs[name], plugin)
                expected[floor] = jobs[name]
            commands[f"startup{suffix}"] = floor_command(tmp / f"startup{suffix}", 1, plugin)
            expected[f"startup{suffix}"] = 1
        for name, count in expected.items():  # the first call of each, untimed
            assert jobs_of(run_once(*commands[name])[1]) == count, name
        times = interleaved(commands, args.repeats)
    print(
        f"{'workload':<45} {'jobs':>5} {'min s':>6} {'median s':>8} {'floor s':>7} {'ratio':>5} "
        f"{'ours s':>6} {'start-up s':>10}  target"
    )
    for suffix in ("", ", no SLURM plugin"):
        for name in configs:
            row, med = name + suffix, statistics.median(times[name + suffix])
            fmed = statistics.median(times[f"floor {row}"])
            startup = statistics.median(times["startup" + suffix])
            target = TARGETS["default" if name == "default" else "sweep"]
            print(
                f"{row:<45} {jobs[name]:>5} {min(times[row]):>6.2f} {med:>8.2f} {fmed:>7.2f} "
                f"{med / fmed:>5.2f} {med - fmed:>6.2f} {startup:>10.2f}  "
                f"{'< ' + str(target) if med < target else 'MISSED'}"
            )
    print("floor: Snakemake alone for as many jobs; start-up: Snakemake alone for one job (medians)")


if __name__ == "__main__":
    main()
