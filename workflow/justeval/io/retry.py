"""Retrying a transient failure (a download, a request) with growing waits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def with_retries(
    attempt: Callable[[], T],
    *,
    attempts: int | None,
    transient: tuple[type[BaseException], ...],
    wait: Callable[[int], float],
    label: str,
    give_up: Callable[[BaseException, int], BaseException],
    budget: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """``attempt()``, called again after ``wait(n)`` seconds when the n-th call raises
    one of ``transient`` (anything else is permanent and raised at once). The last
    failure becomes ``give_up(error, calls)`` after ``attempts`` calls or, with a
    ``budget``, when the next call would start more than ``budget`` seconds after the
    first failure (at least one of the two limits must be given)."""
    if attempts is None and budget is None:
        raise ValueError("with_retries needs attempts or a budget")
    first_failure = None
    n = 0
    while True:
        n += 1
        try:
            return attempt()
        except transient as exc:
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            if attempts is not None and n >= attempts:
                raise give_up(exc, n) from None
            delay = wait(n)
            if budget is not None and now + delay - first_failure > budget:
                raise give_up(exc, n) from None
            of = f"/{attempts - 1}" if attempts is not None else ""
            until = f" (retries end {budget:.0f} s after the first failure)" if budget is not None else ""
            log.warning("%s failed (%s); retry %d%s in %.1f s%s", label, exc, n, of, delay, until)
            sleep(delay)
