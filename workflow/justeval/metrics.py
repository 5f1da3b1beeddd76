"""Metrics of one (model, benchmark) from its final verdicts."""

from __future__ import annotations

import math

import pandas as pd

from .parquet_io import DataError


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


def check_complete(verdicts: pd.DataFrame, problem_ids: list[str], n_samples: int, label: str) -> None:
    """Every problem must have exactly the samples 0..N-1, nothing else."""
    extra = sorted(set(verdicts["problem_id"]) - set(problem_ids))
    if extra:
        raise DataError(f"{label}: problems not in the benchmark: {extra[:5]}")
    dup = verdicts.duplicated(["problem_id", "sample_idx"])
    if dup.any():
        raise DataError(
            f"{label}: sample {verdicts.loc[dup].iloc[0][['problem_id', 'sample_idx']].tolist()} twice"
        )
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


def score(
    verdicts: pd.DataFrame,
    problem_ids: list[str],
    n_samples: int,
    ks: list[int],
    model: str,
    benchmark: str,
    label: str = "verdicts",
) -> dict:
    """One row of metrics: mean@N, pass@k and counts (percentages in %)."""
    check_complete(verdicts, problem_ids, n_samples, label)
    correct = verdicts.groupby("problem_id")["correct"].sum().reindex(problem_ids).astype(int)
    n = n_samples
    sent = verdicts["sent_to_verifier"]
    row = {
        "model": model,
        "benchmark": benchmark,
        "n_problems": len(problem_ids),
        "n_samples": n,
        "mean_at_n": 100.0 * float((correct / n).mean()),
        "n_responses": len(verdicts),
        "n_correct": int(verdicts["correct"].sum()),
        "n_rule_correct": int(verdicts["rule_correct"].sum()),
        "n_sent_to_verifier": int(sent.sum()),
        "n_verifier_recovered": int((verdicts["correct"] & ~verdicts["rule_correct"]).sum()),
        "n_verifier_invalid": int((verdicts["verifier_verdict"] == "C").sum()),
        "n_verifier_unparsed": int((verdicts["verifier_verdict"] == "unparsed").sum()),
        "n_no_answer": int((verdicts["status"] == "no_answer").sum()),
        "n_truncated": int((verdicts["finish_reason"] == "length").sum()),
        "solve_none": int((correct == 0).sum()),
        "solve_all": int((correct == n).sum()),
        "mean_completion_tokens": float(verdicts["completion_tokens"].mean()),
    }
    for k in ks:
        row[f"pass@{k}"] = 100.0 * sum(pass_at_k(n, int(c), k) for c in correct) / len(correct)
    for key, value in row.items():
        if isinstance(value, float) and math.isnan(value):
            raise DataError(f"{label}: metric {key} is NaN")
    return row
