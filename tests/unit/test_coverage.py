"""The coverage stage checked against computations of its own numbers that share no code
with it: pass@k from math.comb in exact fractions, the paired bootstrap against an
enumeration of every possible resample of a tiny case, k* by a plain loop.

Real data: the 800 real Qwen2.5-Math verdicts (100 MATH problems x 8 samples) as the
base, and a "sharpened" model made from it (problems the base solves sometimes made
always right, three made never right, one it never solves made right 3 times of 8);
the real R1-Distill and Saturn verdicts on AIME24 and AIME25 (one sample per problem).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED, verdict_frame, write_verdicts
from justeval.analysis.coverage import pair_coverage, problem_counts, resample_indices
from justeval.command import add_arguments, call
from justeval.io.parquet import DataError
from justeval.metrics.figures import plots_by_benchmark, save_figure
from justeval.metrics.scores import pass_at_k
from justeval.stages import coverage as stage

QWEN = SHARED / "real-outputs" / "qwen25-math_math-cot-100.jsonl"
SATURN = SHARED / "real-outputs" / "saturn-r1-distill"


def qwen_models() -> tuple[dict, dict, dict]:
    """(base, sharpened, what was changed): problem -> 8 verdicts each."""
    rows = [json.loads(line) for line in QWEN.read_text().splitlines()]
    base = {f"p{i}": [bool(s) for s in row["score"]] for i, row in enumerate(rows)}
    model, changed = {}, {"sharpened": [], "lost": [], "gained": []}
    for pid, samples in base.items():
        c = sum(samples)
        if c in (2, 4, 6, 7):
            model[pid] = [True] * 8
            changed["sharpened"].append(pid)
        elif c in (1, 3):
            model[pid] = [False] * 8
            changed["lost"].append(pid)
        elif c == 0 and not changed["gained"]:
            model[pid] = [True, False, False, True, False, True, False, False]
            changed["gained"].append(pid)
        else:
            model[pid] = list(samples)
    return base, model, changed


def exact_pass(counts: list[int], n: int, k: int) -> Fraction:
    """Mean over problems of 1 - C(n-c, k) / C(n, k), in exact fractions."""
    return sum(Fraction(1) - Fraction(math.comb(n - c, k), math.comb(n, k)) for c in counts) / len(counts)


def first_catch_up(base: list[Fraction], model: list[Fraction]) -> int | None:
    for k, (a, b) in enumerate(zip(base, model, strict=True), start=1):
        if a >= b:
            return k
    return None


def empirical_quantile(values: list, q: float):
    """The smallest value v with at least a share q of the values <= v."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@pytest.fixture(scope="module")
def qwen():
    base, model, changed = qwen_models()
    result = pair_coverage(verdict_frame(base), verdict_frame(model), pass_at_k, resamples=2000, seed=0)
    return base, model, changed, result


def test_the_fixture_is_neither_trivial_nor_one_sided(qwen):
    base, model, changed, c = qwen
    assert 0.5 < c.base[0] < 1 and 0.5 < c.model[0] < 1
    assert c.model[0] > c.base[0] and c.model[-1] < c.base[-1]  # ahead at k=1, behind at k=8
    assert all(len(v) for v in changed.values())


def test_pass_at_k_matches_the_binomial_formula_for_every_k(qwen):
    base, model, _, c = qwen
    counts_a = [sum(v) for v in base.values()]
    counts_b = [sum(v) for v in model.values()]
    assert c.ks == list(range(1, 9))
    for k in c.ks:
        assert c.base[k - 1] == pytest.approx(float(exact_pass(counts_a, 8, k)), abs=1e-13)
        assert c.model[k - 1] == pytest.approx(float(exact_pass(counts_b, 8, k)), abs=1e-13)
    # the real file's own figures: mean@8 = 91.0 %, pass@8 = 96/100
    assert c.base[0] == pytest.approx(0.91) and c.base[-1] == pytest.approx(0.96)


def test_crossover_and_the_problems_only_one_solves(qwen):
    base, model, changed, c = qwen
    curve_a = [exact_pass([sum(v) for v in base.values()], 8, k) for k in range(1, 9)]
    curve_b = [exact_pass([sum(v) for v in model.values()], 8, k) for k in range(1, 9)]
    assert curve_a[0] < curve_b[0] and c.base_below_at_1
    assert c.kstar == first_catch_up(curve_a, curve_b) == 3
    only = c.only.set_index("problem_id")
    assert set(only.index[only["solved_by"] == "base"]) == set(changed["lost"])
    assert set(only.index[only["solved_by"] == "model"]) == set(changed["gained"])
    for pid, row in only.iterrows():
        assert row["accuracy_base"] == sum(base[pid]) / 8
        assert row["accuracy_model"] == sum(model[pid]) / 8


