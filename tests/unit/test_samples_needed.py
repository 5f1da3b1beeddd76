"""Samples needed: every number checked against a computation written here on its own
(exact enumeration over small cases, the formulas by hand, a search for the least N), on
the 800 real Qwen2.5-Math responses of ../shared/real-outputs (100 MATH problems x 8
samples with that harness's verdicts: mean 91 %, neither all solved nor all failed) and
the one-sample Saturn runs, through the stage's files."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import statistics
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED
from justeval.analysis.samples import (
    ANY_N,
    NOT_ESTIMABLE,
    PROBLEMS,
    SAMPLING,
    counts,
    needed_samples,
    paired_halfwidth,
    problem_floor,
    unit_variances,
)
from justeval.command import add_arguments
from justeval.io.parquet import DataError, write_parquet
from justeval.io.schemas import VERDICTS
from justeval.metrics.scores import Z95, sampling_se
from justeval.stages import samples_needed as stage

QWEN = SHARED / "real-outputs" / "qwen25-math_math-cot-100.jsonl"
SATURN = SHARED / "real-outputs" / "saturn-r1-distill"
Z = 1.959963984540054  # the 97.5 % normal quantile, written out


@pytest.fixture(scope="module")
def qwen() -> list[list[bool]]:
    """Each problem's 8 verdicts."""
    return [[bool(s) for s in json.loads(line)["score"]] for line in QWEN.read_text().splitlines()]


def by_hand_halfwidth(correct: list[int], n: int) -> float:
    """1.96 sqrt(sum p(1-p) n/(n-1) / n) / P, with p = c/n, in plain Python."""
    total = 0.0
    for c in correct:
        p = c / n
        total += p * (1 - p) * n / (n - 1)
    return Z * math.sqrt(total / n) / len(correct)


def least_n(correct_sets: list[tuple[list[int], int]], problems: int, target: float) -> int:
    """The least N' whose half-width (one-sample variances summed over the models) is at
    most ``target``, by trying N' = 1, 2, ..."""
    variance = 0.0
    for correct, n in correct_sets:
        for c in correct:
            variance += c * (n - c) / (n * (n - 1))
    n_prime = 1
    while Z * math.sqrt(variance / n_prime) / problems > target:
        n_prime += 1
    return n_prime


# ------------------------------------------------------------------ exact enumerations


def binomial(n: int, q: Fraction) -> list[Fraction]:
    return [math.comb(n, c) * q**c * (1 - q) ** (n - c) for c in range(n + 1)]


@pytest.mark.parametrize("n", [2, 3, 5, 8])
@pytest.mark.parametrize("q", [Fraction(1, 10), Fraction(37, 100), Fraction(1, 2), Fraction(9, 10)])
def test_the_one_sample_variance_is_unbiased(n, q):
    v = unit_variances(list(range(n + 1)), n)
    expected = sum(float(w) * v[c] for c, w in enumerate(binomial(n, q)))
    assert expected == pytest.approx(float(q * (1 - q)), abs=1e-12)


@pytest.fixture(scope="module")
def enumeration():
    """Every outcome of 3 problems (success rates 1/5, 1/2, 9/10) with N = 3 samples each,
    with its probability."""
    qs, n = [Fraction(1, 5), Fraction(1, 2), Fraction(9, 10)], 3
    dists = [binomial(n, q) for q in qs]
    outcomes = []
    for cs in itertools.product(range(n + 1), repeat=len(qs)):
        prob = math.prod(dists[i][c] for i, c in enumerate(cs))
        outcomes.append((list(cs), float(prob)))
    return qs, n, outcomes


def test_the_sampling_halfwidth_estimates_the_exact_variance_of_mean_at_n(enumeration):
    qs, n, outcomes = enumeration
    mean = sum(p * sum(cs) / (n * len(qs)) for cs, p in outcomes)
    exact = sum(p * (sum(cs) / (n * len(qs)) - mean) ** 2 for cs, p in outcomes)
    assert exact == pytest.approx(sum(float(q * (1 - q)) for q in qs) / n / len(qs) ** 2, rel=1e-12)
    settings = {"bootstrap_samples": 100, "seed": 0}
    expected_square = 0.0
    for cs, p in outcomes:
        row = stage.model_row(pd.Series(cs), n, 1.0, settings)
        assert row["sampling_halfwidth"] == pytest.approx(100 * by_hand_halfwidth(cs, n), abs=1e-12)
        expected_square += p * (row["sampling_halfwidth"] / 100 / Z) ** 2
    assert expected_square == pytest.approx(exact, rel=1e-12)  # unbiased for the variance


