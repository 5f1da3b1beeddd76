"""Comparisons across models: published figures, paired bootstraps, grading variants, plots."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import ROOT
from justeval.metrics.formatting import markdown
from justeval.stages.plots import pass_at_k_plot, steps_plot
from justeval.stages.tables import (
    agreement_lines,
    paired_comparison,
    published_comparison,
    variant_comparison,
)

SETTINGS = {
    "models": {"A": {}, "B": {"published": "JustRL-DeepSeek-1.5B"}},
    "benchmarks": {"AIME24": 4, "AIME25": 4},
    "variants": ["main", "strict"],
    "compare": None,
    "bootstrap_samples": 1000,
    "seed": 0,
}


def verdicts_of(correct: dict[str, list[bool]]) -> pd.DataFrame:
    rows = [
        {"problem_id": pid, "sample_idx": i, "correct": ok, "extracted_answer": "1", "status": "match"}
        for pid, flags in correct.items()
        for i, ok in enumerate(flags)
    ]
    return pd.DataFrame(rows)


def test_published_comparison_flags_values_outside_our_interval():
    published = pd.read_csv(ROOT / "data" / "justrl_published.csv")
    assert len(published) == 8
    assert published.set_index("model").loc["BroRL", ["AMC23", "HMMT25", "Avg"]].isna().all()
    metrics = pd.DataFrame(
        [
            {"model": "B", "benchmark": "AIME24", "variant": "main", "mean_at_n": 50.0,
             "sampling_ci_low": 48.0, "sampling_ci_high": 53.0},
            {"model": "B", "benchmark": "AIME25", "variant": "main", "mean_at_n": 30.0,
             "sampling_ci_low": 28.0, "sampling_ci_high": 32.0},
            {"model": "A", "benchmark": "AIME24", "variant": "main", "mean_at_n": 10.0,
             "sampling_ci_low": 9.0, "sampling_ci_high": 11.0},
        ]
    )  # fmt: skip
    table = published_comparison(metrics, published, SETTINGS)
    assert table["model"].tolist() == ["B", "B"]  # A has no published row
    aime24, aime25 = table.to_dict("records")
    assert aime24["published"] == 52.60 and aime24["delta"] == pytest.approx(-2.6)
    assert aime24["published_outside_interval"] == "no"
    assert aime25["published"] == 38.75 and aime25["published_outside_interval"] == "yes"


def test_paired_bootstrap():
    a = {f"p{i}": [False, False, False, False] for i in range(20)}
    b = {f"p{i}": [True, True, False, False] for i in range(20)}
    verdicts = {
        ("A", "AIME24", "main"): verdicts_of(a),
        ("B", "AIME24", "main"): verdicts_of(b),
        ("A", "AIME25", "main"): verdicts_of(a),
        ("B", "AIME25", "main"): verdicts_of(a),
    }
    table = paired_comparison(verdicts, SETTINGS)
    rows = {r["benchmark"]: r for r in table.to_dict("records")}
    assert set(rows) == {"AIME24", "AIME25", "Avg"}
    assert rows["AIME24"]["delta"] == pytest.approx(50.0)
    assert rows["AIME24"]["ci_low"] == pytest.approx(50.0)  # every problem moves by the same amount
    assert rows["AIME24"]["p_b_better"] == 1.0
    assert rows["AIME25"]["delta"] == 0.0 and rows["AIME25"]["p_b_better"] == 0.0
    assert rows["Avg"]["delta"] == pytest.approx(25.0)
    assert rows["AIME24"]["problems"] == 20


def test_paired_bootstrap_interval_is_wide_when_problems_disagree():
    a = {f"p{i}": [i % 2 == 0] * 4 for i in range(30)}
    b = {f"p{i}": [i % 2 == 1] * 4 for i in range(30)}
    table = paired_comparison(
        {("A", "AIME24", "main"): verdicts_of(a), ("B", "AIME24", "main"): verdicts_of(b)},
        {**SETTINGS, "benchmarks": {"AIME24": 4}},
    )
    row = table.iloc[0]
    assert row["delta"] == 0.0 and row["ci_low"] < -25 and row["ci_high"] > 25


def test_variant_comparison():
    main = verdicts_of({"p1": [True, False], "p2": [True, True]})
    strict = verdicts_of({"p1": [False, False], "p2": [True, True]})
    table = variant_comparison({("A", "AIME24", "main"): main, ("A", "AIME24", "strict"): strict}, SETTINGS)
    (row,) = table.to_dict("records")
    counts = ("samples", "verdicts_differ", "only_primary_correct", "only_variant_correct")
    assert [row[k] for k in counts] == [4, 1, 1, 0]
    assert (row["accuracy_primary"], row["accuracy_variant"]) == (75.0, 50.0)
    assert agreement_lines(table) == [
        "- `strict` agrees with the primary grading on 3 of 4 samples (75.00 %); 1 verdicts differ."
    ]


def test_plots_are_written(tmp_path):
    metrics = tmp_path / "m.parquet"
    pd.DataFrame(
        [
            {"model": f"ckpt-{s}", "benchmark": "AIME24", "variant": "main", "mean_at_n": 10.0 + s / 100,
             "sampling_ci_low": 8.0 + s / 100, "sampling_ci_high": 12.0 + s / 100,
             "pass@1": 10.0, "pass@2": 15.0, "pass@4": 20.0}
            for s in (100, 200, 300)
        ]
    ).to_parquet(metrics)  # fmt: skip
    outputs = [str(tmp_path / "p.png"), str(tmp_path / "p.svg")]
    pass_at_k_plot([str(metrics)], "AIME24", outputs, "main")
    models = {f"ckpt-{s}": {"step": s, "run": "r1"} for s in (100, 200, 300)}
    steps = [str(tmp_path / "s.png"), str(tmp_path / "s.svg")]
    steps_plot([str(metrics)], "AIME24", models, steps, "main")
    for path in outputs + steps:
        assert (tmp_path / path).stat().st_size > 1000
    first = (tmp_path / "s.svg").read_bytes()
    steps_plot([str(metrics)], "AIME24", models, steps, "main")
    assert (tmp_path / "s.svg").read_bytes() == first  # no timestamps: same data, same file


def test_counts_print_as_integers_and_delta_is_the_difference_of_means():
    a = {f"p{i}": [i % 3 == 0] * 4 for i in range(30)}
    b = {f"p{i}": [i % 2 == 0] * 4 for i in range(30)}
    verdicts = {
        (m, bench, "main"): verdicts_of(v)
        for m, v in (("A", a), ("B", b))
        for bench in SETTINGS["benchmarks"]
    }
    table = paired_comparison(verdicts, SETTINGS)
    for row in table.to_dict("records"):
        assert row["delta"] == pytest.approx(row["mean_b"] - row["mean_a"])
    assert table["mean_a"].iloc[0] == pytest.approx(100 * 10 / 30) and table["mean_b"].iloc[0] == 50.0
    text = markdown(table)
    header, _rule, *lines = text.splitlines()
    names = [c.strip() for c in header.strip("|").split("|")]
    cells = {line.split("|")[3].strip(): [c.strip() for c in line.strip("|").split("|")] for line in lines}
    assert cells["AIME24"][names.index("problems")] == "30"  # a count, not 30.00
    assert cells["Avg"][names.index("problems")] == "–"  # no problem count for the average


def test_variant_comparison_keeps_config_order():
    settings = {**SETTINGS, "models": {"zeta": {}, "alpha": {}}, "variants": ["main", "strict"]}
    one = verdicts_of({"p1": [True, False]})
    verdicts = {
        (m, b, v): one for m in ("alpha", "zeta") for b in ("AIME25", "AIME24") for v in ("main", "strict")
    }
    table = variant_comparison(verdicts, settings)
    assert list(zip(table["model"], table["benchmark"], strict=True)) == [
        ("zeta", "AIME24"), ("zeta", "AIME25"), ("alpha", "AIME24"), ("alpha", "AIME25"),
    ]  # fmt: skip
