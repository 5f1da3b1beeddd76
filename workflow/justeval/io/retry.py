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
    attempts: int,
    transient: tuple[type[BaseException], ...],
    wait: Callable[[int], float],
    label: str,
    give_up: Callable[[BaseException, int], BaseException],
) -> T:
    """``attempt()``, called again after ``wait(n)`` seconds when the n-th call raises
    one of ``transient`` (anything else is permanent and raised at once); after
    ``attempts`` calls the last failure becomes ``give_up(error, attempts)``."""
    for n in range(1, attempts + 1):
        try:
            return attempt()
        except transient as exc:
            if n == attempts:
                raise give_up(exc, attempts) from None
            delay = wait(n)
            log.warning("%s failed (%s); retry %d/%d in %.1f s", label, exc, n, attempts - 1, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
