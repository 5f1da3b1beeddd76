"""Coverage of two models on the same problems: pass@k of each for every k from 1 up to
N, with a paired bootstrap over problems, the crossover k* where the base model catches
up, and the problems only one of the two ever solves.

The question is the one RL papers argue about: does RL teach a model to solve problems
its base could not, or does it only *sharpen* the base (more of its N samples right on
problems the base already solves sometimes)? A sharpened model is ahead at pass@1 and
the base catches up, or overtakes it, as k grows.

Definitions (``a`` is the base, ``b`` the other model; pass@k is the unbiased estimator
averaged over the problems both have, in fractions here, in % in the tables):

``k*``
    the smallest k with pass@k(a) >= pass@k(b) (differences below :data:`TIE` are
    ties). It is a crossover when a is below b at k = 1; when a is not below at k = 1,
    k* is 1. When a stays below up to N, there is no crossover up to N (``None``;
    :data:`NONE` in the bootstrap's arrays).
bootstrap
    the problems resampled with replacement (:func:`resample_indices`, the seeded draw of
    the other paired bootstraps), the *same* resampled problems for both models; each
    resample gives both curves, their difference and k*. Intervals are 2.5 and 97.5 %
    percentiles; k*'s are values it takes in the resamples (the empirical quantile).

The pass@k of one problem is the metrics' own estimator, passed in (``pass_at``): this
layer does not import the metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from justeval.io.identity import file_identity
from justeval.io.parquet import DataError, read_parquet
from justeval.io.schemas import VERDICTS

# pass@k means closer than this (fractions) are equal: float sums of the same value
# differ in their last bits
TIE = 1e-12
NONE = 0  # k* of a resample in which the base stays below up to N

PassAt = Callable[[int, int, int], float]  # (n, c, k) -> pass@k of one problem


def load_primary_verdicts(paths: list[str], primary: str) -> dict[tuple[str, str], pd.DataFrame]:
    """The primary variant's verdicts by (model, benchmark); other variants are left out."""
    out: dict[tuple[str, str], pd.DataFrame] = {}
    for path in paths:
        ident = file_identity(path)
        if ident.get("variant", primary) != primary:
            continue
        key = (ident["model"], ident["benchmark"])
        if key in out:
            raise DataError(f"{path}: a second verdicts file of {key} ({primary})")
        out[key] = read_parquet(path, VERDICTS)
    return out


def problem_counts(verdicts: pd.DataFrame, label: str = "verdicts") -> tuple[pd.Series, int]:
    """Correct samples of each problem (in file order) and the samples per problem, N;
    every problem must have the same number of samples."""
    if verdicts.empty:
        raise DataError(f"{label}: no samples")
    groups = verdicts.groupby("problem_id", sort=False)["correct"]
    sizes = groups.size()
    if sizes.nunique() != 1:
        raise DataError(f"{label}: problems have different numbers of samples: {sorted(set(sizes))}")
    return groups.sum().astype(int), int(sizes.iloc[0])


def resample_indices(n_problems: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_problems) problem positions drawn with replacement: the first draw of
    ``numpy.random.default_rng(seed)``, as in the other paired bootstraps over problems."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_problems, size=(resamples, n_problems))


def pass_table(n: int, ks: list[int], pass_at: PassAt) -> np.ndarray:
    """(n + 1, len(ks)): pass@k of a problem with c correct of n, row c."""
    return np.array([[pass_at(n, c, k) for k in ks] for c in range(n + 1)], dtype=float)


