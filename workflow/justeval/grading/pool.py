"""Worker processes that compare answers under a hard wall-clock deadline.

sympy (and any C code under it) cannot be interrupted from a thread, so every
comparison that goes past the cheap layers runs in a worker process. The
parent watches the clock: a worker that has spent more than the budget on one
comparison is killed and replaced, that comparison gets status ``timeout``,
and the rest of its batch goes to the new worker. No input can stall a job.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

log = logging.getLogger(__name__)

BATCH = 32  # comparisons sent to a worker at a time


class _Worker:
    """One worker: ``python -m justeval.grading.worker`` talking over two pipes.

    A fresh interpreter (not fork, not multiprocessing's spawn) never re-runs
    the caller's main module and never inherits its threads or locks.
    """

    def __init__(self, grader: str):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "justeval.grading.worker", grader, str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.send_conn = Connection(to_child_w, readable=False)
        self.conn = Connection(from_child_r, writable=False)
        self.inflight: deque[int] = deque()
        self.deadline = float("inf")

    def send(self, batch, timeout: float) -> None:
        self.inflight.extend(i for i, _, _ in batch)
        self.send_conn.send(batch)
        self.deadline = time.monotonic() + timeout

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.send_conn.close()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.send_conn.send(None)
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.kill()
        else:
            self.send_conn.close()
            self.conn.close()


class GradingPool:
    """``jobs`` worker processes running one grader's comparisons with a deadline each."""

    def __init__(self, grader: str, jobs: int, timeout: float):
        self.grader = grader
        self.jobs = max(1, jobs)
        self.timeout = timeout
        self.workers: list[_Worker] = []
        self.restarts = 0

    def _spawn(self) -> _Worker:
        return _Worker(self.grader)

    def run(
        self,
        tasks: Sequence[tuple[str, str]],
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[bool, str, str, float]]:
        """(equal, status, layer, seconds) for each (gold, answer), in order."""
        results: list = [None] * len(tasks)
        if not tasks:
            return results
        while len(self.workers) < min(self.jobs, len(tasks)):
            self.workers.append(self._spawn())
        pending = deque(range(len(tasks)))
        done = 0

        def feed(worker: _Worker) -> None:
            batch = []
            while pending and len(batch) < BATCH:
                i = pending.popleft()
                batch.append((i, tasks[i][0], tasks[i][1]))
            if batch:
                worker.send(batch, self.timeout)

        for worker in self.workers:
            feed(worker)
        while done < len(tasks):
            busy = [w for w in self.workers if w.inflight]
            now = time.monotonic()
            wait_for = max(0.0, min(w.deadline for w in busy) - now)
            ready = wait([w.conn for w in busy], timeout=wait_for)
            for worker in busy:
                if worker.conn in ready:
                    try:
                        index, ok, status, layer, seconds = worker.conn.recv()
                    except (EOFError, OSError):
                        done += self._replace(worker, tasks, results, pending, "error")
                        continue
                    results[index] = (ok, status, layer, seconds)
                    worker.inflight.popleft()
                    worker.deadline = time.monotonic() + self.timeout
                    done += 1
                    if progress:
                        progress(1)
                elif time.monotonic() >= worker.deadline:
                    done += self._replace(worker, tasks, results, pending, "timeout")
                    if progress:
                        progress(1)
            for worker in self.workers:
                if not worker.inflight:
                    feed(worker)
        return results

    def _replace(self, worker: _Worker, tasks, results, pending: deque, status: str) -> int:
        """Kill a worker stuck on (or crashed in) its current comparison and start anew."""
        index = worker.inflight.popleft()
        gold, answer = tasks[index]
        log.warning(
            "comparison %s after %.1f s: gold=%r answer=%r; restarting the worker",
            status,
            self.timeout,
            gold[:200],
            answer[:200],
        )
        results[index] = (False, status, status, self.timeout)
        pending.extendleft(reversed(worker.inflight))
        worker.kill()
        self.restarts += 1
        self.workers[self.workers.index(worker)] = self._spawn()
        return 1

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []


_POOLS: dict[tuple[str, int, float], GradingPool] = {}


def get_pool(grader: str, jobs: int, timeout: float) -> GradingPool:
    """A pool reused for the life of the process (workers start once)."""
    key = (grader, jobs, timeout)
    if key not in _POOLS:
        _POOLS[key] = GradingPool(grader, jobs, timeout)
    return _POOLS[key]


@atexit.register
def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.close()
    _POOLS.clear()
