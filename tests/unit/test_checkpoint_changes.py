"""The checkpoint-changes stage checked against computations that share no code with it:
Fisher's exact test against scipy (where installed) and hypergeometric sums worked by
hand, Benjamini-Hochberg against a worked example and the step-up rule as its textbook
states it, the optimism of the best step against an enumeration of every split of a
tiny case.

Real data: a three-checkpoint training run made from the 800 real Qwen2.5-Math verdicts
(100 MATH problems x 8 samples): step 0 is the real file, step 100 makes some problems
always right and some never right, step 200 changes a few more; and the real
R1-Distill / Saturn verdicts (one sample per problem) as two checkpoints.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import zlib
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED, write_verdicts
from justeval.analysis.checkpoints import (
    bh_adjust,
    fisher_exact,
    pick_on_halves,
    random_halves,
    selection,
    smallest_p,
    split_seed,
)
from justeval.command import add_arguments, call
from justeval.stages import checkpoint_changes as stage

QWEN = SHARED / "real-outputs" / "qwen25-math_math-cot-100.jsonl"
SATURN = SHARED / "real-outputs" / "saturn-r1-distill"


# ---------------------------------------------------------------- Fisher's exact test


def hypergeometric_p(ca: int, na: int, cb: int, nb: int) -> float:
    """Two-sided Fisher p by its definition: the probability of every table with the
    margins of this one that is no more likely than it (pmf in exact fractions)."""
    total, k = na + nb, ca + cb

    def pmf(x):
        return Fraction(math.comb(k, x) * math.comb(total - k, na - x), math.comb(total, na))

    seen = pmf(ca)
    return float(sum(pmf(x) for x in range(0, min(k, na) + 1) if k - x <= nb and pmf(x) <= seen))


def test_fisher_by_hand():
    # 0/8 against 8/8: the two most extreme tables of 8 correct among 16: 2 / C(16, 8)
    assert fisher_exact(0, 8, 8, 8) == pytest.approx(2 / 12870, rel=1e-12)
    # 2/8 against 8/8: 10 correct; x (correct at the first) from 2 to 8 has weights
    # C(10,x) C(6,8-x) = 45, 720, 3150, 5040, 3150, 720, 45 (sum 12870 = C(16,8));
    # as unlikely as x = 2 or less: x = 2 and x = 8, 90 / 12870
    assert fisher_exact(2, 8, 8, 8) == pytest.approx(90 / 12870, rel=1e-12)
    # 3/8 against 0/8: 3 correct; weights C(3,x) C(13,8-x) = 1287, 5148, 5148, 1287
    assert fisher_exact(3, 8, 0, 8) == pytest.approx(2574 / 12870, rel=1e-12)
    # nothing changed: p = 1; one sample each can never be told apart
    assert fisher_exact(5, 8, 5, 8) == 1.0
    assert fisher_exact(0, 1, 1, 1) == 1.0 and smallest_p(1, 1) == 1.0
    assert smallest_p(4, 4) == pytest.approx(2 / 70) and smallest_p(8, 8) == pytest.approx(2 / 12870)


@pytest.mark.parametrize("na,nb", [(1, 1), (4, 4), (8, 8), (3, 5), (32, 32)])
def test_fisher_against_the_definition_on_every_table(na, nb):
    for ca in range(na + 1):
        for cb in range(nb + 1):
            assert fisher_exact(ca, na, cb, nb) == pytest.approx(hypergeometric_p(ca, na, cb, nb), rel=1e-12)


@pytest.mark.parametrize("na,nb", [(4, 4), (8, 8), (3, 5), (16, 16)])
def test_fisher_against_scipy(na, nb):
    stats = pytest.importorskip("scipy.stats")
    for ca in range(na + 1):
        for cb in range(nb + 1):
            table = [[ca, na - ca], [cb, nb - cb]]
            expected = stats.fisher_exact(table, alternative="two-sided")[1]
            assert fisher_exact(ca, na, cb, nb) == pytest.approx(min(1.0, expected), rel=1e-9)


# ---------------------------------------------------------------- Benjamini-Hochberg


def step_up(p_values: list[float], alpha: float) -> set[int]:
    """The hypotheses Benjamini-Hochberg rejects: the i smallest p-values, for the largest
    i with p_(i) <= i alpha / m."""
    order = sorted(range(len(p_values)), key=lambda j: p_values[j])
    m = len(p_values)
    last = max((i for i in range(1, m + 1) if p_values[order[i - 1]] <= i * alpha / m), default=0)
    return set(order[:last])


def test_bh_by_hand():
    # sorted 0.005 0.01 0.03 0.04 0.5 (m = 5): times 5/i: 0.025 0.025 0.05 0.05 0.5,
    # already non-decreasing
    q = bh_adjust([0.01, 0.04, 0.03, 0.005, 0.5])
    assert q == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    # the step-up: 0.04 * 3/1 = 0.12 and 0.041 * 3/2 = 0.0615 come down to 0.042, so all
    # three are listed at 0.05 though 0.04 > 0.05 / 3
    q = bh_adjust([0.042, 0.04, 0.041])
    assert q == pytest.approx([0.042, 0.042, 0.042])
    assert step_up([0.042, 0.04, 0.041], 0.05) == {0, 1, 2}
    assert bh_adjust([0.9, 0.8]) == pytest.approx([0.9, 0.9])
    assert bh_adjust([1.0, 1.0, 1.0]).tolist() == [1.0, 1.0, 1.0]


def test_q_at_most_alpha_is_the_step_up_rule():
    rng = np.random.default_rng(5)
    for _ in range(200):
        p = np.concatenate([rng.uniform(0, 0.02, rng.integers(0, 5)), rng.uniform(0, 1, 15)]).tolist()
        for alpha in (0.05, 0.1, 0.2):
            assert {i for i, q in enumerate(bh_adjust(p)) if q <= alpha} == step_up(p, alpha)


# ---------------------------------------------------------------- the best step's optimism


def brute_force(accs: list[list[list[Fraction]]]) -> tuple[list[int], list[Fraction], int, Fraction]:
    """Every split (the selection half: n // 2 problems of each benchmark), in exact
    fractions: the picked step and its held-out score per split, the naive best step and
    its full score. Scores average over benchmarks; ties go to the earliest step."""

    def mean(values):
        return sum(values, Fraction(0)) / len(values)

    steps = len(accs[0])
    halves = [list(itertools.combinations(range(len(a[0])), len(a[0]) // 2)) for a in accs]
    picked, honest = [], []
    for choice in itertools.product(*halves):
        sel, held = [], []
        for s in range(steps):
            sel.append(mean([mean([a[s][p] for p in half]) for a, half in zip(accs, choice, strict=True)]))
            held.append(
                mean(
                    [
                        mean([a[s][p] for p in range(len(a[s])) if p not in half])
                        for a, half in zip(accs, choice, strict=True)
                    ]
                )
            )
        best = max(range(steps), key=lambda s: (sel[s], -s))
        picked.append(best)
        honest.append(held[best])
    full = [mean([mean(a[s]) for a in accs]) for s in range(steps)]
    naive = max(range(steps), key=lambda s: (full[s], -s))
    return picked, honest, naive, full[naive]


def all_halves(n: int) -> np.ndarray:
    combos = list(itertools.combinations(range(n), n // 2))
    mask = np.zeros((len(combos), n), dtype=bool)
    for i, combo in enumerate(combos):
        mask[i, list(combo)] = True
    return mask


# three steps x problems, accuracies c/4 with ties between steps on some halves
TINY_A = [[1, 3, 0, 2], [2, 2, 1, 2], [3, 0, 2, 1]]
TINY_B = [[4, 1, 0], [2, 2, 2], [1, 3, 1]]


def test_the_optimism_equals_an_enumeration_of_every_split():
    exact = [[[Fraction(c, 4) for c in row] for row in TINY_A]]
    picked, honest, naive, naive_score = brute_force(exact)
    acc = np.array(TINY_A) / 4
    result = selection([acc], [all_halves(4)])
    assert result.picked.tolist() == picked
    assert result.honest == pytest.approx([float(h) for h in honest], abs=1e-12)
    assert (result.best, result.best_accuracy) == (naive, pytest.approx(float(naive_score)))
    gaps = [float(naive_score - h) for h in honest]
    summary = result.summary()
    assert summary["gap"] == pytest.approx(float(naive_score - sum(honest) / len(honest)), abs=1e-12)
    assert [summary["gap_low"], summary["gap_high"]] == pytest.approx(np.percentile(gaps, [2.5, 97.5]))
    assert summary["picked_best_share"] == pytest.approx(picked.count(naive) / len(picked))
    assert summary["gap"] > 0  # picking on the same problems flatters the pick

    # seeded random halves approach the enumeration
    drawn = selection([acc], [random_halves(4, 6000, seed=1)])
    assert drawn.summary()["gap"] == pytest.approx(summary["gap"], abs=0.01)


def test_the_avg_optimism_equals_an_enumeration_over_both_benchmarks():
    exact = [
        [[Fraction(c, 4) for c in row] for row in TINY_A],
        [[Fraction(c, 4) for c in row] for row in TINY_B],
    ]
    picked, honest, naive, naive_score = brute_force(exact)
    a, b = np.array(TINY_A) / 4, np.array(TINY_B) / 4
    ha, hb = all_halves(4), all_halves(3)
    # every pair of halves: the rows of the two benchmarks' masks, crossed
    rows = list(itertools.product(range(len(ha)), range(len(hb))))
    masks = [ha[[r[0] for r in rows]], hb[[r[1] for r in rows]]]
    got_picked, got_honest = pick_on_halves([a, b], masks)
    assert got_picked.tolist() == picked
    assert got_honest == pytest.approx([float(h) for h in honest], abs=1e-12)
    result = selection([a, b], masks)
    assert (result.best, result.best_accuracy) == (naive, pytest.approx(float(naive_score)))


def test_random_halves_are_halves():
    mask = random_halves(7, 500, seed=0)
    assert (mask.sum(axis=1) == 3).all()
    assert (mask == random_halves(7, 500, seed=0)).all()
    # each problem is in the selection half about 3/7 of the time
    assert mask.mean(axis=0) == pytest.approx([3 / 7] * 7, abs=0.07)
    # two benchmarks of one size are split independently
    a, b = (random_halves(30, 50, split_seed(0, name)) for name in ("AIME24", "AIME25"))
    assert (a != b).any() and (a == random_halves(30, 50, split_seed(0, "AIME24"))).all()


# ---------------------------------------------------------------- the stage on real data


def qwen_run() -> dict[str, dict[str, list[bool]]]:
    """Three checkpoints made from the real verdicts (problem -> 8 verdicts each). The
    real file's problems below 8 of 8: p3 0, p6 3, p17 4, p28 2, p37 6 (first half);
    p54 1, p58 4, p70 3, p72 0, p81 7, p84 0, p85 0, p92 6, p98 4 (second half)."""
    rows = [json.loads(line) for line in QWEN.read_text().splitlines()]
    step0 = {f"p{i}": [bool(s) for s in row["score"]] for i, row in enumerate(rows)}
    step100 = {}
    for pid, samples in step0.items():
        c = sum(samples)
        # learned (0, 1, 2 of 8 -> 8; 4 -> 8 is within noise), forgotten (6, 7 -> 0)
        learned = c in (1, 2, 4) or pid == "p72"
        step100[pid] = [True] * 8 if learned else [False] * 8 if c in (6, 7) else list(samples)
    step200 = dict(step100)
    for pid in ("p10", "p11", "p12"):  # right 8 of 8 before: forgotten wholly
        step200[pid] = [False] * 8
    step200["p13"] = step100["p13"][:5] + [False] * 3  # 8 of 8 -> 5 of 8: noise
    step200["p3"] = [True] * 4 + [False] * 4  # 0 of 8 -> 4 of 8: p = 0.077, noise among 50
    return {"step-0": step0, "step-100": step100, "step-200": step200}


def listed_by_hand(a: dict, b: dict, fdr: float) -> tuple[set, set]:
    """Learned and forgotten by the definitions: Fisher's p from the pmf, the step-up rule."""
    pids = list(a)
    p = [hypergeometric_p(sum(a[x]), len(a[x]), sum(b[x]), len(b[x])) for x in pids]
    hits = step_up(p, fdr)
    moved = [(pids[i], sum(b[pids[i]]) - sum(a[pids[i]])) for i in hits]
    return {x for x, d in moved if d > 0}, {x for x, d in moved if d < 0}


@pytest.fixture(scope="module")
def qwen_stage(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    run = qwen_run()
    halves = {"MATH-a": [f"p{i}" for i in range(50)], "MATH-b": [f"p{i}" for i in range(50, 100)]}
    paths = [
        write_verdicts(folder, model, bench, {p: run[model][p] for p in pids})
        for model in run
        for bench, pids in halves.items()
    ]
    # a second variant's verdicts are left out
    paths.append(
        write_verdicts(folder, "step-0", "MATH-a", {p: [True] * 8 for p in halves["MATH-a"]}, "other")
    )
    models = {m: {"step": int(m.split("-")[1]), "run": "qwen-run"} for m in reversed(run)}
    models["lone"] = {"step": None, "run": None}
    settings = {
        "models": models, "benchmarks": {"MATH-a": 8, "MATH-b": 8}, "variants": ["main", "other"],
        "bootstrap_samples": 100, "seed": 0, "fdr": 0.1, "selection_splits": 200,
    }  # fmt: skip
    parser = argparse.ArgumentParser()
    add_arguments(parser, stage.checkpoint_changes)
    args = parser.parse_args(
        ["--verdicts", *paths, "--settings", json.dumps(settings), "--markdown", str(folder / "c.md"),
         "--csv", str(folder / "c.csv")]
    )  # fmt: skip
    call(stage.checkpoint_changes, args)
    return run, halves, settings, pd.read_csv(folder / "c.csv"), (folder / "c.md").read_text()


def test_the_fixture_changes_some_problems_and_not_others(qwen_stage):
    run, *_ = qwen_stage
    for model, samples in run.items():
        acc = np.mean([sum(v) / 8 for v in samples.values()])
        assert 0.5 < acc < 1, model
    assert run["step-0"] != run["step-100"] != run["step-200"]


def test_learned_and_forgotten_are_the_step_up_rule_on_fisher_p_values(qwen_stage):
    run, halves, settings, table, text = qwen_stage
    changes = table[table["section"] == "change"]
    pairs = list(dict.fromkeys(zip(changes["from_model"], changes["to_model"], strict=True)))
    assert pairs == [("step-0", "step-100"), ("step-100", "step-200")]  # by step, not config order
    listed_any = {"learned": 0, "forgotten": 0, "noise": 0}
    for a, b in pairs:
        for bench, pids in halves.items():
            part = changes[
                (changes["from_model"] == a) & (changes["to_model"] == b) & (changes["benchmark"] == bench)
            ]
            assert part["problem_id"].tolist() == pids
            ra, rb = {p: run[a][p] for p in pids}, {p: run[b][p] for p in pids}
            learned, forgotten = listed_by_hand(ra, rb, settings["fdr"])
            got = part[part["significant"]]
            assert set(got.loc[got["change"] == "learned", "problem_id"]) == learned
            assert set(got.loc[got["change"] == "forgotten", "problem_id"]) == forgotten
            for row in part.itertuples():
                assert row.p_value == pytest.approx(
                    hypergeometric_p(int(row.correct_from), 8, int(row.correct_to), 8), rel=1e-12
                )
            moved = part[part["change"] != "same"]
            listed_any["learned"] += len(learned)
            listed_any["forgotten"] += len(forgotten)
            listed_any["noise"] += len(moved) - len(learned) - len(forgotten)
    # something of each kind: learned, forgotten, and moves too small to list
    assert all(listed_any.values()), listed_any
    listed = set(changes.loc[changes["significant"], "problem_id"])
    assert {"p10", "p11", "p12", "p54", "p72", "p81", "p92"} <= listed
    assert not {"p3", "p13", "p58", "p98"} & listed  # 0 -> 4, 8 -> 5, 4 -> 8 of 8: noise
    assert "Learned and forgotten" in text and "learned" in text and "forgotten" in text


def test_the_best_step_and_its_honest_estimate(qwen_stage):
    run, halves, settings, table, text = qwen_stage
    chosen = table[table["section"] == "selection"].set_index("benchmark")
    assert chosen.index.tolist() == ["MATH-a", "MATH-b", "Avg"]
    steps = ["step-0", "step-100", "step-200"]
    means = {
        bench: [np.mean([sum(run[m][p]) / 8 for p in pids]) for m in steps] for bench, pids in halves.items()
    }
    means["Avg"] = list(np.mean([means["MATH-a"], means["MATH-b"]], axis=0))
    for bench, row in chosen.iterrows():
        best = int(np.argmax(np.round(means[bench], 12)))
        assert row["best_model"] == steps[best] and row["best_step"] == [0, 100, 200][best]
        assert row["best_accuracy"] == pytest.approx(100 * max(means[bench]))
        assert row["gap"] == pytest.approx(row["best_accuracy"] - row["honest_accuracy"])
        assert row["honest_low"] <= row["honest_accuracy"] <= row["honest_high"]
        assert 100 * min(means[bench]) - 10 < row["honest_accuracy"] < 100 * max(means[bench]) + 10
        assert row["splits"] == 200 and row["checkpoints"] == 3
    # the Avg row is the brute force's kind of pick on the same seeded splits
    accs = [np.array([[sum(run[m][p]) / 8 for p in pids] for m in steps]) for pids in halves.values()]
    masks = [random_halves(50, 200, seed=[0, zlib.crc32(b.encode())]) for b in halves]
    picked, honest = pick_on_halves(accs, masks)
    assert chosen.loc["Avg", "honest_accuracy"] == pytest.approx(100 * honest.mean())
    assert "Picking the best checkpoint" in text


def test_one_sample_per_problem_lists_nothing(tmp_path):
    """The real R1-Distill-7B and Saturn-7B verdicts as two checkpoints: N = 1 can never
    tell a problem's change from noise (smallest p = 1)."""
    labels = json.loads((SATURN / "labels.json").read_text())
    paths = []
    for model, stem in (("r1", "DeepSeek-R1-Distill-Qwen-7B"), ("saturn", "Saturn-7B")):
        file = f"{stem}__aime24.jsonl"
        ids = [json.loads(line)["example_id"] for line in (SATURN / file).read_text().splitlines()]
        paths.append(
            write_verdicts(
                tmp_path, model, "AIME24", {p: [bool(v)] for p, v in zip(ids, labels[file], strict=True)}
            )
        )
    settings = {
        "models": {"r1": {"step": 0, "run": "s"}, "saturn": {"step": 1, "run": "s"}},
        "benchmarks": {"AIME24": 1}, "variants": ["main"], "bootstrap_samples": 100, "seed": 0,
        "fdr": 0.1, "selection_splits": 50,
    }  # fmt: skip
    stage.checkpoint_changes(
        verdicts=paths,
        settings=settings,
        markdown_out=str(tmp_path / "c.md"),
        csv_out=str(tmp_path / "c.csv"),
    )
    table = pd.read_csv(tmp_path / "c.csv")
    changes = table[table["section"] == "change"]
    assert len(changes) == 30 and (changes["change"] != "same").sum() > 0
    assert not changes["significant"].any() and (changes["p_value"] == 1).all()
    text = (tmp_path / "c.md").read_text()
    assert "No problem changed beyond sampling noise" in text
    assert "| AIME24" in text


def test_a_run_without_steps_writes_a_page_that_says_so(tmp_path):
    paths = [write_verdicts(tmp_path, "m", "MATH", {"p": [True, False]})]
    settings = {
        "models": {"m": {"step": None, "run": None}}, "benchmarks": {"MATH": 2}, "variants": ["main"],
        "bootstrap_samples": 100, "seed": 0, "fdr": 0.1, "selection_splits": 10,
    }  # fmt: skip
    stage.checkpoint_changes(
        verdicts=paths,
        settings=settings,
        markdown_out=str(tmp_path / "c.md"),
        csv_out=str(tmp_path / "c.csv"),
    )
    assert pd.read_csv(tmp_path / "c.csv").empty
    assert "nothing to show" in (tmp_path / "c.md").read_text()
