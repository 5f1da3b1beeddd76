"""pass@k, mean@N and the cross-model table, against hand-computed values; the metrics
columns against cases kept as data (metric_cases/*.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from justeval.config.benchmarks import pass_k_values
from justeval.io.parquet import DataError
from justeval.metrics.formatting import accuracy_table, latex, markdown
from justeval.metrics.scores import (
    METRICS,
    Spec,
    bootstrap_mean_interval,
    clusters,
    distinct_ngram_ratio,
    majority_correct,
    metrics_schema,
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


# ---------------------------------------------------------------- metric cases as data
# Each file of metric_cases/ is one case: the verdicts of a few problems in compact form,
# the spec, and the expected columns, each with how it was computed by hand; one driver
# runs them all. Per problem, each field is a list with one entry per sample index:
#   correct (0/1, required); rule_correct (default: = correct); verifier_verdict
#   (A | B | C | unparsed; null, the default: not sent to the verifier); extracted_answer
#   (default null); finish_reason (default "stop"); completion_tokens (default null);
#   response_chars and responses (the texts), optional.
# The benchmark's problems are those listed, or "benchmark_problems" where a case (an
# import, "n_samples": null) covers only part of them.
# An expectation is {"value": v} (floats to pytest.approx, "NaN" for NaN, everything else
# exact) or {"at_most" | "at_least": other column}, with "how" it was computed.

CASES = sorted((Path(__file__).parent / "metric_cases").glob("*.json"))
EQUAL = {None: None, "string": lambda a, b: a == b}


def _frame(problems: dict[str, dict[str, list]]) -> tuple[pd.DataFrame, pd.Series | None]:
    defaults = {"verifier_verdict": None, "extracted_answer": None, "finish_reason": "stop"}
    defaults |= {"completion_tokens": None, "responses": None}
    rows, texts = [], []
    for pid, fields in problems.items():
        n = len(fields["correct"])
        assert all(len(values) == n for values in fields.values()), f"{pid}: one entry per sample"
        given = {key: [value] * n for key, value in defaults.items()} | fields
        given.setdefault("rule_correct", fields["correct"])
        for idx in range(n):
            row = {"problem_id": pid, "sample_idx": idx} | {key: values[idx] for key, values in given.items()}
            row["correct"], row["rule_correct"] = bool(row["correct"]), bool(row["rule_correct"])
            row["sent_to_verifier"] = row["verifier_verdict"] is not None
            texts.append(row.pop("responses"))
            rows.append(row)
    frame = pd.DataFrame(rows)
    has_text = any("responses" in fields for fields in problems.values())
    return frame, pd.Series(texts, index=frame.index) if has_text else None


def _spec(problem_ids: list[str], n: int, ks: list[int]) -> Spec:
    return Spec(
        model="m", benchmark="b", variant="main", problem_ids=problem_ids, n_samples=n, ks=ks,
        bootstrap_samples=100, seed=0, label="verdicts",
    )  # fmt: skip


def _check(name: str, actual, want: dict, row: dict, is_float: bool) -> None:
    assert set(want) <= {"value", "at_most", "at_least", "how"} and set(want) - {"how"}, f"{name}: {want}"
    if "value" in want:
        value = want["value"]
        if value == "NaN":
            assert isinstance(actual, float) and math.isnan(actual), f"{name}: {actual!r}, want NaN"
        elif is_float:
            assert actual == pytest.approx(value), f"{name}: {actual!r}, want {value!r} ({want.get('how')})"
        else:
            assert actual == value and type(actual) is type(value), f"{name}: {actual!r}, want {value!r}"
    if "at_most" in want:
        assert actual <= row[want["at_most"]], f"{name}: {actual!r} > {want['at_most']}"
    if "at_least" in want:
        assert actual >= row[want["at_least"]], f"{name}: {actual!r} < {want['at_least']}"


def test_the_metric_cases_are_there():
    assert {p.stem for p in CASES} >= {
        "three_problems", "majority_first_k", "verifier_and_ties", "nothing_right_all_truncated",
        "import_part_of_benchmark", "import_every_problem_same_n",
    }  # fmt: skip


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_metric_case(path):
    case = json.loads(path.read_text())
    frame, responses = _frame(case["problems"])
    problem_ids = case.get("benchmark_problems", list(case["problems"]))
    spec = Spec(**case["spec"], problem_ids=problem_ids, label=path.name)
    equal = EQUAL[case["equal"]]
    result = score(frame, spec, responses=responses, equal=equal)
    schema = metrics_schema(spec.ks, majority=equal is not None)
    # every computed column is declared, every declared one computed, in schema order
    assert list(result.row) == schema.names
    assert set(case["expect"]) <= set(schema.names), set(case["expect"]) - set(schema.names)
    for name, want in case["expect"].items():
        is_float = pa.types.is_floating(schema.field(name).type)
        _check(name, result.row[name], want, result.row, is_float)
    assert set(case.get("details", {})) <= set(result.details)
    for name, want in case.get("details", {}).items():
        if name == "per_sample_accuracy":
            assert result.details[name] == pytest.approx(want["value"]), name
        else:
            assert result.details[name] == want["value"], name


SAMPLED_CASES = [p for p in CASES if json.loads(p.read_text())["spec"]["n_samples"] is not None]


@pytest.mark.parametrize("path", SAMPLED_CASES, ids=lambda p: p.stem)
def test_as_imported_with_every_problem_at_n_is_the_sampled_score(path):
    """n_samples null with every benchmark problem at n_i = N: the same values, bit for bit."""
    case = json.loads(path.read_text())
    frame, responses = _frame(case["problems"])
    equal = EQUAL[case["equal"]]
    sampled = Spec(**case["spec"], problem_ids=list(case["problems"]), label=path.name)
    imported = Spec(
        **(case["spec"] | {"n_samples": None}), problem_ids=list(case["problems"]), label=path.name
    )
    want = score(frame, sampled, responses=responses, equal=equal)
    got = score(frame, imported, responses=responses, equal=equal)
    assert list(got.row) == list(want.row)
    assert {k: repr(v) for k, v in got.row.items()} == {k: repr(v) for k, v in want.row.items()}  # NaN too
    assert repr(got.details) == repr(want.details)


def _imported(problem_ids: list[str], ks: list[int]) -> Spec:
    return Spec(
        model="m", benchmark="b", variant="harness", problem_ids=problem_ids, n_samples=None, ks=ks,
        bootstrap_samples=100, seed=0, label="verdicts",
    )  # fmt: skip


def test_as_imported_a_single_sample_problem():
    """A problem with one sample (n_i = 1) is solved-all or solved-none, adds nothing to the
    sampling SE (no variance estimate from one sample), and makes pass@2 NaN."""
    frame, _ = _frame({"p1": {"correct": [1, 1, 0, 1], "completion_tokens": [9] * 4}, "p2": {"correct": [1]}})
    result = score(frame, _imported(["p1", "p2", "p3"], [1, 2]))
    row = result.row
    assert (row["n_problems"], row["benchmark_problems"], row["n_samples"], row["min_samples"]) == (
        2,
        3,
        4,
        1,
    )
    assert row["mean_at_n"] == pytest.approx(100 * (3 / 4 + 1) / 2)
    assert row["sampling_se"] == pytest.approx(100 * math.sqrt(3 * 1 / (4 * 3) / 4) / 2)  # p1 only
    assert (row["solve_all"], row["solve_none"]) == (1, 0)  # p2: 1 of its 1
    assert row["pass@1"] == pytest.approx(row["mean_at_n"]) and math.isnan(row["pass@2"])
    assert result.details["per_sample_accuracy"] == pytest.approx([100.0, 100.0, 0.0, 100.0])
    assert sampling_se([3, 1], [4, 1]) == sampling_se([3], 4) / 2
    assert sampling_se([1, 0, 1], [4, 4, 2]) == pytest.approx(math.sqrt(1 * 3 / 12 / 4 + 1 * 1 / 2 / 2) / 3)


def test_as_imported_rejects_gaps_duplicates_and_foreign_problems():
    frame, _ = _frame({"p1": {"correct": [1, 0, 1, 1]}, "p2": {"correct": [1, 1]}})
    gap = frame[~((frame["problem_id"] == "p1") & (frame["sample_idx"] == 2))]  # p1: 0, 1, 3
    with pytest.raises(
        DataError, match=r"problem 'p1': samples missing \[2\], unexpected \[3\] \(as imported"
    ):
        score(gap, _imported(["p1", "p2", "p3"], [1]))
    with pytest.raises(DataError, match=r"problems not in the benchmark: \['p2'\]"):
        score(frame, _imported(["p1", "p3"], [1]))
    twice = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    with pytest.raises(DataError, match=r"sample \['p2', 1\] appears twice"):
        score(twice, _imported(["p1", "p2"], [1]))
    with pytest.raises(DataError, match="no verdicts to score"):
        score(frame.iloc[:0], _imported(["p1", "p2"], [1]))


# ---------------------------------------------------------------- the declared columns

# The metrics files' columns as io/schemas.py spelled them before they were declared with
# their code (METRICS_COLUMNS and metrics_schema), here for ks = [1, 2, 4], with
# benchmark_problems and min_samples added for imports (part of a benchmark, n_i each).
FILE_COLUMNS = [
    ("model", pa.string()),
    ("benchmark", pa.string()),
    ("variant", pa.string()),
    ("n_problems", pa.int32()),
    ("n_samples", pa.int32()),
    ("benchmark_problems", pa.int32()),
    ("min_samples", pa.int32()),
    ("mean_at_n", pa.float64()),
    ("sampling_se", pa.float64()),
    ("sampling_ci_low", pa.float64()),
    ("sampling_ci_high", pa.float64()),
    ("bootstrap_ci_low", pa.float64()),
    ("bootstrap_ci_high", pa.float64()),
    ("n_responses", pa.int32()),
    ("n_correct", pa.int32()),
    ("n_rule_correct", pa.int32()),
    ("n_sent_to_verifier", pa.int32()),
    ("n_verifier_recovered", pa.int32()),
    ("n_verifier_invalid", pa.int32()),
    ("n_verifier_unparsed", pa.int32()),
    ("n_no_answer", pa.int32()),
    ("no_answer_rate", pa.float64()),
    ("n_truncated", pa.int32()),
    ("truncation_rate", pa.float64()),
    ("accuracy_without_truncated", pa.float64()),
    ("solve_none", pa.int32()),
    ("solve_all", pa.int32()),
    ("length_unit", pa.string()),
    ("mean_completion_tokens", pa.float64()),
    ("tokens_correct_mean", pa.float64()),
    ("tokens_correct_median", pa.float64()),
    ("tokens_correct_p90", pa.float64()),
    ("tokens_incorrect_mean", pa.float64()),
    ("tokens_incorrect_median", pa.float64()),
    ("tokens_incorrect_p90", pa.float64()),
    ("distinct_4gram_ratio", pa.float64()),
    ("pass@1", pa.float64()),
    ("pass@2", pa.float64()),
    ("pass@4", pa.float64()),
    ("maj@1", pa.float64()),
    ("maj@2", pa.float64()),
    ("maj@4", pa.float64()),
]


@pytest.mark.parametrize("majority", [True, False])
def test_the_schema_derived_from_the_declarations_is_the_files(majority):
    schema = metrics_schema([1, 2, 4], majority=majority)
    expected = [c for c in FILE_COLUMNS if majority or not c[0].startswith("maj@")]
    assert [(f.name, f.type) for f in schema] == expected  # column for column
    assert schema.equals(pa.schema(expected), check_metadata=True)  # nullability, no metadata


def test_each_column_is_declared_once_with_a_description():
    columns = [c for m in METRICS for c in m.columns]
    names = [c.name for c in columns]
    assert len(names) == len(set(names))
    assert all(c.doc.strip() and "\n" not in c.doc for c in columns)
    assert [m.majority for m in METRICS] == [False] * (len(METRICS) - 1) + [True]


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


def test_distinct_ngrams():
    assert distinct_ngram_ratio(["a b c d e", "a b c d e"]) == pytest.approx(2 / 4)
    assert distinct_ngram_ratio(["a b c"]) == 0.0


def test_score_rejects_incomplete_samples():
    frame, _ = _frame({"p1": {"correct": [1, 0]}, "p2": {"correct": [1]}})
    with pytest.raises(DataError, match=r"problem 'p2': samples missing \[1\]"):
        score(frame, _spec(["p1", "p2"], 2, [1, 2]))
    frame, _ = _frame({"p1": {"correct": [1, 1]}})
    with pytest.raises(DataError, match=r"problem 'p3': samples missing \[0, 1\]"):
        score(frame, _spec(["p1", "p3"], 2, [1]))


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


def test_the_docs_list_the_declared_columns():
    """docs/outputs.md's table of the metrics columns is the one their declarations give."""
    from conftest import ROOT
    from justeval.metrics.scores import columns_markdown

    text = (ROOT / "docs" / "outputs.md").read_text()
    documented = text.split("<!-- metrics columns: generated from justeval.metrics.scores.METRICS -->\n")[1]
    assert documented.split("<!-- end of the metrics columns -->")[0] == columns_markdown()