def test_the_paired_bootstrap_equals_an_enumeration_of_every_resample():
    """4 problems, 3 samples: all 4^4 resamples, each equally likely, as the bootstrap's
    rows; every interval and share against the enumeration's own distribution."""
    counts_a, counts_b, n = [3, 1, 1, 0], [3, 3, 0, 1], 3
    base = verdict_frame({f"q{i}": [j < c for j in range(n)] for i, c in enumerate(counts_a)})
    model = verdict_frame({f"q{i}": [j < c for j in range(n)] for i, c in enumerate(counts_b)})
    every = np.array(list(itertools.product(range(4), repeat=4)))
    c = pair_coverage(base, model, pass_at_k, idx=every)

    curves_a, curves_b, kstars = [], [], []
    for rows in every:
        a = [exact_pass([counts_a[i] for i in rows], n, k) for k in (1, 2, 3)]
        b = [exact_pass([counts_b[i] for i in rows], n, k) for k in (1, 2, 3)]
        curves_a.append(a)
        curves_b.append(b)
        kstars.append(first_catch_up(a, b))
    for i in range(3):
        a = [float(v[i]) for v in curves_a]
        b = [float(v[i]) for v in curves_b]
        d = [float(y[i] - x[i]) for x, y in zip(curves_a, curves_b, strict=True)]
        assert c.base_interval[:, i] == pytest.approx(np.percentile(a, [2.5, 97.5]), abs=1e-12)
        assert c.model_interval[:, i] == pytest.approx(np.percentile(b, [2.5, 97.5]), abs=1e-12)
        assert c.delta_interval[:, i] == pytest.approx(np.percentile(d, [2.5, 97.5]), abs=1e-12)
    # the point: 5/12 < 7/12 at k=1, 7/12 < 8/12 at k=2, 3/4 = 3/4 at k=3
    assert c.kstar == 3 and c.base_below_at_1
    ranked = [4 if k is None else k for k in kstars]  # none up to N ranks above N
    low, high = empirical_quantile(ranked, 0.025), empirical_quantile(ranked, 0.975)
    assert c.kstar_interval == (None if low > 3 else low, None if high > 3 else high)
    assert c.share_crossing == pytest.approx(sum(k is not None for k in kstars) / len(every))
    assert c.share_not_below_at_1 == pytest.approx(sum(k == 1 for k in kstars) / len(every))
    assert 0 < c.share_not_below_at_1 < c.share_crossing < 1  # all three cases occur

    # seeded resamples approach the enumeration
    drawn = pair_coverage(base, model, pass_at_k, resamples=20000, seed=3)
    assert drawn.share_crossing == pytest.approx(c.share_crossing, abs=0.015)
    assert drawn.share_not_below_at_1 == pytest.approx(c.share_not_below_at_1, abs=0.015)


def test_resamples_are_the_house_bootstrap_draw():
    rng = np.random.default_rng(7)
    assert (resample_indices(5, 4, 7) == rng.integers(0, 5, size=(4, 5))).all()


def test_a_model_that_never_catches_up_has_no_crossover():
    base = verdict_frame({"a": [True, False], "b": [False, False]})
    model = verdict_frame({"a": [True, True], "b": [True, False]})
    c = pair_coverage(base, model, pass_at_k, resamples=200, seed=0)
    assert c.kstar is None and c.base_below_at_1
    assert c.kstar_interval[1] is None  # the upper end: none up to N
    assert c.only["problem_id"].tolist() == ["b"] and c.only["solved_by"].tolist() == ["model"]


def test_uneven_samples_are_refused():
    frame = verdict_frame({"a": [True, False], "b": [True]})
    with pytest.raises(DataError, match="different numbers of samples"):
        problem_counts(frame)


# ---------------------------------------------------------------- the stage


