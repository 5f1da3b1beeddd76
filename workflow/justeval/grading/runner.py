"""Grade many responses: extraction, memo, cheap layers in-process, the rest in workers."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .compare import quick
from .extract import last_boxed
from .pool import get_pool

log = logging.getLogger(__name__)

STATUSES = ("match", "mismatch", "no_answer", "timeout", "error")
GRADERS = ("justeval", "math_verify", "justrl")
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class GradeResult:
    extracted_answer: str | None
    rule_correct: bool
    status: str
    layer: str


@dataclass
class GradeStats:
    """What grading a batch cost, per layer (for logs and the benchmark)."""

    responses: int = 0
    distinct_pairs: int = 0
    sent_to_workers: int = 0
    seconds: float = 0.0
    layer_counts: Counter = field(default_factory=Counter)
    layer_seconds: Counter = field(default_factory=Counter)
    slowest: list = field(default_factory=list)


class Grader:
    """A rule grader with a memo per (gold, extracted answer) that lives as long as it does."""

    def __init__(self, name: str = "justeval", timeout: float = DEFAULT_TIMEOUT, jobs: int = 1):
        if name not in GRADERS:
            raise ValueError(f"unknown grader {name!r}; expected one of {GRADERS}")
        self.name = name
        self.timeout = timeout
        self.jobs = jobs
        self.memo: dict[tuple[str, str], tuple[bool, str, str]] = {}
        self.stats = GradeStats()

    def grade(
        self,
        golds: Sequence[str],
        responses: Sequence[str | None],
        progress: Callable[[int], None] | None = None,
    ) -> list[GradeResult]:
        """Grade ``responses[i]`` against ``golds[i]``."""
        if len(golds) != len(responses):
            raise ValueError("golds and responses differ in length")
        start = time.perf_counter()
        stats = self.stats
        answers = [last_boxed(r) for r in responses]
        todo: dict[tuple[str, str], None] = {}
        for gold, answer in zip(golds, answers, strict=True):
            if answer is not None and (gold, answer) not in self.memo:
                todo[(gold, answer)] = None
        stats.distinct_pairs += len(todo)

        remote: list[tuple[str, str]] = []
        for pair in todo:
            t = time.perf_counter()
            decided = quick(*pair) if self.name == "justeval" else None
            if decided is None:
                remote.append(pair)
                continue
            ok, layer = decided
            self.memo[pair] = (ok, "match" if ok else "mismatch", layer)
            stats.layer_seconds[layer] += time.perf_counter() - t
        if remote:
            stats.sent_to_workers += len(remote)
            pool = get_pool(self.name, self.jobs, self.timeout)
            for pair, (ok, status, layer, seconds) in zip(remote, pool.run(remote), strict=True):
                self.memo[pair] = (ok, status, layer)
                stats.layer_seconds[layer] += seconds
                stats.slowest.append((seconds, layer, pair))
            stats.slowest = sorted(stats.slowest, reverse=True)[:10]

        results = []
        for gold, answer in zip(golds, answers, strict=True):
            if answer is None:
                result = GradeResult(None, False, "no_answer", "extract")
            else:
                ok, status, layer = self.memo[(gold, answer)]
                result = GradeResult(answer, ok, status, layer)
            stats.layer_counts[result.layer] += 1
            results.append(result)
        if progress:
            progress(len(results))
        stats.responses += len(results)
        stats.seconds += time.perf_counter() - start
        return results

    def equivalent(self, gold: str, answer: str) -> bool:
        """Whether two final answers are equivalent (memoised; for majority votes)."""
        pair = (gold, answer)
        if pair not in self.memo:
            decided = quick(gold, answer) if self.name == "justeval" else None
            if decided is None:
                ((ok, status, layer, _),) = get_pool(self.name, self.jobs, self.timeout).run([pair])
            else:
                ok, layer = decided
                status = "match" if ok else "mismatch"
            self.memo[pair] = (ok, status, layer)
        return self.memo[pair][0]


def grade_responses(
    golds: Sequence[str],
    responses: Sequence[str | None],
    grader: str = "justeval",
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 1,
) -> list[GradeResult]:
    """Grade ``responses[i]`` against ``golds[i]`` (a fresh memo per call)."""
    return Grader(grader, timeout, jobs).grade(golds, responses)