def test_the_floor_estimates_the_spread_of_the_success_rates(enumeration):
    qs, n, outcomes = enumeration
    spread = statistics.variance([float(q) for q in qs])  # ddof 1
    expected = 0.0
    for cs, p in outcomes:
        acc = [c / n for c in cs]
        noise = [c * (n - c) / (n * (n - 1)) / n for c in cs]
        raw = statistics.variance(acc) - sum(noise) / len(noise)
        expected += p * raw
        floor = problem_floor(acc, noise, Z)
        assert (floor / Z) ** 2 * len(cs) == pytest.approx(max(0.0, raw), abs=1e-12)
    assert expected == pytest.approx(spread, rel=1e-12)  # unbiased before the clip at zero


def test_the_bootstrap_against_the_exact_resampling_distribution():
    values = np.array([0.0, 0.25, 0.75, 1.0])
    means = sorted(sum(t) / 4 for t in itertools.product(values, repeat=4))  # 256, equally likely

    def quantile(level: float) -> float:
        return means[min(len(means) - 1, math.ceil(level * len(means)) - 1)]

    settings = {"bootstrap_samples": 20000, "seed": 3}
    half = stage._bootstrap_halfwidth(values, settings)
    low, high = (
        (quantile(0.975) - quantile(0.025)) / 2 - 0.0625,
        (quantile(0.975) - quantile(0.025)) / 2 + 0.0625,
    )
    assert low <= half <= high  # within one step of the resampled mean's lattice (1/16)
    exact_sd = math.sqrt(statistics.pvariance(values) / 4)
    assert half == pytest.approx(Z * exact_sd, rel=0.15)


# ------------------------------------------------------------------ on real verdicts


def test_one_model_on_real_verdicts(qwen):
    correct, n = [sum(s) for s in qwen], 8
    assert 0 < sum(correct) < n * len(correct)
    row = stage.model_row(pd.Series(correct), n, 1.0, {"bootstrap_samples": 4000, "seed": 0})
    by_hand = 100 * by_hand_halfwidth(correct, n)
    assert row["sampling_halfwidth"] == pytest.approx(by_hand, abs=1e-9)
    assert row["sampling_halfwidth"] == pytest.approx(100 * Z95 * sampling_se(correct, n), abs=1e-9)
    assert row["estimate"] == pytest.approx(100 * sum(correct) / (n * len(correct)))
    assert row["n_for_target"] == least_n([(correct, n)], len(correct), 0.01)
    assert row["n_for_target"] == 9  # ±1.05 at N = 8
    assert row["resolvable_difference"] == pytest.approx(math.sqrt(2) * by_hand, abs=1e-9)
    # the problems: the bootstrap over them holds both parts
    acc = [c / n for c in correct]
    noise = [c * (n - c) / (n * (n - 1)) / n for c in correct]
    floor = 100 * Z * math.sqrt(statistics.variance(acc) - statistics.fmean(noise)) / math.sqrt(len(acc))
    assert row["problem_floor"] == pytest.approx(floor, abs=1e-9)
    assert row["bootstrap_halfwidth"] == pytest.approx(math.hypot(by_hand, floor), rel=0.08)
    assert row["bootstrap_halfwidth"] == pytest.approx(
        100 * Z * statistics.pstdev(acc) / math.sqrt(len(acc)), rel=0.08
    )
    assert row["limit"] == PROBLEMS  # ±4.8 from 100 problems at 91 %, ±1.05 from sampling


@pytest.mark.parametrize("target", [0.25, 0.5, 1.0, 2.0, 5.0])
def test_the_needed_n_is_the_least_one(qwen, target):
    for n, part in ((8, qwen), (4, [s[:4] for s in qwen]), (3, [s[5:] for s in qwen])):
        correct = [sum(s) for s in part]
        variance = float(unit_variances(correct, n).sum())
        assert needed_samples(variance, len(correct), target / 100, Z95) == least_n(
            [(correct, n)], len(correct), target / 100
        )


def test_any_n_without_sampling_variance():
    assert needed_samples(0.0, 10, 0.01, Z95) is None
    with pytest.raises(ValueError, match="positive"):
        needed_samples(1.0, 10, 0.0, Z95)


