"""The grading worker process: ``python -m justeval.grading.worker GRADER IN_FD OUT_FD``.

It reads batches of (index, gold, answer) from one pipe and writes one result
per comparison to the other, so that the parent (see :mod:`pool`) always knows
which comparison is running and for how long.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)


def comparer(grader: str) -> Callable[[str, str], tuple[bool, str]]:
    from . import compare, justrl

    return {
        "justeval": compare.full,
        "math_verify": compare.math_verify_equal,
        "justrl": justrl.justrl_equal,
    }[grader]


def _serve(grader: str, recv_conn, send_conn) -> None:
    """Worker loop: batches of (index, gold, answer) in, one result per comparison out."""
    compare_fn = comparer(grader)
    while True:
        try:
            batch = recv_conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        for index, gold, answer in batch:
            start = time.perf_counter()
            try:
                ok, layer = compare_fn(gold, answer)
                status = "match" if ok else "mismatch"
            except Exception as exc:  # a grader bug is one sample's error, not the job's
                ok, layer, status = False, "error", "error"
                log.debug("comparison failed: %r vs %r: %s", gold, answer, exc)
            send_conn.send((index, bool(ok), status, layer, time.perf_counter() - start))


if __name__ == "__main__":
    _grader, _in_fd, _out_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    _serve(_grader, Connection(_in_fd, writable=False), Connection(_out_fd, readable=False))