def _resampled_means(counts: np.ndarray, table: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(resamples, K) mean pass@k of each resample: how often each count c is drawn,
    times the pass@k of c (never the (resamples, problems, K) array)."""
    rows, size = idx.shape
    levels = table.shape[0]
    flat = counts[idx] + levels * np.arange(rows)[:, None]
    hist = np.bincount(flat.ravel(), minlength=rows * levels).reshape(rows, levels)
    return hist @ table / size


def crossover(base: np.ndarray, model: np.ndarray) -> np.ndarray:
    """k* of each row of (rows, K) curves: the first k (1-based) where base >= model
    (within :data:`TIE`), :data:`NONE` where there is none."""
    at_least = base >= model - TIE
    first = at_least.argmax(axis=-1) + 1
    return np.where(at_least.any(axis=-1), first, NONE)


def _kstar_interval(kstar: np.ndarray, n: int) -> tuple[int | None, int | None]:
    """2.5 and 97.5 % empirical quantiles of k*, "none up to N" ranked above N."""
    ranked = np.where(kstar == NONE, n + 1, kstar)
    lo, hi = (int(q) for q in np.quantile(ranked, [0.025, 0.975], method="inverted_cdf"))
    return (None if lo > n else lo), (None if hi > n else hi)


@dataclass
class Coverage:
    """One pair on one benchmark. Curves in fractions, one value per k of ``ks``."""

    problems: list[str]
    n_base: int
    n_model: int
    ks: list[int]
    base: np.ndarray
    model: np.ndarray
    base_interval: np.ndarray  # (2, K): low, high
    model_interval: np.ndarray
    delta_interval: np.ndarray  # of model - base
    kstar: int | None  # None: the base stays below up to N
    kstar_interval: tuple[int | None, int | None]
    base_below_at_1: bool
    share_crossing: float  # resamples where the base catches up by N (k* <= N)
    share_not_below_at_1: float  # resamples where the base is not below at k = 1 (k* = 1)
    only: pd.DataFrame  # problem_id, solved_by (base | model), accuracy_base, accuracy_model

    @property
    def delta(self) -> np.ndarray:
        return self.model - self.base


def pair_coverage(
    base: pd.DataFrame,
    model: pd.DataFrame,
    pass_at: PassAt,
    *,
    resamples: int | None = None,
    seed: int | None = None,
    idx: np.ndarray | None = None,
) -> Coverage:
    """Coverage of ``model`` against ``base`` (verdict frames) on the problems both have.

    The bootstrap draws ``resamples`` seeded resamples, or uses ``idx`` (rows of problem
    positions, e.g. every possible resample of a tiny case)."""
    counts_a, n_a = problem_counts(base, "base")
    counts_b, n_b = problem_counts(model, "model")
    problems = [p for p in counts_a.index if p in counts_b.index]
    if not problems:
        raise DataError("the two models have no problem in common")
    ca = counts_a[problems].to_numpy()
    cb = counts_b[problems].to_numpy()
    ks = list(range(1, min(n_a, n_b) + 1))
    table_a, table_b = pass_table(n_a, ks, pass_at), pass_table(n_b, ks, pass_at)
    curve_a, curve_b = table_a[ca].mean(axis=0), table_b[cb].mean(axis=0)
    if idx is None:
        if resamples is None or seed is None:
            raise ValueError("need resamples and seed, or idx")
        idx = resample_indices(len(problems), resamples, seed)
    boot_a, boot_b = _resampled_means(ca, table_a, idx), _resampled_means(cb, table_b, idx)
    kstar_boot = crossover(boot_a, boot_b)
    (kstar,) = crossover(curve_a[None, :], curve_b[None, :])
    solved_a, solved_b = ca > 0, cb > 0
    only = pd.DataFrame(
        {
            "problem_id": problems,
            "solved_by": np.where(solved_a, "base", "model"),
            "accuracy_base": ca / n_a,
            "accuracy_model": cb / n_b,
        }
    )[solved_a != solved_b].reset_index(drop=True)
    return Coverage(
        problems=problems,
        n_base=n_a,
        n_model=n_b,
        ks=ks,
        base=curve_a,
        model=curve_b,
        base_interval=np.quantile(boot_a, [0.025, 0.975], axis=0),
        model_interval=np.quantile(boot_b, [0.025, 0.975], axis=0),
        delta_interval=np.quantile(boot_b - boot_a, [0.025, 0.975], axis=0),
        kstar=None if kstar == NONE else int(kstar),
        kstar_interval=_kstar_interval(kstar_boot, len(ks)),
        base_below_at_1=bool(curve_a[0] < curve_b[0] - TIE),
        share_crossing=float((kstar_boot != NONE).mean()),
        share_not_below_at_1=float((kstar_boot == 1).mean()),
        only=only,
    )