def test_a_pair_on_real_verdicts(qwen):
    """Samples 0-3 as one model, 4-7 as another, on the same 100 problems."""
    a, b = [sum(s[:4]) for s in qwen], [sum(s[4:]) for s in qwen]
    ids = [f"p{i}" for i in range(len(qwen))]
    row = stage.pair_row(
        (pd.Series(a, index=ids), 4),
        (pd.Series(b, index=ids), 4),
        1.0,
        {"bootstrap_samples": 4000, "seed": 0},
    )
    d = [(cb - ca) / 4 for ca, cb in zip(a, b, strict=True)]
    assert row["estimate"] == pytest.approx(100 * statistics.fmean(d))
    assert row["resolvable_difference"] == pytest.approx(
        100 * Z * statistics.stdev(d) / math.sqrt(len(d)), abs=1e-9
    )
    noise = sum(c * (4 - c) / 12 / 4 for c in a + b)
    assert row["sampling_halfwidth"] == pytest.approx(100 * Z * math.sqrt(noise) / len(d), abs=1e-9)
    assert row["n_for_target"] == least_n([(a, 4), (b, 4)], len(d), 0.01)
    assert row["resolvable_basis"].startswith("paired")
    # the same model twice: its difference does not vary by problem beyond the noise
    assert row["problem_floor"] == pytest.approx(0.0, abs=0.5)
    assert paired_halfwidth(d, Z) == pytest.approx(row["resolvable_difference"] / 100)


# ------------------------------------------------------------------ the stage


def _write(folder, model: str, bench: str, variant: str, verdicts: list[list[bool]]) -> str:
    rows = [
        {"problem_id": f"{bench}-{i}", "sample_idx": j, "correct": ok}
        for i, samples in enumerate(verdicts)
        for j, ok in enumerate(samples)
    ]
    frame = pd.DataFrame(rows)
    extra = {
        "seed": 0, "extracted_answer": None, "status": "match", "layer": "string",
        "sent_to_verifier": False, "verifier_verdict": None, "verifier_output": None,
        "input_truncated": False, "completion_tokens": None,
        "finish_reason": "stop", "response_chars": 100,
    }  # fmt: skip
    for key, value in extra.items():
        frame[key] = value
    frame["rule_correct"] = frame["correct"]
    path = folder / model / bench / variant / "verdicts.parquet"
    write_parquet(
        frame, path, VERDICTS, {"identity": {"model": model, "benchmark": bench, "variant": variant}}
    )
    return str(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory, qwen):
    """MATH: the Qwen samples split into qwen-a (0-3) and qwen-b (4-7), qwen-a graded twice
    (main, and strict: its first sample of every fifth problem wrong); AIME24: the two
    Saturn 7B runs, one sample each; SPLIT: half the problems always solved, half never;
    EASY: every problem always solved."""
    folder = tmp_path_factory.mktemp("samples")
    strict = [[ok and not (i % 5 == 0 and j == 0) for j, ok in enumerate(s[:4])] for i, s in enumerate(qwen)]
    labels = json.loads((SATURN / "labels.json").read_text())
    paths = [
        _write(folder, "qwen-a", "MATH", "main", [s[:4] for s in qwen]),
        _write(folder, "qwen-a", "MATH", "strict", strict),
        _write(folder, "qwen-b", "MATH", "main", [s[4:] for s in qwen]),
        _write(
            folder,
            "r1-7b",
            "AIME24",
            "main",
            [[ok] for ok in labels["DeepSeek-R1-Distill-Qwen-7B__aime24.jsonl"]],
        ),
        _write(folder, "saturn-7b", "AIME24", "main", [[ok] for ok in labels["Saturn-7B__aime24.jsonl"]]),
        _write(folder, "qwen-a", "SPLIT", "main", [[i % 2 == 0] * 4 for i in range(20)]),
        _write(folder, "qwen-a", "EASY", "main", [[True] * 4 for _ in range(20)]),
    ]
    settings = {
        "target_halfwidth": 1.0, "bootstrap_samples": 2000, "seed": 0,
        "models": ["r1-7b", "saturn-7b", "qwen-b", "qwen-a"],
        "benchmarks": ["AIME24", "MATH", "SPLIT", "EASY"],
        "variants": ["main", "strict"], "compare": [["qwen-b", "qwen-a"], ["r1-7b", "saturn-7b"]],
    }  # fmt: skip
    md, csv = folder / "s.md", folder / "s.csv"
    stage.samples_needed(verdicts=paths[::-1], settings=settings, markdown_out=str(md), csv_out=str(csv))
    return {
        "csv": pd.read_csv(csv, keep_default_na=False, na_values=[""]),
        "md": md.read_text(),
        "paths": paths,
    }


def test_rows_follow_the_settings_order(built):
    table = built["csv"]
    keys = list(
        zip(table["benchmark"], table["model"], table["vs"].fillna(""), table["variant"], strict=True)
    )
    assert keys == [
        ("AIME24", "r1-7b", "", "main"), ("AIME24", "saturn-7b", "", "main"),
        ("AIME24", "r1-7b", "saturn-7b", "main"),
        ("MATH", "qwen-b", "", "main"), ("MATH", "qwen-a", "", "main"), ("MATH", "qwen-a", "", "strict"),
        ("MATH", "qwen-b", "qwen-a", "main"),
        ("SPLIT", "qwen-a", "", "main"), ("EASY", "qwen-a", "", "main"),
    ]  # fmt: skip


