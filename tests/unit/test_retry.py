"""The one retry helper: transient failures are retried, permanent ones are not."""

from __future__ import annotations

import pytest

from justeval.io.retry import with_retries


class Transient(Exception):
    pass


def _flaky(failures: int, calls: list):
    def attempt():
        calls.append(1)
        if len(calls) <= failures:
            raise Transient(f"failure {len(calls)}")
        return "ok"

    return attempt


def test_transient_failures_are_retried_until_one_succeeds():
    calls, waits = [], []
    got = with_retries(
        _flaky(2, calls),
        attempts=3,
        transient=(Transient,),
        wait=lambda n: waits.append(n) or 0.0,
        label="test",
        give_up=lambda exc, n: RuntimeError(f"gave up after {n}: {exc}"),
    )
    assert got == "ok" and len(calls) == 3 and waits == [1, 2]


def test_the_last_failure_becomes_the_give_up_error():
    calls = []
    with pytest.raises(RuntimeError, match=r"^gave up after 3: failure 3$"):
        with_retries(
            _flaky(5, calls),
            attempts=3,
            transient=(Transient,),
            wait=lambda n: 0.0,
            label="test",
            give_up=lambda exc, n: RuntimeError(f"gave up after {n}: {exc}"),
        )
    assert len(calls) == 3


def test_a_permanent_failure_is_raised_at_once():
    calls = []

    def attempt():
        calls.append(1)
        raise KeyError("permanent")

    with pytest.raises(KeyError):
        with_retries(
            attempt, attempts=5, transient=(Transient,), wait=lambda n: 0.0, label="t", give_up=RuntimeError
        )
    assert len(calls) == 1
