"""Metrics of one (model, benchmark, grading variant) from its final verdicts.

mean@N (the published "@N" columns) comes with two uncertainties that answer
different questions: the *sampling* error (how far a rerun with new seeds on
these same problems would move it, from each problem's variance across its N
samples) and a seeded *bootstrap over problems* (how far another set of
problems of the same kind would move it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from justeval.io.parquet import DataError
from justeval.metrics.verifier import verifier_counts

Z95 = 1.959963984540054


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with ``c`` correct out of ``n`` samples.

    1 - C(n-c, k) / C(n, k), computed as a product that never forms the
    (huge) binomial coefficients.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def sampling_se(correct: Sequence[int], n: int) -> float:
    """Standard error of mean@N over fixed problems, in fractions.

    Each problem's accuracy c/N estimates its success probability q with
    variance q(1-q)/N; c(N-c)/(N(N-1)) is the unbiased estimate of q(1-q).
    """
    if n < 2 or not len(correct):
        return 0.0
    var = sum(c * (n - c) / (n * (n - 1)) / n for c in correct)
    return math.sqrt(var) / len(correct)


def per_problem(verdicts: pd.DataFrame) -> pd.Series:
    """Accuracy of each problem (fraction of its samples correct), in file order."""
    return verdicts.groupby("problem_id", sort=False)["correct"].mean()


def bootstrap_mean_interval(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``values`` resampled with replacement."""
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[idx].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


def check_complete(verdicts: pd.DataFrame, problem_ids: list[str], n_samples: int, label: str) -> None:
    """Every problem must have exactly the samples 0..N-1, nothing else."""
    extra = sorted(set(verdicts["problem_id"]) - set(problem_ids))
    if extra:
        raise DataError(f"{label}: problems not in the benchmark: {extra[:5]}")
    dup = verdicts.duplicated(["problem_id", "sample_idx"])
    if dup.any():
        first = verdicts.loc[dup, ["problem_id", "sample_idx"]].iloc[0].tolist()
        raise DataError(f"{label}: sample {first} appears twice")
    expected = set(range(n_samples))
    have = verdicts.groupby("problem_id")["sample_idx"].agg(set).to_dict()
    for pid in problem_ids:
        got = have.get(pid, set())
        if got != expected:
            missing = sorted(expected - got)[:5]
            surplus = sorted(got - expected)[:5]
            raise DataError(
                f"{label}: problem {pid!r}: samples missing {missing}, unexpected {surplus} (N={n_samples})"
            )


# ---------------------------------------------------------------- majority vote

Equal = Callable[[str, str], bool]


def clusters(answers: Sequence[str | None], equal: Equal) -> list[list[int]]:
    """Group sample positions whose answers are equivalent (no answer: no cluster).

    Each answer joins the first cluster whose representative (its earliest
    member) it equals; clusters are in order of first appearance.
    """
    groups: list[list[int]] = []
    reps: list[str] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        for g, rep in enumerate(reps):
            if answer == rep or equal(rep, answer):
                groups[g].append(i)
                break
        else:
            groups.append([i])
            reps.append(answer)
    return groups


def majority_correct(answers: Sequence[str | None], correct: Sequence[bool], equal: Equal) -> bool:
    """Whether the majority answer is correct: the largest cluster wins, ties go
    to the cluster that appeared first; a cluster is as correct as its first
    member. No answer at all: wrong."""
    groups = clusters(answers, equal)
    if not groups:
        return False
    best = max(groups, key=len)  # max keeps the first of equal sizes: earliest cluster
    return bool(correct[best[0]])


# ---------------------------------------------------------------- n-gram diversity


def distinct_ngram_ratio(texts: Sequence[str], n: int = 4) -> float:
    """Distinct n-grams over all n-grams (whitespace tokens) of a problem's responses."""
    total, seen = 0, set()
    for text in texts:
        tokens = (text or "").split()
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


# ---------------------------------------------------------------- all metrics


def lengths(verdicts: pd.DataFrame) -> tuple[pd.Series, str]:
    """Each sample's length and its unit: completion tokens where they were counted,
    else (imports without a tokenizer) the response's characters."""
    tokens = verdicts["completion_tokens"]
    if tokens.notna().any() or "response_chars" not in verdicts.columns:
        return tokens.astype(float), "tokens"
    return verdicts["response_chars"].astype(float), "characters"


def _length_stats(tokens: pd.Series) -> tuple[float, float, float]:
    if tokens.empty:
        return (float("nan"),) * 3
    return float(tokens.mean()), float(tokens.median()), float(tokens.quantile(0.9))


