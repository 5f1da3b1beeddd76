"""pass@k, mean@N and the cross-model table, against hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from justeval.config import pass_k_values
from justeval.metrics import pass_at_k, score
from justeval.parquet_io import DataError
from justeval.table import accuracy_table, markdown


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
                    "finish_reason": "length" if idx == 3 else "stop",
                    "completion_tokens": 10 * (idx + 1),
                }
            )
    return pd.DataFrame(rows)


def test_score_by_hand():
    frame = _verdicts(
        {
            "p1": [True, True, True, True],
            "p2": [True, False, False, False],
            "p3": [False, False, False, False],
        }
    )
    row = score(frame, ["p1", "p2", "p3"], 4, [1, 2, 4], "m", "b")
    assert row["mean_at_n"] == pytest.approx(100 * (1 + 0.25 + 0) / 3)
    assert row["pass@1"] == pytest.approx(row["mean_at_n"])
    assert row["pass@2"] == pytest.approx(100 * (1 + 0.5 + 0) / 3)
    assert row["pass@4"] == pytest.approx(100 * 2 / 3)
    assert (row["solve_all"], row["solve_none"]) == (1, 1)
    assert (row["n_correct"], row["n_rule_correct"], row["n_verifier_recovered"]) == (5, 2, 3)
    assert row["n_truncated"] == 3
    assert row["mean_completion_tokens"] == pytest.approx(25.0)


def test_score_rejects_incomplete_samples():
    frame = _verdicts({"p1": [True, False], "p2": [True]})
    with pytest.raises(DataError, match=r"problem 'p2': samples missing \[1\]"):
        score(frame, ["p1", "p2"], 2, [1, 2], "m", "b")
    with pytest.raises(DataError, match=r"problem 'p3': samples missing \[0, 1\]"):
        score(_verdicts({"p1": [True, True]}), ["p1", "p3"], 2, [1], "m", "b")


def test_accuracy_table_layout():
    scores = pd.DataFrame(
        [
            {"model": "B", "benchmark": "AIME24", "n_samples": 32, "mean_at_n": 50.0},
            {"model": "B", "benchmark": "MATH-500", "n_samples": 4, "mean_at_n": 90.0},
            {"model": "A", "benchmark": "AIME24", "n_samples": 32, "mean_at_n": 30.0},
            {"model": "A", "benchmark": "MATH-500", "n_samples": 4, "mean_at_n": 80.0},
        ]
    )
    table = accuracy_table(scores, ["A", "B"], ["AIME24", "MATH-500"])
    assert list(table.columns) == ["model", "AIME24 (@32)", "MATH-500 (@4)", "Avg"]
    assert table["model"].tolist() == ["A", "B"]
    assert table["Avg"].tolist() == [55.0, 70.0]
    md = markdown(table).splitlines()
    assert md[0] == "| model | AIME24 (@32) | MATH-500 (@4) |   Avg |"
    assert md[2] == "| A     |        30.00 |         80.00 | 55.00 |"
