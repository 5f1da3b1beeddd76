"""What changed between the checkpoints of a training run: the problems learned and
forgotten from one checkpoint to the next, beyond sampling noise, and how much picking
the best checkpoint by its test score flatters it.

Learned and forgotten
    Each problem's correct samples at two consecutive checkpoints, c_a of N_a and c_b of
    N_b, are compared with Fisher's exact test (two-sided, :func:`fisher_exact`): under
    "the problem did not change", both sets of samples come from one success rate, and,
    given the total correct, the count at the first checkpoint is hypergeometric. The
    p-values of the problems of one pair of checkpoints and one benchmark are corrected
    for the many problems tested with Benjamini and Hochberg's step-up procedure
    (:func:`bh_adjust`); a problem is listed when its adjusted p-value (q) is at most the
    false-discovery rate asked for. With few samples per problem no problem can be
    listed: the smallest p-value Fisher's test can give for N = 4 against N = 4 is
    2/70 (:func:`smallest_p`).
Optimism of the best checkpoint
    The best step by its score on all problems is picked by the same scores it is
    reported with, so its score is biased upwards. The honest estimate splits the
    problems at random into halves, picks the best step on one half (the selection
    half, ``n // 2`` problems) and scores that step on the other; the gap is the naive
    best score minus that estimate, over many seeded splits (:func:`pick_on_halves`).
    The estimate is slightly pessimistic (it picks on half the problems), so the gap is
    an upper bound on the optimism more than an exact measure of it.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

# accuracies closer than this are equal (the earliest step wins a tie)
TIE = 1e-12


@lru_cache(maxsize=65536)
def fisher_exact(correct_a: int, n_a: int, correct_b: int, n_b: int) -> float:
    """Two-sided p-value of Fisher's exact test of c_a of n_a against c_b of n_b: the
    probability, given the total correct, of a split of the correct samples between the
    two as likely as the one seen or less. Exact: the probabilities are compared as
    integers (every one shares the denominator C(n_a + n_b, n_a))."""
    if not (0 <= correct_a <= n_a and 0 <= correct_b <= n_b) or n_a + n_b == 0:
        raise ValueError(f"need 0 <= c <= n: {correct_a}/{n_a}, {correct_b}/{n_b}")
    total, correct = n_a + n_b, correct_a + correct_b
    low, high = max(0, correct - n_b), min(correct, n_a)
    weights = {x: math.comb(correct, x) * math.comb(total - correct, n_a - x) for x in range(low, high + 1)}
    seen = weights[correct_a]
    tail = sum(w for w in weights.values() if w <= seen)
    return float(Fraction(tail, math.comb(total, n_a)))


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest p-value :func:`fisher_exact` can give for these sample counts."""
    return min(fisher_exact(n_a, n_a, 0, n_b), fisher_exact(0, n_a, n_b, n_b))


def bh_adjust(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input's order: the i-th
    smallest p times m / i, made non-decreasing from the largest down, at most 1.
    Listing the problems with q <= alpha is the step-up procedure at level alpha."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


# ---------------------------------------------------------------- picking the best step


def split_seed(seed: int, benchmark: str) -> list[int]:
    """The seed of a benchmark's splits: the run's seed and a checksum of the benchmark's
    name, so benchmarks of one size are split independently, whatever their order."""
    return [seed, zlib.crc32(benchmark.encode())]


def random_halves(n_problems: int, splits: int, seed: int | list[int]) -> np.ndarray:
    """(splits, n_problems) masks of the selection half (``n_problems // 2`` problems,
    drawn without replacement), from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((splits, n_problems)), axis=1)
    mask = np.zeros((splits, n_problems), dtype=bool)
    np.put_along_axis(mask, order[:, : n_problems // 2], True, axis=1)
    return mask


def _first_best(scores: np.ndarray) -> np.ndarray:
    """Index of the first maximum along the last axis (within :data:`TIE`)."""
    return (scores >= scores.max(axis=-1, keepdims=True) - TIE).argmax(axis=-1)


def pick_on_halves(accuracies: list[np.ndarray], masks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The step picked on each split's selection half and its score on the other half.

    ``accuracies``: per benchmark, (steps, problems) per-problem accuracy; ``masks``: per
    benchmark, (splits, problems) selection halves. Several benchmarks: a step's score is
    the unweighted mean over benchmarks of its mean over that benchmark's half (Avg)."""
    select, held_out = 0.0, 0.0
    for acc, mask in zip(accuracies, masks, strict=True):
        keep = mask.astype(float)
        rest = 1.0 - keep
        select = select + (keep @ acc.T) / keep.sum(axis=1, keepdims=True)
        held_out = held_out + (rest @ acc.T) / rest.sum(axis=1, keepdims=True)
    select, held_out = select / len(accuracies), held_out / len(accuracies)
    picked = _first_best(select)
    return picked, held_out[np.arange(len(picked)), picked]


@dataclass
class Selection:
    """Picking the best of a run's steps; accuracies in fractions."""

    best: int  # index of the step with the best score on all problems (the naive pick)
    best_accuracy: float
    honest: np.ndarray  # per split: the picked step's score on the held-out half
    picked: np.ndarray  # per split: the index of the picked step

    @property
    def gap(self) -> np.ndarray:
        return self.best_accuracy - self.honest

    def summary(self) -> dict:
        lo, hi = np.quantile(self.honest, [0.025, 0.975])
        gap_lo, gap_hi = np.quantile(self.gap, [0.025, 0.975])
        return {
            "best_accuracy": self.best_accuracy,
            "honest_accuracy": float(self.honest.mean()),
            "honest_low": float(lo),
            "honest_high": float(hi),
            "gap": float(self.gap.mean()),
            "gap_low": float(gap_lo),
            "gap_high": float(gap_hi),
            "picked_best_share": float((self.picked == self.best).mean()),
        }


def selection(accuracies: list[np.ndarray], masks: list[np.ndarray]) -> Selection:
    """The naive best step (on all problems; Avg over benchmarks with several) and the
    honest estimate of its kind of pick over the splits of ``masks``."""
    full = np.mean([acc.mean(axis=1) for acc in accuracies], axis=0)
    best = int(_first_best(full))
    picked, honest = pick_on_halves(accuracies, masks)
    return Selection(best=best, best_accuracy=float(full[best]), honest=honest, picked=picked)
