"""The grading worker process: ``python -m justeval.grading.worker GRADER IN_FD OUT_FD``.

It reads batches of (index, gold, answer) from one pipe and writes, per batch,
``(BEGIN, t)`` when it starts the batch and then one result per comparison,
``(index, ok, status, layer, seconds, t)``, to the other; ``t`` is
``time.monotonic()`` (one clock for every process of the machine) when it was
sent, so that the parent (see :mod:`pool`) knows which comparison is running
and since when, even if it reads the messages late.

It imports only its grader's comparison at start (for justeval's grader: the
own parser and mpmath, ~0.1 s); sympy and latex2sympy2_extended (~0.4 s) are
imported by the first comparison that needs them, inside its budget, as before.
(Importing them while idle before the first batch was measured: no gain, as
the first batch comes about when the worker is up.)
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

BEGIN = "begin"  # sent, with the time, when a batch starts: its first comparison starts then


def comparer(grader: str) -> Callable[[str, str], tuple[bool, str]]:
    if grader == "justeval":
        from .compare import full

        return full
    if grader == "math_verify":
        from .compare import math_verify_equal

        return math_verify_equal
    if grader == "justrl":
        from .justrl import justrl_equal

        return justrl_equal
    raise ValueError(f"unknown grader {grader!r}")


def _serve(grader: str, recv_conn, send_conn) -> None:
    """Worker loop: batches of (index, gold, answer) in; BEGIN, then one result per comparison, out."""
    compare_fn = comparer(grader)
    while True:
        try:
            batch = recv_conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        send_conn.send((BEGIN, time.monotonic()))
        for index, gold, answer in batch:
            start = time.monotonic()
            try:
                ok, layer = compare_fn(gold, answer)
                status = "match" if ok else "mismatch"
            except Exception as exc:  # a grader bug is one sample's error, not the job's
                ok, layer, status = False, "error", "error"
                log.debug("comparison failed: %r vs %r: %s", gold, answer, exc)
            end = time.monotonic()
            send_conn.send((index, bool(ok), status, layer, end - start, end))


if __name__ == "__main__":
    _grader, _in_fd, _out_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    _serve(_grader, Connection(_in_fd, writable=False), Connection(_out_fd, readable=False))
    sys.stdout.flush()
    os._exit(0)  # nothing to clean up: skip the interpreter's teardown of sympy's modules
