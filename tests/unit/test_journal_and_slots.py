"""The resumable-generation journal and the GPU slot allocator."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT
from justeval.engine.slots import gpu_slot
from justeval.io.journal import Journal, journal_path

IDENTITY = {"settings": {"temperature": 0.7}, "samples": [0, 4], "weights": "w"}


def row(pid: str, idx: int, text: str = "x") -> dict:
    return {"problem_id": pid, "sample_idx": idx, "response": text}


def test_journal_resumes_and_drops_a_line_cut_short(tmp_path):
    path = journal_path(tmp_path / "shard-0.parquet")
    assert path.name == ".shard-0.parquet.journal.jsonl"
    journal = Journal(path, IDENTITY)
    journal.add(row("p1", 0, "first ünïcode \\boxed{1}"))
    journal.add(row("p1", 1))
    journal.close()
    with open(path, "ab") as fh:
        fh.write(b'{"problem_id": "p2", "sample_idx": 0, "respo')  # a kill in mid-write
    again = Journal(path, IDENTITY)
    assert set(again.rows) == {("p1", 0), ("p1", 1)}
    assert again.rows[("p1", 0)]["response"] == "first ünïcode \\boxed{1}"
    assert again.done(("p1", 1)) and not again.done(("p2", 0))
    again.add(row("p2", 0))
    again.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"journal": IDENTITY}
    assert [json.loads(line)["problem_id"] for line in lines[1:]] == ["p1", "p1", "p2"]
    Journal(path, IDENTITY).remove()
    assert not path.exists()


def test_journal_of_other_settings_is_not_resumed(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path, IDENTITY)
    journal.add(row("p1", 0))
    journal.close()
    other = Journal(path, {**IDENTITY, "samples": [4, 8]})
    assert other.rows == {}
    other.close()
    assert json.loads(path.read_text().splitlines()[0])["journal"]["samples"] == [4, 8]


@pytest.fixture
def two_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv("JUSTEVAL_GPUS", "2")
    monkeypatch.setenv("JUSTEVAL_GPU_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    return tmp_path


def test_slots_give_each_job_its_own_device_and_wait_when_full(two_gpus, monkeypatch):
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(gpu_slot({}, "a"))
        os.environ.pop("CUDA_VISIBLE_DEVICES")  # each job is a process of its own in real runs
        second = stack.enter_context(gpu_slot({}, "b"))
        os.environ.pop("CUDA_VISIBLE_DEVICES")
        assert sorted([first, second]) == ["0", "1"]
        got = {}

        def third():
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            with gpu_slot({}, "c") as device:
                got["device"], got["at"] = device, time.monotonic()

        thread = threading.Thread(target=third)
        thread.start()
        time.sleep(1.2)
        assert "device" not in got  # both devices busy: the third job waits
        released = time.monotonic()
    thread.join(timeout=10)
    assert got["device"] in ("0", "1") and got["at"] >= released


def test_a_killed_job_gives_its_device_back(two_gpus, monkeypatch):
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from justeval.engine.slots import gpu_slot\n"
        "with gpu_slot({'tensor_parallel_size': 2}, 'holder'):\n"
        "    print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(ROOT / "workflow")], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    got = {}
    thread = threading.Thread(target=lambda: got.setdefault("d", _take()))
    thread.start()
    time.sleep(1.0)
    assert "d" not in got
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    thread.join(timeout=10)
    assert got["d"] in ("0", "1")


def _take():
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    with gpu_slot({}, "after") as device:
        return device


def test_slurm_allocation_is_kept(two_gpus, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with gpu_slot({}, "slurm") as device:
        assert device == "3" and os.environ["CUDA_VISIBLE_DEVICES"] == "3"


def test_cpu_hosts_take_no_slot(monkeypatch):
    monkeypatch.setenv("JUSTEVAL_GPUS", "0")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with gpu_slot({}, "cpu") as device:
        assert device is None and "CUDA_VISIBLE_DEVICES" not in os.environ