def saturn_verdicts(folder) -> tuple[list[str], dict]:
    """The real R1-Distill and Saturn verdicts (labels.json) on AIME24 and AIME25."""
    labels = json.loads((SATURN / "labels.json").read_text())
    paths, truth = [], {}
    names = {"R1-1.5B": "DeepSeek-R1-Distill-Qwen-1_5B", "Saturn-1.5B": "Saturn-1_5B"}
    names |= {"R1-7B": "DeepSeek-R1-Distill-Qwen-7B", "Saturn-7B": "Saturn-7B"}
    for model, stem in names.items():
        for bench, suffix in (("AIME24", "aime24"), ("AIME25", "aime25")):
            file = f"{stem}__{suffix}.jsonl"
            ids = [json.loads(line)["example_id"] for line in (SATURN / file).read_text().splitlines()]
            correct = dict(zip(ids, ([bool(v)] for v in labels[file]), strict=True))
            truth[model, bench] = {pid: v[0] for pid, v in correct.items()}
            paths.append(write_verdicts(folder, model, bench, correct))
    return paths, truth


def settings_of(models: dict, benchmarks: dict, pairs: list | None) -> dict:
    return {
        "models": models, "benchmarks": benchmarks, "variants": ["main"],
        "bootstrap_samples": 500, "seed": 0, "coverage": pairs,
    }  # fmt: skip


def run_stage(settings: dict, verdicts: list[str], out, plots: list[str]) -> pd.DataFrame:
    parser = argparse.ArgumentParser()
    add_arguments(parser, stage.coverage)
    args = parser.parse_args(
        ["--verdicts", *verdicts, "--settings", json.dumps(settings), "--markdown", str(out / "c.md"),
         "--csv", str(out / "c.csv"), "--plots", *plots]
    )  # fmt: skip
    call(stage.coverage, args)
    return pd.read_csv(out / "c.csv")


def test_one_sample_per_problem_on_the_real_aime_outputs(tmp_path):
    """N = 1: pass@1 only; k* is 1 (the base is not below) or none up to N."""
    paths, truth = saturn_verdicts(tmp_path)
    models = {m: {"step": None, "run": None} for m in ("R1-1.5B", "Saturn-1.5B", "R1-7B", "Saturn-7B")}
    pairs = [{"base": "R1-1.5B", "model": "Saturn-1.5B"}, {"base": "R1-7B", "model": "Saturn-7B"}]
    plots = [str(tmp_path / "plots" / f"{b}.{ext}") for b in ("AIME24", "AIME25") for ext in ("png", "svg")]
    table = run_stage(settings_of(models, {"AIME24": 1, "AIME25": 1}, pairs), paths, tmp_path, plots)
    curves = table[table["section"] == "pass_at_k"]
    assert len(curves) == 4 and set(curves["k"]) == {1}
    crossings = table[table["section"] == "crossover"].set_index(["base", "benchmark"])
    only = table[table["section"] == "only_one"]
    seen = set()
    for row in curves.itertuples():
        a, b = truth[row.base, row.benchmark], truth[row.model, row.benchmark]
        assert row.pass_base == pytest.approx(100 * sum(a.values()) / len(a))
        assert row.pass_model == pytest.approx(100 * sum(b.values()) / len(b))
        assert 0 < row.pass_base < 100 and 0 < row.pass_model < 100
        cross = crossings.loc[row.base, row.benchmark]
        if sum(a.values()) >= sum(b.values()):
            assert cross["k_star"] == 1 and not cross["base_below_at_1"]
        else:
            assert pd.isna(cross["k_star"]) and cross["base_below_at_1"]
        seen.add(bool(cross["base_below_at_1"]))
        mine = only[(only["base"] == row.base) & (only["benchmark"] == row.benchmark)]
        assert set(mine.loc[mine["solved_by"] == "base", "problem_id"]) == {p for p in a if a[p] and not b[p]}
        assert set(mine.loc[mine["solved_by"] == "model", "problem_id"]) == {
            p for p in a if b[p] and not a[p]
        }
        assert cross["only_base"] + cross["only_model"] == len(mine)
    assert seen == {True, False}  # both cases among the real pairs
    for path in plots:
        assert (tmp_path / "plots" / path.rsplit("/", 1)[1]).stat().st_size > 0
    text = (tmp_path / "c.md").read_text()
    assert "none up to N = 1" in text and "no crossover" in text


