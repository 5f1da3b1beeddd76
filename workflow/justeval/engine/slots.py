"""One GPU per engine job on a multi-GPU machine.

Snakemake's ``--resources gpu=N`` caps how many GPU jobs run at once but never
says which device a job should use. Before loading an engine, a job takes
device slots: one lock file per device index, locked with ``flock`` (atomic;
the kernel releases it when the process ends, however it ends, so a job killed
with SIGKILL frees its device for the next one). The job then sees only its
devices through ``CUDA_VISIBLE_DEVICES``. Under SLURM, which already sets
``CUDA_VISIBLE_DEVICES`` for the job's allocation, nothing is changed.

Environment: ``JUSTEVAL_GPUS`` (number of devices, overriding detection;
tests simulate devices with it), ``JUSTEVAL_GPU_LOCK_DIR`` (folder of the lock
files, default ``/tmp/justeval-gpu-locks-<uid>``: it must be local to the
machine), ``JUSTEVAL_GPU_TRACE`` (a file that gets one JSON line when a job
takes and when it gives back its devices).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

POLL = 0.5


def device_count() -> int:
    """Devices on this machine: JUSTEVAL_GPUS, else what nvidia-smi lists (no CUDA init)."""
    if os.environ.get("JUSTEVAL_GPUS"):
        return int(os.environ["JUSTEVAL_GPUS"])
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def candidate_devices() -> list[str]:
    """Device ids this job may take: those CUDA_VISIBLE_DEVICES lists, or all."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return [d.strip() for d in visible.split(",") if d.strip()]
    return [str(i) for i in range(device_count())]


def _trace(event: str, label: str, devices: str) -> None:
    path = os.environ.get("JUSTEVAL_GPU_TRACE")
    if path:
        record = {"event": event, "job": label, "devices": devices, "time": time.time(), "pid": os.getpid()}
        with open(path, "a") as fh:
            fh.write(json.dumps(record) + "\n")


@contextlib.contextmanager
def gpu_slot(engine_options: dict, label: str):
    """Hold ``tensor_parallel_size`` devices for the duration of the block."""
    if os.environ.get("SLURM_JOB_ID") and os.environ.get("CUDA_VISIBLE_DEVICES"):
        log.info("SLURM job: keeping CUDA_VISIBLE_DEVICES=%s", os.environ["CUDA_VISIBLE_DEVICES"])
        yield os.environ["CUDA_VISIBLE_DEVICES"]
        return
    devices = candidate_devices()
    if not devices:  # a CPU host
        yield None
        return
    need = int(engine_options.get("tensor_parallel_size") or 1)
    if need > len(devices):
        raise RuntimeError(f"{label}: needs {need} GPUs, this machine has {len(devices)}")
    lock_dir = Path(os.environ.get("JUSTEVAL_GPU_LOCK_DIR") or f"/tmp/justeval-gpu-locks-{os.getuid()}")
    lock_dir.mkdir(parents=True, exist_ok=True)
    held: list[tuple[str, int]] = []
    waited_since = time.monotonic()
    last_note = 0.0
    while True:
        for device in devices:
            if len(held) == need:
                break
            fd = os.open(lock_dir / f"gpu-{device}.lock", os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {label}\n".encode())
            held.append((device, fd))
        if len(held) == need:
            break
        for _, fd in held:  # all or nothing: never sit on half of what is needed
            os.close(fd)
        held = []
        now = time.monotonic()
        if now - last_note > 30:
            log.info("%s: waiting for %d free GPU(s) of %s", label, need, devices)
            last_note = now
        time.sleep(POLL)
    ids = ",".join(d for d, _ in held)
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ids
    log.info("%s: took GPU(s) %s after %.1f s", label, ids, time.monotonic() - waited_since)
    _trace("start", label, ids)
    try:
        yield ids
    finally:
        _trace("end", label, ids)
        for _, fd in held:
            os.close(fd)
        if before is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = before
