"""Grade many responses: extraction, memoised comparison, statuses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .extract import last_boxed
from .normalize import normalize, numbers_equal, parse_number

log = logging.getLogger(__name__)

STATUSES = ("match", "mismatch", "no_answer", "timeout", "error")


@dataclass(frozen=True)
class GradeResult:
    extracted_answer: str | None
    rule_correct: bool
    status: str


def justeval_equal(gold: str, answer: str, timeout: float) -> bool:
    """First justeval grader: normalised strings, then exact numbers."""
    g, a = normalize(gold), normalize(answer)
    if g == a:
        return True
    gn, an = parse_number(g), parse_number(a)
    if gn is not None and an is not None:
        return numbers_equal(gn, an)
    return False


def math_verify_equal(gold: str, answer: str, timeout: float) -> bool:
    """The math-verify package, on the extracted answer (for comparison)."""
    from math_verify import parse, verify

    gold_parsed = parse(f"${gold}$", parsing_timeout=max(1, int(timeout)))
    answer_parsed = parse(f"\\boxed{{{answer}}}", parsing_timeout=max(1, int(timeout)))
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=max(1, int(timeout))))


GRADERS: dict[str, Callable[[str, str, float], bool]] = {
    "justeval": justeval_equal,
    "math_verify": math_verify_equal,
}


def grade_responses(
    golds: Sequence[str],
    responses: Sequence[str | None],
    grader: str = "justeval",
    timeout: float = 5.0,
) -> list[GradeResult]:
    """Grade ``responses[i]`` against ``golds[i]``; identical pairs are graded once."""
    equal = GRADERS[grader]
    memo: dict[tuple[str, str], tuple[bool, str]] = {}
    results = []
    for gold, response in zip(golds, responses, strict=True):
        answer = last_boxed(response)
        if answer is None:
            results.append(GradeResult(None, False, "no_answer"))
            continue
        key = (gold, answer)
        if key not in memo:
            try:
                ok = equal(gold, answer, timeout)
                memo[key] = (ok, "match" if ok else "mismatch")
            except TimeoutError:
                memo[key] = (False, "timeout")
            except Exception as exc:  # a grader bug must not stop the job
                log.warning("grader %s failed on gold=%r answer=%r: %s", grader, gold, answer, exc)
                memo[key] = (False, "error")
        ok, status = memo[key]
        results.append(GradeResult(answer, ok, status))
    return results