def test_the_plot_shows_both_curves_their_bands_and_the_crossover(qwen, tmp_path):
    *_, c = qwen
    results = [("qwen", "sharpened", "MATH", c)]
    fig = stage.coverage_figure(results, "MATH")
    (ax,) = fig.axes
    lines = {line.get_gid(): line for line in ax.get_lines()}
    assert list(lines["coverage base"].get_xdata()) == list(range(1, 9))
    assert list(lines["coverage base"].get_ydata()) == pytest.approx(100 * c.base)
    assert list(lines["coverage model"].get_ydata()) == pytest.approx(100 * c.model)
    assert list(lines["crossover"].get_xdata()) == [c.kstar, c.kstar] == [3, 3]
    assert ax.get_xscale() == "log"
    bands = [p.get_paths()[0].vertices for p in ax.collections if p.get_paths()]
    for band, interval in zip(bands[:2], (c.base_interval, c.model_interval), strict=True):
        ys = band[:, 1]
        assert ys.min() == pytest.approx(100 * interval[0].min()) and ys.max() == pytest.approx(
            100 * interval[1].max()
        )
    import matplotlib.pyplot as plt

    plt.close(fig)
    # the same data give the same files
    one, two = tmp_path / "a" / "MATH.svg", tmp_path / "b" / "MATH.svg"
    save_figure(stage.coverage_figure(results, "MATH"), [str(one)])
    save_figure(stage.coverage_figure(results, "MATH"), [str(two)])
    assert one.read_bytes() == two.read_bytes()


def test_a_sweep_compares_its_first_checkpoint_with_its_last_by_default(tmp_path):
    base, model, _ = qwen_models()
    middle = {pid: v[:4] + [True] * 4 for pid, v in base.items()}
    paths = [
        write_verdicts(tmp_path, name, "MATH", frame)
        for name, frame in (("step-0", base), ("step-50", middle), ("step-100", model))
    ]
    models = {"step-0": {"step": 0, "run": "r"}, "step-50": {"step": 50, "run": "r"}}
    models |= {"step-100": {"step": 100, "run": "r"}, "other": {"step": None, "run": None}}
    settings = settings_of(models, {"MATH": 8}, None)
    assert stage.pairs(settings) == [("step-0", "step-100")]
    table = run_stage(settings, paths, tmp_path, [str(tmp_path / "MATH.png")])
    curves = table[table["section"] == "pass_at_k"]
    assert set(zip(curves["base"], curves["model"], strict=True)) == {("step-0", "step-100")}
    assert curves["k"].tolist() == list(range(1, 9))
    direct = pair_coverage(verdict_frame(base), verdict_frame(model), pass_at_k, resamples=500, seed=0)
    assert curves["pass_model"].to_numpy() == pytest.approx(100 * direct.model)
    assert curves["delta_low"].to_numpy() == pytest.approx(100 * direct.delta_interval[0])
    named = settings_of(models, {"MATH": 8}, [{"base": "step-50", "model": "step-100"}])
    assert stage.pairs(named) == [("step-50", "step-100")]
    with pytest.raises(DataError, match="not in the run"):
        stage.pairs(settings_of(models, {"MATH": 8}, [{"base": "step-0", "model": "nope"}]))


def test_no_pair_writes_a_page_that_says_so(tmp_path):
    paths = [write_verdicts(tmp_path, "m", "MATH", {"p": [True, False]})]
    settings = settings_of({"m": {"step": None, "run": None}}, {"MATH": 2}, None)
    table = run_stage(settings, paths, tmp_path, [str(tmp_path / "MATH.svg")])
    assert table.empty and list(table.columns) == stage.COLUMNS
    assert "No pair to compare" in (tmp_path / "c.md").read_text()
    with pytest.raises(DataError, match="coverage plot"):
        plots_by_benchmark([str(tmp_path / "Other.png")], "coverage", {"MATH": 2})


def test_one_sample_per_problem_plots_its_points_with_error_bars(qwen):
    base, model, *_ = qwen
    first = [{p: v[:1] for p, v in m.items()} for m in (base, model)]
    c = pair_coverage(verdict_frame(first[0]), verdict_frame(first[1]), pass_at_k, resamples=500, seed=0)
    assert c.ks == [1]
    fig = stage.coverage_figure([("a", "b", "MATH", c), ("a", "b", "AIME24", c)], "MATH")
    (ax,) = fig.axes  # only the pairs on this benchmark
    lines = {line.get_gid(): line for line in ax.get_lines()}
    assert list(lines["coverage base"].get_ydata()) == pytest.approx([100 * c.base[0]])
    assert "crossover" not in lines
    bars = sorted((float(s[0][1]), float(s[1][1])) for coll in ax.collections for s in coll.get_segments())
    expected = sorted([tuple(100 * c.base_interval[:, 0]), tuple(100 * c.model_interval[:, 0])])
    assert np.array(bars) == pytest.approx(np.array(expected))
    import matplotlib.pyplot as plt

    plt.close(fig)
