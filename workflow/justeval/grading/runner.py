"""Grade many responses: extraction, memo, cheap layers in-process, the rest in workers."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .compare import quick
from .extract import justeval_answer, last_boxed
from .guard import refuses
from .pool import get_pool

log = logging.getLogger(__name__)

STATUSES = ("match", "mismatch", "no_answer", "timeout", "error")
# pairs handed to the workers at a time while the cheap layers go on (a pool batch)
SUBMIT_CHUNK = 32


@dataclass(frozen=True)
class GraderSpec:
    """How one rule grader works: how it finds the final answer of a response
    (``extract(response, gold)``), which cheap in-process layers it may use
    (``quick(gold, answer)``, or None), and which comparison its workers run
    (``worker`` names it; see :func:`worker.comparer`)."""

    extract: Callable[[str | None, str], str | None]
    quick: Callable[[str, str], tuple[bool, str] | None] | None
    # the gold as the source writes it (``answer_raw``: JustRL's script reads it so,
    # ``$...$`` included, and unwraps only a box) instead of the canonical ``answer``
    raw_gold: bool = False


def _justrl_extract(response: str | None, gold: str) -> str | None:
    from .justrl import extract_answer

    return extract_answer(response)


# The one registry of rule graders; every consumer (CLI choices, config schema
# checks, workers) reads its names from here.
GRADER_SPECS: dict[str, GraderSpec] = {
    "justeval": GraderSpec(extract=justeval_answer, quick=quick),
    "math_verify": GraderSpec(extract=lambda response, gold: last_boxed(response), quick=None),
    "justrl": GraderSpec(extract=_justrl_extract, quick=None, raw_gold=True),
}
GRADERS = tuple(GRADER_SPECS)


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


def defaults(name: str | None, timeout: float | None) -> tuple[str, float]:
    """A grader's name and deadline, where not given: the config's defaults
    (`rule_grade.grader` and `rule_grade.timeout`, whose one home is the schema)."""
    if name is None or timeout is None:
        from justeval.io.config_schema import schema_default

        name = schema_default("rule_grade", "grader") if name is None else name
        timeout = schema_default("rule_grade", "timeout") if timeout is None else timeout
    return name, timeout


class Grader:
    """A rule grader with a memo per (gold, extracted answer) that lives as long as it does.
    ``name`` and ``timeout`` default to the config's (:func:`defaults`)."""

    def __init__(self, name: str | None = None, timeout: float | None = None, jobs: int = 1):
        name, timeout = defaults(name, timeout)
        if name not in GRADERS:
            raise ValueError(f"unknown grader {name!r}; expected one of {GRADERS}")
        self.name = name
        self.spec = GRADER_SPECS[name]
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
        extract, quick_layers = self.spec.extract, self.spec.quick
        # One pass: a pair the cheap layers cannot decide goes to the workers at once
        # (without waiting), so that they compare while this process extracts the rest.
        answers: list[str | None] = []
        seen: set[tuple[str, str]] = set()
        remote: list[tuple[str, str]] = []
        waiting: list[tuple[str, str]] = []  # remote pairs not handed over yet
        ids: list[int] = []
        pool = get_pool(self.name, self.jobs, self.timeout)
        try:
            for response, gold in zip(responses, golds, strict=True):
                answer = extract(response, gold)
                answers.append(answer)
                pair = (gold, answer)
                if answer is None or pair in self.memo or pair in seen:
                    continue
                seen.add(pair)
                t = time.perf_counter()
                if refuses(*pair):  # an answer that could match anything, for every grader
                    self.memo[pair] = (False, "mismatch", "universal")
                    stats.layer_seconds["universal"] += time.perf_counter() - t
                    continue
                decided = quick_layers(*pair) if quick_layers else None
                if decided is None:
                    remote.append(pair)
                    waiting.append(pair)
                    if len(waiting) >= SUBMIT_CHUNK:  # whole batches: one pipe write each, not one a pair
                        ids.extend(pool.submit(waiting))
                        waiting = []
                    continue
                ok, layer = decided
                self.memo[pair] = (ok, "match" if ok else "mismatch", layer)
                stats.layer_seconds[layer] += time.perf_counter() - t
            ids.extend(pool.submit(waiting) if waiting else [])
        except Exception:
            pool.collect(ids)  # leave the pool with nothing of ours in it
            raise
        stats.distinct_pairs += len(seen)
        if remote:
            stats.sent_to_workers += len(remote)
            for pair, (ok, status, layer, seconds) in zip(remote, pool.collect(ids), strict=True):
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
        if pair not in self.memo and refuses(gold, answer):
            self.memo[pair] = (False, "mismatch", "universal")
        if pair not in self.memo:
            decided = self.spec.quick(gold, answer) if self.spec.quick else None
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
    grader: str | None = None,
    timeout: float | None = None,
    jobs: int = 1,
) -> list[GradeResult]:
    """Grade ``responses[i]`` against ``golds[i]`` (a fresh memo per call; the grader
    and its deadline default to the config's)."""
    return Grader(grader, timeout, jobs).grade(golds, responses)
