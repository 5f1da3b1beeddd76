"""How many samples per problem a benchmark needs, and what more samples cannot fix.

mean@N over P problems, each with c_i correct of N samples, has two sources of error:

* **sampling** (a rerun with new seeds on the same problems): each problem's accuracy
  c_i/N estimates its success rate q_i with variance q_i(1 - q_i)/N, and
  ``v_i = c_i (N - c_i) / (N (N - 1))`` is the unbiased estimate of q_i(1 - q_i). The
  half-width of mean@N's 95 % interval is ``z * sqrt(sum(v_i) / N) / P``; it shrinks
  as 1/sqrt(N), so the N that brings it under a target h is
  ``ceil(z^2 * sum(v_i) / (P^2 h^2))``. When every problem is all solved or all
  failed, sum(v_i) is 0: the data show no sampling variance, and any N does.
* **the problems** (another draw of P problems of the same kind): the spread of the
  problems' own success rates, which no N shrinks. The variance of the observed
  accuracies c_i/N across problems (ddof 1) is that spread *plus* the mean sampling
  variance v_i/N, so ``s^2(c/N) - mean(v_i/N)`` estimates the spread without bias;
  its half-width ``z * sqrt(max(0, .)) / sqrt(P)`` is the *problem floor*. A bootstrap
  over problems measures both at once: its half-width is about
  ``sqrt(sampling^2 + floor^2)``.

The same holds for a difference between two models on the same problems (a paired
design): d_i = c_bi/N_b - c_ai/N_a, its sampling variance sum(v_ai/N_a + v_bi/N_b)/P^2,
its floor from s^2(d) minus that noise (how much the models' difference varies from
problem to problem), and the half-width of Δ's interval with the problems resampled,
``z * s(d) / sqrt(P)``, the smallest difference the benchmark resolves at this N.

Every function takes ``z`` (the normal quantile) and works in fractions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from justeval.io.parquet import DataError

ANY_N = "any N"  # no sampling variance to shrink
SAMPLING = "N"  # more samples narrow the interval
PROBLEMS = "problems"  # the problem set, not N, is the limit
NOT_ESTIMABLE = "n/a"  # N = 1: the sampling variance is not estimable


class UnevenSamples(DataError):
    """Problems with different numbers of samples (an import holds what its file holds)."""


def counts(verdicts: pd.DataFrame, label: str) -> tuple[pd.Series, int]:
    """Correct samples of each problem (in file order) and N, the samples per problem,
    which must be the same for every problem."""
    grouped = verdicts.groupby("problem_id", sort=False)["correct"]
    sizes = grouped.size()
    if sizes.empty:
        raise DataError(f"{label}: no verdicts")
    if sizes.nunique() != 1:
        odd = sizes[sizes != sizes.mode().iloc[0]]
        raise UnevenSamples(
            f"{label}: problem {odd.index[0]!r} has {odd.iloc[0]} samples, the others {sizes.mode().iloc[0]}"
        )
    correct = grouped.apply(lambda c: int(c.fillna(False).astype(bool).sum()))
    return correct.astype(int), int(sizes.iloc[0])


def unit_variances(correct: Sequence[int], n: int) -> np.ndarray:
    """``v_i = c_i (n - c_i) / (n (n - 1))``, the unbiased estimate of q_i (1 - q_i),
    the variance of one sample of problem i (NaN when n < 2)."""
    c = np.asarray(correct, dtype=float)
    if n < 2:
        return np.full(len(c), math.nan)
    return c * (n - c) / (n * (n - 1))


def sampling_halfwidth(variance_sum: float, n: int, problems: int, z: float) -> float:
    """Half-width of the sampling interval of a mean over ``problems`` problems of ``n``
    samples each, from the sum of the problems' one-sample variances."""
    return z * math.sqrt(variance_sum / n) / problems


def needed_samples(variance_sum: float, problems: int, target: float, z: float) -> int | None:
    """The least N whose sampling half-width ``z sqrt(variance_sum / N) / problems`` is at
    most ``target``; None when ``variance_sum`` is 0 (any N)."""
    if not target > 0:
        raise ValueError(f"target half-width must be positive, got {target}")
    if math.isnan(variance_sum):
        raise ValueError("variance not estimable (N < 2)")
    if variance_sum <= 0:
        return None
    exact = z * z * variance_sum / (problems * problems * target * target)
    n = max(1, math.ceil(exact))
    # rounding: the bound itself is exact, so settle the integer by the half-width
    while n > 1 and sampling_halfwidth(variance_sum, n - 1, problems, z) <= target:
        n -= 1
    while sampling_halfwidth(variance_sum, n, problems, z) > target:
        n += 1
    return n


def problem_floor(values: Sequence[float], noise: Sequence[float], z: float) -> float:
    """Half-width no N removes: ``z sqrt(max(0, s^2(values) - mean(noise))) / sqrt(P)``,
    with ``values`` the per-problem estimates (accuracies, or differences) and ``noise``
    each one's sampling variance (NaN when fewer than two problems or noise unknown)."""
    x = np.asarray(values, dtype=float)
    e = np.asarray(noise, dtype=float)
    if len(x) < 2 or np.isnan(e).any():
        return math.nan
    spread = float(np.var(x, ddof=1)) - float(e.mean())
    return z * math.sqrt(max(0.0, spread)) / math.sqrt(len(x))


def paired_halfwidth(differences: Sequence[float], z: float) -> float:
    """``z s(d) / sqrt(P)`` (s with ddof 1): the half-width of a paired difference's
    interval with the problems resampled, sampling noise included."""
    d = np.asarray(differences, dtype=float)
    if len(d) < 2:
        return math.nan
    return z * float(np.std(d, ddof=1)) / math.sqrt(len(d))


def limit(variance_sum: float, sampling: float, floor: float) -> str:
    """What bounds the precision: N not estimable (N = 1); the problems, when their floor
    is above zero and at least the sampling half-width (a bootstrap over problems at
    least sqrt(2) times the sampling half-width); no sampling variance and no spread
    (every problem all solved, or all failed): any N; else N."""
    if math.isnan(variance_sum):
        return NOT_ESTIMABLE
    if not math.isnan(floor) and floor > 0 and floor >= sampling:
        return PROBLEMS
    if variance_sum <= 0:
        return ANY_N
    return SAMPLING
