"""Worker processes that compare answers under a hard wall-clock deadline.

sympy (and any C code under it) cannot be interrupted from a thread, so every
comparison that goes past the cheap layers runs in a worker process. The
parent watches the clock: a worker that has spent more than the budget on one
comparison is killed and replaced, that comparison gets status ``timeout``,
and the rest of its batches go to the new worker. No input can stall a job.

The budget of a comparison starts when the worker starts it; the worker stamps
its messages with the (system-wide) monotonic clock: :data:`BEGIN` when it
starts a batch, then each result, so the parent knows when the comparison now
running began even when it reads the messages late. A result that took longer
than the budget is a ``timeout`` as if it had been killed. Between batches (a
new worker may still be starting up) it gets :data:`STARTUP_GRACE` seconds more.

Work can be handed over without waiting for it (:meth:`GradingPool.submit`,
then :meth:`GradingPool.collect`): the caller goes on with the cheap layers
while the workers compare, and every submit also reads what the workers have
sent, feeds them and enforces the deadlines. :meth:`GradingPool.start` starts
the workers before there is work, so that their start-up overlaps the reading
of the input, and a busy worker holds up to :data:`AHEAD` batches more, so that
it never waits on this process between batches.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

log = logging.getLogger(__name__)

BATCH = 32  # comparisons sent to a worker at a time
AHEAD = 2  # batches a busy worker may hold on top of the one it runs
# ... while the batches it has not begun pickle to at most this many bytes in all:
# writes that fit the pipe's buffer (64 KiB) never block this process, which must
# keep watching the clock
AHEAD_BYTES = 16384
STARTUP_GRACE = 10.0  # seconds a worker may take to begin a batch, on top of the budget
BEGIN = "begin"  # worker.BEGIN (not imported: the parent need not load the worker module)


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
        self.inflight: deque[int] = deque()  # task ids sent, in the order the worker runs them
        self.queued: deque[tuple[int, int]] = deque()  # (comparisons, bytes) of batches not begun
        self.left = 0  # comparisons left in the batch the worker has begun
        self.deadline = float("inf")

    def send(self, ids: list[int], payload: bytes, timeout: float) -> None:
        """Send a pickled batch; an idle worker has until then + budget + grace to begin it."""
        if not self.inflight:
            self.deadline = time.monotonic() + timeout + STARTUP_GRACE
        self.inflight.extend(ids)
        self.queued.append((len(ids), len(payload)))
        with contextlib.suppress(OSError):  # it died: the other pipe reads EOF, handled as a crash
            self.send_conn.send_bytes(payload)

    def room_ahead(self, payload: bytes) -> bool:
        """Whether a busy worker may be sent this batch now (see :data:`AHEAD`)."""
        unread = sum(size for _, size in self.queued)
        return len(self.queued) < AHEAD and unread + len(payload) <= AHEAD_BYTES

    def clock(self, message: tuple, timeout: float) -> None:
        """The deadline after a message stamped by the worker: the next comparison
        started then, or, after a batch's last result, the worker is between batches."""
        if message[0] == BEGIN:
            self.left = self.queued.popleft()[0]
        else:
            self.inflight.popleft()
            self.left -= 1
        self.deadline = message[-1] + timeout + (0.0 if self.left else STARTUP_GRACE)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.send_conn.close()
        self.conn.close()

    def stop(self) -> None:
        """Ask the worker to exit; kill it if it has not at once (it may still be busy,
        after an error in this process; it holds nothing that needs cleaning up)."""
        try:
            self.send_conn.send(None)
            self.proc.wait(timeout=0.05)
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
        self.restarts = 0  # workers killed and replaced, over the pool's life
        self.failures: Counter = Counter()  # comparisons past the deadline (timeout) or crashed (error)
        self._tasks: dict[int, tuple[str, str]] = {}  # submitted, not collected
        self._results: dict[int, tuple[bool, str, str, float]] = {}
        self._pending: deque[int] = deque()  # submitted, not sent
        self._next_id = 0

    def _spawn(self) -> _Worker:
        return _Worker(self.grader)

    def start(self, count: int | None = None) -> None:
        """Start up to ``count`` (default ``jobs``) workers now, so that their
        interpreters and imports are ready by the time there is work."""
        while len(self.workers) < min(self.jobs, count or self.jobs):
            self.workers.append(self._spawn())

    def submit(self, tasks: Sequence[tuple[str, str]]) -> list[int]:
        """Hand (gold, answer) pairs to the workers without waiting; their ids, for
        :meth:`collect`. Also reads results, feeds workers and enforces deadlines."""
        ids = list(range(self._next_id, self._next_id + len(tasks)))
        self._next_id += len(tasks)
        self._tasks.update(zip(ids, tasks, strict=True))
        self._pending.extend(ids)
        self.start(len(self._tasks) - len(self._results))
        self._pump(block=False)
        return ids

    def collect(
        self, ids: Sequence[int], progress: Callable[[int], None] | None = None
    ) -> list[tuple[bool, str, str, float]]:
        """(equal, status, layer, seconds) for each submitted id, in order, once all are done."""
        wanted = set(ids) - self._results.keys()
        if progress and len(ids) > len(wanted):
            progress(len(ids) - len(wanted))
        while wanted:
            done = wanted.intersection(self._pump(block=True))
            wanted -= done
            if progress and done:
                progress(len(done))
        for i in ids:
            del self._tasks[i]
        return [self._results.pop(i) for i in ids]

    def run(
        self,
        tasks: Sequence[tuple[str, str]],
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[bool, str, str, float]]:
        """(equal, status, layer, seconds) for each (gold, answer), in order."""
        return self.collect(self.submit(tasks), progress) if tasks else []

    def _pump(self, block: bool) -> list[int]:
        """Read what the workers sent (waiting, if ``block``, for a message or the next
        deadline), restart the workers past a deadline, feed them; the ids completed."""
        busy = [w for w in self.workers if w.inflight]
        if not busy:
            self._feed(flush=block)
            busy = [w for w in self.workers if w.inflight]
            if not busy:
                if block:
                    raise RuntimeError("internal: waiting on a grading pool with nothing to do")
                return []
        if block:
            wait_for = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = set(wait([w.conn for w in busy], timeout=wait_for))
        else:
            ready = {w.conn for w in busy if w.conn.poll(0)}
        completed: list[int] = []
        for worker in busy:
            if worker.conn in ready and not self._drain(worker, completed):
                self._replace(worker, "error", completed)
            elif worker.inflight and time.monotonic() >= worker.deadline:
                self._replace(worker, "timeout", completed)
        self._feed(flush=block)
        return completed

    def _drain(self, worker: _Worker, completed: list[int]) -> bool:
        """Handle every message waiting from ``worker``; False if it died."""
        while True:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                return False
            worker.clock(message, self.timeout)
            if message[0] != BEGIN:
                index, ok, status, layer, seconds, _ = message
                if seconds > self.timeout:  # it overran while this process was busy
                    ok, status, layer, seconds = False, "timeout", "timeout", self.timeout
                    self.failures["timeout"] += 1
                self._results[index] = (ok, status, layer, seconds)
                completed.append(index)
            if not worker.conn.poll(0):
                return True

    def _feed(self, flush: bool) -> None:
        """A batch for each idle worker, then batches ahead for busy ones: full batches,
        or (``flush``: the caller waits for them) what is left."""
        pending = self._pending
        idle = [w for w in self.workers if not w.inflight]
        if pending and idle:
            # dealt out in turn, so that neighbouring slow comparisons (a response's
            # stalls, the rest of a killed worker's batch) run side by side
            items = [pending.popleft() for _ in range(min(len(pending), BATCH * len(idle)))]
            for j, worker in enumerate(idle):
                if ids := items[j :: len(idle)]:
                    self._send(worker, ids)
        for worker in self.workers:
            while pending and worker.inflight:
                if len(pending) < BATCH and not flush:
                    break
                ids = [pending.popleft() for _ in range(min(BATCH, len(pending)))]
                if not self._send(worker, ids, ahead=True):
                    pending.extendleft(reversed(ids))
                    break

    def _send(self, worker: _Worker, ids: list[int], ahead: bool = False) -> bool:
        """Send one batch; a batch ahead is held back (False) when the worker has no room."""
        batch = [(i, *self._tasks[i]) for i in ids]
        payload = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
        if ahead and not worker.room_ahead(payload):
            return False
        worker.send(ids, payload, self.timeout)
        return True

    def _replace(self, worker: _Worker, status: str, completed: list[int]) -> None:
        """Kill a worker stuck on (or crashed in) its current comparison, which is
        decided (``status``) and added to ``completed``; the rest go back in line."""
        if worker.inflight:
            index = worker.inflight.popleft()
            gold, answer = self._tasks[index]
            log.warning(
                "comparison %s after %.1f s: gold=%r answer=%r; restarting the worker",
                status,
                self.timeout,
                gold[:200],
                answer[:200],
            )
            self._results[index] = (False, status, status, self.timeout)
            completed.append(index)
            self.failures[status] += 1
        self._pending.extendleft(reversed(worker.inflight))
        worker.kill()
        self.restarts += 1
        self.workers[self.workers.index(worker)] = self._spawn()

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
