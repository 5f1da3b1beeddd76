"""pass@k, mean@N and the cross-model table, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from justeval.config.benchmarks import pass_k_values
from justeval.io.parquet import DataError
from justeval.metrics.formatting import accuracy_table, latex, markdown
from justeval.metrics.scores import (
    bootstrap_mean_interval,
    clusters,
    distinct_ngram_ratio,
    majority_correct,
    pass_at_k,
    sampling_se,
    score,
)


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (4, 0, 1, 0.0),
        (4, 4, 1, 1.0),
        (4, 1, 1, 0.25),
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (4, 2, 2, 5 / 6),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
        (4, 1, 4, 1.0),  # k = n: solved at least once
        (4, 0, 4, 0.0),
        (32, 3, 8, 1 - math.comb(29, 8) / math.comb(32, 8)),
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    value = pass_at_k(1024, 1, 512)
    assert value == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_pass_k_values():
    assert pass_k_values(None, 32) == [1, 2, 4, 8, 16, 32]
    assert pass_k_values(None, 4) == [1, 2, 4]
    assert pass_k_values(None, 6) == [1, 2, 4, 6]
    assert pass_k_values(None, 1) == [1]
    assert pass_k_values([1, 8, 64], 32) == [1, 8]


def _verdicts(correct_by_problem: dict[str, list[bool]]) -> pd.DataFrame:
    rows = []
    for pid, flags in correct_by_problem.items():
        for idx, ok in enumerate(flags):
            rows.append(
                {
                    "problem_id": pid,
                    "sample_idx": idx,
                    "correct": ok,
                    "rule_correct": ok and idx == 0,
                    "sent_to_verifier": not (ok and idx == 0),
                    "verifier_verdict": "A" if ok and idx else "B",
                    "status": "match" if ok and idx == 0 else "mismatch",
                    "extracted_answer": "7" if ok else ("8" if idx % 2 else None),
                    "finish_reason": "length" if idx == 3 else "stop",
                    "completion_tokens": 10 * (idx + 1),
                }
            )
    return pd.DataFrame(rows)


THREE = {
    "p1": [True, True, True, True],
    "p2": [True, False, False, False],
    "p3": [False, False, False, False],
}


def test_score_by_hand():
    frame = _verdicts(THREE)
    row, details = score(frame, ["p1", "p2", "p3"], 4, [1, 2, 4], "m", "b", bootstrap_samples=500, seed=1)
    assert row["mean_at_n"] == pytest.approx(100 * (1 + 0.25 + 0) / 3)
    assert row["pass@1"] == pytest.approx(row["mean_at_n"])
    assert row["pass@2"] == pytest.approx(100 * (1 + 0.5 + 0) / 3)
    assert row["pass@4"] == pytest.approx(100 * 2 / 3)
    assert (row["solve_all"], row["solve_none"]) == (1, 1)
    assert (row["n_correct"], row["n_rule_correct"], row["n_verifier_recovered"]) == (5, 2, 3)
    assert row["n_truncated"] == 3 and row["truncation_rate"] == pytest.approx(25.0)
    # without the truncated samples (index 3): p1 3/3, p2 1/3, p3 0/3
    assert row["accuracy_without_truncated"] == pytest.approx(100 * 4 / 9)
    assert row["mean_completion_tokens"] == pytest.approx(25.0)
    # correct samples: p1 all four (10, 20, 30, 40), p2's first (10)
    assert row["tokens_correct_mean"] == pytest.approx(22.0)
    assert row["tokens_correct_median"] == pytest.approx(20.0)
    # sampling SE: sum of c(N-c)/(N(N-1))/N over problems: only p2 (c=1) contributes 3/12/4
    assert row["sampling_se"] == pytest.approx(100 * math.sqrt(3 / 12 / 4) / 3)
    assert row["sampling_ci_low"] == pytest.approx(row["mean_at_n"] - 1.959963984540054 * row["sampling_se"])
    assert row["bootstrap_ci_low"] <= row["mean_at_n"] <= row["bootstrap_ci_high"]
    assert details["per_sample_accuracy"] == pytest.approx([200 / 3, 100 / 3, 100 / 3, 100 / 3])
    assert details["per_problem_correct"] == {"p1": 4, "p2": 1, "p3": 0}
    assert row["no_answer_rate"] == pytest.approx(100 * 3 / 12)  # p2 #2, p3 #0, p3 #2


def test_sampling_se_and_bootstrap_sizes():
    # AIME-like: 30 problems with success probability 0.5 at N = 32: ±1.96 SE is about 3 points
    assert 1.96 * 100 * sampling_se([16] * 30, 32) == pytest.approx(3.2, abs=0.1)
    assert sampling_se([0, 32, 0], 32) == 0.0  # problems always solved or never: no sampling error
    values = np.array([1.0] * 15 + [0.0] * 15)
    lo, hi = bootstrap_mean_interval(values, 2000, seed=0)
    assert 0.30 < lo < 0.35 and 0.65 < hi < 0.70  # about ±18 points on 30 problems
    assert bootstrap_mean_interval(values, 2000, seed=0) == (lo, hi)  # seeded


def test_majority_vote_clusters_equivalent_answers_and_breaks_ties_by_first():
    same = {("7", "7.0"), ("7.0", "7")}

    def equal(a, b):
        return (a, b) in same

    # 7 and 7.0 form one cluster of 2; 8 has 2 too: the cluster that appeared first wins
    assert majority_correct(["8", "7", "7.0", "8"], [False, True, True, False], equal) is False
    assert majority_correct(["7", "8", "7.0", "8"], [True, False, True, False], equal) is True
    # a sample with no answer does not vote
    assert majority_correct([None, None, "8"], [False, False, False], equal) is False
    assert majority_correct([None, None], [False, False], equal) is False
    assert clusters(["7", None, "7.0", "9"], equal) == [[0, 2], [3]]


def test_maj_at_k_uses_the_first_k_samples():
    frame = _verdicts(THREE)
    row, _ = score(frame, ["p1", "p2", "p3"], 4, [1, 4], "m", "b", equal=lambda a, b: a == b)
    # k=1: sample 0 of each problem: p1 "7" right, p2 "7" right, p3 no answer
    assert row["maj@1"] == pytest.approx(200 / 3)
    # k=4: p1 all 7; p2 answers 7, 8, None, 8 -> 8 wins (2 votes); p3 None, 8, None, 8 -> 8 (wrong)
    assert row["maj@4"] == pytest.approx(100 / 3)


def test_distinct_ngrams():
    assert distinct_ngram_ratio(["a b c d e", "a b c d e"]) == pytest.approx(2 / 4)
    assert distinct_ngram_ratio(["a b c"]) == 0.0


def test_score_rejects_incomplete_samples():
    frame = _verdicts({"p1": [True, False], "p2": [True]})
    with pytest.raises(DataError, match=r"problem 'p2': samples missing \[1\]"):
        score(frame, ["p1", "p2"], 2, [1, 2], "m", "b")
    with pytest.raises(DataError, match=r"problem 'p3': samples missing \[0, 1\]"):
        score(_verdicts({"p1": [True, True]}), ["p1", "p3"], 2, [1], "m", "b")


def test_accuracy_table_layout_with_variants():
    rows = []
    for variant, shift in (("main", 0.0), ("justrl", -10.0)):
        for model, bench, n, value in (
            ("B", "AIME24", 32, 50.0),
            ("B", "MATH-500", 4, 90.0),
            ("A", "AIME24", 32, 30.0),
            ("A", "MATH-500", 4, 80.0),
        ):
            rows.append(
                {
                    "model": model,
                    "benchmark": bench,
                    "variant": variant,
                    "n_samples": n,
                    "mean_at_n": value + shift,
                }
            )
    table = accuracy_table(pd.DataFrame(rows), ["A", "B"], ["AIME24", "MATH-500"], ["main", "justrl"])
    assert list(table.columns) == [
        "model", "AIME24 (@32)", "MATH-500 (@4)", "Avg",
        "AIME24 (@32) · justrl", "MATH-500 (@4) · justrl", "Avg · justrl",
    ]  # fmt: skip
    assert table["model"].tolist() == ["A", "B"]
    assert table["Avg"].tolist() == [55.0, 70.0] and table["Avg · justrl"].tolist() == [45.0, 60.0]
    md = markdown(table[["model", "AIME24 (@32)", "MATH-500 (@4)", "Avg"]]).splitlines()
    assert md[0] == "| model | AIME24 (@32) | MATH-500 (@4) |   Avg |"
    assert md[2] == "| A     |        30.00 |         80.00 | 55.00 |"
    tex = latex(table[["model", "Avg"]], "mean@N")
    assert "\\textbf{70.00}" in tex and "\\toprule" in tex and tex.count("\\\\") == 3


def test_missing_benchmark_makes_avg_missing():
    rows = [{"model": "A", "benchmark": "AIME24", "variant": "main", "n_samples": 32, "mean_at_n": 30.0}]
    table = accuracy_table(pd.DataFrame(rows), ["A"], ["AIME24", "AMC23"], ["main"])
    assert math.isnan(table.loc[0, "AMC23 (@0)"]) and math.isnan(table.loc[0, "Avg"])
    assert "–" in markdown(table)