def test_the_files_hold_the_numbers_checked_by_hand(built, qwen):
    table = built["csv"].fillna({"vs": ""})
    row = table[(table["model"] == "qwen-a") & (table["variant"] == "main") & (table["benchmark"] == "MATH")]
    row = row.iloc[0]
    correct = [sum(s[:4]) for s in qwen]
    assert row["sampling_halfwidth"] == pytest.approx(100 * by_hand_halfwidth(correct, 4), abs=1e-4)
    assert row["n_for_target"] == least_n([(correct, 4)], 100, 0.01)
    assert row["limit"] == PROBLEMS and row["samples"] == 4 and row["problems"] == 100
    strict = table[(table["variant"] == "strict")].iloc[0]
    assert strict["estimate"] < row["estimate"]
    pair = table[(table["benchmark"] == "MATH") & (table["vs"] == "qwen-a")].iloc[0]
    d = [(sum(s[:4]) - sum(s[4:])) / 4 for s in qwen]  # qwen-a − qwen-b
    assert pair["estimate"] == pytest.approx(100 * statistics.fmean(d), abs=1e-4)
    assert pair["resolvable_difference"] == pytest.approx(100 * Z * statistics.stdev(d) / 10, abs=1e-4)
    assert pair["limit"] == SAMPLING  # one model's samples split in two: sampling is all there is


def test_one_sample_each_hides_the_sampling_error(built):
    table = built["csv"].fillna({"vs": ""})
    aime = table[table["benchmark"] == "AIME24"]
    assert set(aime["limit"]) == {NOT_ESTIMABLE}
    assert aime["sampling_halfwidth"].isna().all() and aime["n_for_target"].isna().all()
    labels = json.loads((SATURN / "labels.json").read_text())
    r1 = [float(x) for x in labels["DeepSeek-R1-Distill-Qwen-7B__aime24.jsonl"]]
    sat = [float(x) for x in labels["Saturn-7B__aime24.jsonl"]]
    assert 0 < sum(r1) < 30 and 0 < sum(sat) < 30
    one = aime[(aime["model"] == "r1-7b") & (aime["vs"] == "")].iloc[0]
    assert one["bootstrap_halfwidth"] == pytest.approx(
        100 * Z * statistics.pstdev(r1) / math.sqrt(30), rel=0.15
    )
    pair = aime[aime["vs"] == "saturn-7b"].iloc[0]
    d = [s - r for r, s in zip(r1, sat, strict=True)]
    assert pair["resolvable_difference"] == pytest.approx(
        100 * Z * statistics.stdev(d) / math.sqrt(30), abs=1e-4
    )


def test_all_or_nothing_benchmarks(built):
    table = built["csv"]
    split = table[table["benchmark"] == "SPLIT"].iloc[0]
    easy = table[table["benchmark"] == "EASY"].iloc[0]
    assert split["sampling_halfwidth"] == 0 and pd.isna(split["n_for_target"]) and split["limit"] == PROBLEMS
    assert split["problem_floor"] == pytest.approx(
        100 * Z * statistics.stdev([1, 0] * 10) / math.sqrt(20), abs=1e-4
    )
    assert easy["limit"] == ANY_N and easy["problem_floor"] == 0 and easy["bootstrap_halfwidth"] == 0
    page = built["md"]
    assert re.search(r"\| EASY +\| qwen-a +\| main +\| +20 \| +4 \| +100\.00 \| ±0\.00 +\| any N", page)


def test_the_page_says_when_the_problems_are_the_limit(built):
    page = built["md"]
    assert "qwen-a on MATH (main): **the problem set, not N, is the limit**" in page
    assert "no N brings the interval over problems under ±1" in page
    assert "r1-7b on AIME24 (main): at N = 1 the sampling error cannot be told apart" in page
    assert "every problem is all solved or all failed at N = 4: any N" in page
    rows = [line for line in page.splitlines() if line.startswith("|")]
    assert len({len(re.findall(r"(?<!\\)\|", line)) for line in rows}) == 1  # no cell breaks its row


def test_unequal_samples_per_problem_are_an_error(tmp_path):
    path = _write(tmp_path, "m", "B", "main", [[True, False], [False, False], [True]])
    with pytest.raises(DataError, match="has 1 samples, the others 2"):
        counts(pd.read_parquet(path), path)


def test_the_command_line_options():
    options = argparse.ArgumentParser()
    add_arguments(options, stage.samples_needed)
    args = options.parse_args(["--verdicts", "a", "b", "--settings", "{}", "--markdown", "m", "--csv", "c"])
    assert (args.verdicts, args.settings, args.markdown_out, args.csv_out) == (["a", "b"], {}, "m", "c")