def score(
    verdicts: pd.DataFrame,
    problem_ids: list[str],
    n_samples: int,
    ks: list[int],
    model: str,
    benchmark: str,
    label: str = "verdicts",
    variant: str = "main",
    responses: pd.Series | None = None,
    equal: Equal | None = None,
    bootstrap_samples: int = 2000,
    seed: int = 0,
) -> dict:
    """One row of metrics (percentages in %), and per-problem details.

    ``responses`` (indexed like ``verdicts``) gives the distinct-4-gram ratio;
    ``equal`` (answer equivalence) gives maj@k.
    """
    check_complete(verdicts, problem_ids, n_samples, label)
    v = verdicts.sort_values(["problem_id", "sample_idx"])
    correct = v.groupby("problem_id")["correct"].sum().reindex(problem_ids).astype(int)
    n = n_samples
    per_problem = (correct / n).to_numpy(dtype=float)
    mean = 100.0 * float(per_problem.mean())
    se = 100.0 * sampling_se(correct.tolist(), n)
    boot_lo, boot_hi = bootstrap_mean_interval(per_problem, bootstrap_samples, seed)
    truncated = v["finish_reason"] == "length"
    tokens, unit = lengths(v)
    right, wrong = _length_stats(tokens[v["correct"]]), _length_stats(tokens[~v["correct"]])
    verifier = verifier_counts(v)
    row = {
        "model": model,
        "benchmark": benchmark,
        "variant": variant,
        "n_problems": len(problem_ids),
        "n_samples": n,
        "mean_at_n": mean,
        "sampling_se": se,
        "sampling_ci_low": mean - Z95 * se,
        "sampling_ci_high": mean + Z95 * se,
        "bootstrap_ci_low": 100.0 * boot_lo,
        "bootstrap_ci_high": 100.0 * boot_hi,
        "n_responses": len(v),
        "n_correct": int(v["correct"].sum()),
        "n_rule_correct": verifier["rule_accepted"],
        "n_sent_to_verifier": verifier["sent_to_verifier"],
        "n_verifier_recovered": verifier["recovered"],
        "n_verifier_invalid": verifier["verifier_invalid"],
        "n_verifier_unparsed": verifier["verifier_unparsed"],
        "n_no_answer": int(v["extracted_answer"].isna().sum()),
        "no_answer_rate": 100.0 * float(v["extracted_answer"].isna().mean()),
        "n_truncated": int(truncated.sum()),
        "truncation_rate": 100.0 * float(truncated.mean()),
        "accuracy_without_truncated": 100.0 * float(v.loc[~truncated, "correct"].mean())
        if (~truncated).any()
        else float("nan"),
        "solve_none": int((correct == 0).sum()),
        "solve_all": int((correct == n).sum()),
        "length_unit": unit,
        "mean_completion_tokens": float(tokens.mean()),
        "tokens_correct_mean": right[0],
        "tokens_correct_median": right[1],
        "tokens_correct_p90": right[2],
        "tokens_incorrect_mean": wrong[0],
        "tokens_incorrect_median": wrong[1],
        "tokens_incorrect_p90": wrong[2],
        "distinct_4gram_ratio": float("nan"),
    }
    if responses is not None:
        texts = responses.reindex(v.index)
        ratios = [distinct_ngram_ratio(texts[v["problem_id"] == pid].tolist()) for pid in problem_ids]
        row["distinct_4gram_ratio"] = float(np.mean(ratios)) if ratios else float("nan")
    for k in ks:
        row[f"pass@{k}"] = 100.0 * sum(pass_at_k(n, int(c), k) for c in correct) / len(correct)
    if equal is not None:
        groups = {pid: g for pid, g in v.groupby("problem_id", sort=False)}
        for k in ks:
            wins = 0
            for pid in problem_ids:
                g = groups[pid].head(k)  # the first k samples by index
                answers = [a if isinstance(a, str) else None for a in g["extracted_answer"]]
                wins += majority_correct(answers, g["correct"].tolist(), equal)
            row[f"maj@{k}"] = 100.0 * wins / len(problem_ids)
    per_index = v.groupby("sample_idx")["correct"].mean().reindex(range(n))
    details = {
        "per_sample_accuracy": [100.0 * float(x) for x in per_index],
        "per_problem_correct": {pid: int(c) for pid, c in correct.items()},
    }
    for key in ("mean_at_n", "sampling_se"):
        if isinstance(row[key], float) and math.isnan(row[key]):
            raise DataError(f"{label}: metric {key} is NaN")
    return row, details
