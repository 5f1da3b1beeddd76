"""Metrics of one (model, benchmark, grading variant) from its final verdicts.

mean@N (the published "@N" columns) comes with two uncertainties that answer
different questions: the *sampling* error (how far a rerun with new seeds on
these same problems would move it, from each problem's variance across its N
samples) and a seeded *bootstrap over problems* (how far another set of
problems of the same kind would move it).

Imported outputs (``Spec.n_samples`` None, "as imported") may cover only part of the
benchmark and hold a different number of samples n_i per problem: the problems scored
are those present, each with its own n_i (docs/grading.md, "Imported outputs").

Each group of metrics columns is declared once, with its name, Arrow type and
description, on the function that computes it (see :mod:`justeval.metrics.columns`);
``METRICS`` lists the groups in column order, and :func:`score` (the row) and
:func:`metrics_schema` (the Parquet schema of the metrics files) both follow it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from justeval.io.parquet import DataError
from justeval.metrics.columns import Column, Metric, metric, schema
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


def sampling_se(correct: Sequence[int], n: int | Sequence[int]) -> float:
    """Standard error of mean@N over fixed problems, in fractions.

    Each problem's accuracy c/N estimates its success probability q with
    variance q(1-q)/N; c(N-c)/(N(N-1)) is the unbiased estimate of q(1-q).
    ``n`` is N, or each problem's own n_i (imports): the same terms with n_i,
    SE² = Σ c_i(n_i-c_i)/(n_i²(n_i-1)) / P²; a problem with a single sample
    adds nothing (its variance cannot be estimated), as N = 1 gives 0.
    """
    if not len(correct):
        return 0.0
    ns = [n] * len(correct) if np.ndim(n) == 0 else list(n)
    var = sum(c * (m - c) / (m * (m - 1)) / m for c, m in zip(correct, ns, strict=True) if m >= 2)
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


def check_imported(verdicts: pd.DataFrame, problem_ids: list[str], label: str) -> pd.Series:
    """The sample count n_i of each problem present ("as imported"), in the benchmark's
    order: every such problem must be the benchmark's and have exactly the samples
    0..n_i-1, nothing else."""
    extra = sorted(set(verdicts["problem_id"]) - set(problem_ids))
    if extra:
        raise DataError(f"{label}: problems not in the benchmark: {extra[:5]}")
    dup = verdicts.duplicated(["problem_id", "sample_idx"])
    if dup.any():
        pid, idx = verdicts.loc[dup, ["problem_id", "sample_idx"]].iloc[0].tolist()
        raise DataError(f"{label}: sample {[pid, int(idx)]} appears twice")
    if verdicts.empty:
        raise DataError(f"{label}: no verdicts to score")
    have = verdicts.groupby("problem_id")["sample_idx"].agg(set).to_dict()
    covered = [pid for pid in problem_ids if pid in have]
    for pid in covered:
        got = {int(i) for i in have[pid]}
        expected = set(range(len(got)))
        if got != expected:
            missing = sorted(set(range(max(got) + 1)) - got)[:5]
            surplus = sorted(got - expected)[:5]
            raise DataError(
                f"{label}: problem {pid!r}: samples missing {missing}, unexpected {surplus}"
                f" (as imported: {len(got)} samples, so 0..{len(got) - 1})"
            )
    return pd.Series(
        [len(have[pid]) for pid in covered], index=pd.Index(covered, name="problem_id"), name="n"
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


@dataclass(frozen=True)
class Spec:
    """What is scored: one (model, benchmark, grading variant), and how."""

    model: str
    benchmark: str
    variant: str  # grading variant
    problem_ids: Sequence[str]  # the benchmark's problems (all P), in its order (kept as a tuple)
    n_samples: int | None  # N, samples per problem; None: as imported (the problems present, n_i each)
    ks: Sequence[int]  # k values of pass@k and maj@k (kept as a tuple)
    bootstrap_samples: int  # the config's aggregate.bootstrap_samples
    seed: int  # the config's aggregate.seed
    label: str  # names the verdicts in error messages

    def __post_init__(self) -> None:
        object.__setattr__(self, "problem_ids", tuple(self.problem_ids))
        object.__setattr__(self, "ks", tuple(self.ks))


@dataclass(frozen=True)
class Samples:
    """What every metric is computed from."""

    spec: Spec
    verdicts: pd.DataFrame  # complete, ordered by problem_id, then sample_idx
    correct: pd.Series  # correct samples c_i of each scored problem (int), in the benchmark's order
    n: pd.Series  # samples n_i of each scored problem (int; N each unless imported), indexed like correct
    responses: pd.Series | None  # response texts indexed like verdicts: distinct-4-gram ratio
    equal: Equal | None  # answer equivalence: maj@k


@dataclass(frozen=True)
class Score:
    row: dict[str, Any]  # every metrics column, in schema order
    details: dict[str, Any]  # per_sample_accuracy (%, by sample index), per_problem_correct


# ---------------------------------------------------------------- the metrics columns
# Each group declares its columns next to the code that computes them; METRICS lists
# the groups in column order. docs/outputs.md documents the columns for users.


@metric(
    Column("model", pa.string(), "model alias"),
    Column("benchmark", pa.string(), "benchmark name"),
    Column("variant", pa.string(), "grading variant"),
    Column("n_problems", pa.int32(), "problems scored: the benchmark's, or those an import covers"),
    Column("n_samples", pa.int32(), "N, samples per problem (an import's: the largest n_i)"),
    Column(
        "benchmark_problems",
        pa.int32(),
        "problems in the benchmark (= n_problems unless an import covers part)",
    ),
    Column("min_samples", pa.int32(), "the fewest samples of a problem (= n_samples unless imported)"),
)
def identity(s: Samples) -> dict[str, Any]:
    spec = s.spec
    return {
        "model": spec.model,
        "benchmark": spec.benchmark,
        "variant": spec.variant,
        "n_problems": len(s.correct),
        "n_samples": spec.n_samples if spec.n_samples is not None else int(s.n.max()),
        "benchmark_problems": len(spec.problem_ids),
        "min_samples": spec.n_samples if spec.n_samples is not None else int(s.n.min()),
    }


@metric(
    Column("mean_at_n", pa.float64(), 'mean@N accuracy in %: the published "(@N)" numbers'),
    Column("sampling_se", pa.float64(), "standard error from the samples, these problems fixed"),
    Column("sampling_ci_low", pa.float64(), "mean@N - 1.96 sampling_se"),
    Column("sampling_ci_high", pa.float64(), "mean@N + 1.96 sampling_se"),
    Column("bootstrap_ci_low", pa.float64(), "95 % bootstrap over problems, lower end"),
    Column("bootstrap_ci_high", pa.float64(), "95 % bootstrap over problems, upper end"),
)
def mean_at_n(s: Samples) -> dict[str, Any]:
    accuracy = (s.correct / s.n).to_numpy(dtype=float)  # c_i / n_i: each problem weighs the same
    mean = 100.0 * float(accuracy.mean())
    se = 100.0 * sampling_se(s.correct.tolist(), s.n.tolist())
    for key, value in (("mean_at_n", mean), ("sampling_se", se)):
        if math.isnan(value):
            raise DataError(f"{s.spec.label}: metric {key} is NaN")
    boot_lo, boot_hi = bootstrap_mean_interval(accuracy, s.spec.bootstrap_samples, s.spec.seed)
    return {
        "mean_at_n": mean,
        "sampling_se": se,
        "sampling_ci_low": mean - Z95 * se,
        "sampling_ci_high": mean + Z95 * se,
        "bootstrap_ci_low": 100.0 * boot_lo,
        "bootstrap_ci_high": 100.0 * boot_hi,
    }


@metric(
    Column("n_responses", pa.int32(), "samples scored"),
    Column("n_correct", pa.int32(), "correct samples (final verdict)"),
    Column("n_rule_correct", pa.int32(), "samples the rule grader accepted"),
    Column("n_sent_to_verifier", pa.int32(), "samples the verifier judged"),
    Column("n_verifier_recovered", pa.int32(), "correct samples the rule grader rejected"),
    Column("n_verifier_invalid", pa.int32(), "verifier verdict C"),
    Column("n_verifier_unparsed", pa.int32(), "verifier outputs with no verdict"),
)
def counts(s: Samples) -> dict[str, Any]:
    v = s.verdicts
    verifier = verifier_counts(v)
    return {
        "n_responses": len(v),
        "n_correct": int(v["correct"].sum()),
        "n_rule_correct": verifier["rule_accepted"],
        "n_sent_to_verifier": verifier["sent_to_verifier"],
        "n_verifier_recovered": verifier["recovered"],
        "n_verifier_invalid": verifier["verifier_invalid"],
        "n_verifier_unparsed": verifier["verifier_unparsed"],
    }


@metric(
    Column("n_no_answer", pa.int32(), "samples with no extracted answer"),
    Column("no_answer_rate", pa.float64(), "n_no_answer / n_responses, in %"),
)
def no_answer(s: Samples) -> dict[str, Any]:
    missing = s.verdicts["extracted_answer"].isna()
    return {"n_no_answer": int(missing.sum()), "no_answer_rate": 100.0 * float(missing.mean())}


@metric(
    Column("n_truncated", pa.int32(), "samples with finish_reason == length"),
    Column("truncation_rate", pa.float64(), "n_truncated / n_responses, in %"),
    Column("accuracy_without_truncated", pa.float64(), "accuracy of the samples not truncated"),
)
def truncation(s: Samples) -> dict[str, Any]:
    v = s.verdicts
    truncated = v["finish_reason"] == "length"
    return {
        "n_truncated": int(truncated.sum()),
        "truncation_rate": 100.0 * float(truncated.mean()),
        "accuracy_without_truncated": 100.0 * float(v.loc[~truncated, "correct"].mean())
        if (~truncated).any()
        else float("nan"),
    }


@metric(
    Column("solve_none", pa.int32(), "problems with no correct sample"),
    Column("solve_all", pa.int32(), "problems with every sample correct"),
)
def difficulty(s: Samples) -> dict[str, Any]:
    return {
        "solve_none": int((s.correct == 0).sum()),
        "solve_all": int((s.correct == s.n).sum()),
    }


@metric(
    Column(
        "length_unit",
        pa.string(),
        "the unit of the next seven columns: tokens, or characters for imports without a tokenizer",
    ),
    Column("mean_completion_tokens", pa.float64(), "mean length of all samples"),
    Column("tokens_correct_mean", pa.float64(), "mean length of the correct samples"),
    Column("tokens_correct_median", pa.float64(), "median length of the correct samples"),
    Column("tokens_correct_p90", pa.float64(), "90th percentile length of the correct samples"),
    Column("tokens_incorrect_mean", pa.float64(), "mean length of the incorrect samples"),
    Column("tokens_incorrect_median", pa.float64(), "median length of the incorrect samples"),
    Column("tokens_incorrect_p90", pa.float64(), "90th percentile length of the incorrect samples"),
)
def sample_lengths(s: Samples) -> dict[str, Any]:
    v = s.verdicts
    tokens, unit = lengths(v)
    right, wrong = _length_stats(tokens[v["correct"]]), _length_stats(tokens[~v["correct"]])
    return {
        "length_unit": unit,
        "mean_completion_tokens": float(tokens.mean()),
        "tokens_correct_mean": right[0],
        "tokens_correct_median": right[1],
        "tokens_correct_p90": right[2],
        "tokens_incorrect_mean": wrong[0],
        "tokens_incorrect_median": wrong[1],
        "tokens_incorrect_p90": wrong[2],
    }


@metric(
    Column(
        "distinct_4gram_ratio",
        pa.float64(),
        "distinct / all 4-grams of a problem's responses, averaged (NaN without responses)",
    ),
)
def diversity(s: Samples) -> dict[str, Any]:
    if s.responses is None:
        return {"distinct_4gram_ratio": float("nan")}
    v = s.verdicts
    texts = s.responses.reindex(v.index)
    ratios = [distinct_ngram_ratio(texts[v["problem_id"] == pid].tolist()) for pid in s.correct.index]
    return {"distinct_4gram_ratio": float(np.mean(ratios)) if ratios else float("nan")}


@metric(
    Column(
        "pass@{k}",
        pa.float64(),
        "unbiased pass@k, averaged over problems; NaN if a problem has fewer than k samples",
    )
)
def pass_at(s: Samples) -> dict[str, Any]:
    pairs = [(int(n), int(c)) for n, c in zip(s.n, s.correct, strict=True)]
    fewest = min(n for n, _ in pairs)
    return {
        f"pass@{k}": 100.0 * sum(pass_at_k(n, c, k) for n, c in pairs) / len(pairs)
        if k <= fewest
        else float("nan")
        for k in s.spec.ks
    }


@metric(
    Column(
        "maj@{k}",
        pa.float64(),
        "majority answer of the first k samples correct, share of problems; NaN as pass@k",
    ),
    majority=True,
)
def maj_at(s: Samples) -> dict[str, Any]:
    assert s.equal is not None
    groups = {pid: g for pid, g in s.verdicts.groupby("problem_id", sort=False)}
    fewest = int(s.n.min())
    out = {}
    for k in s.spec.ks:
        if k > fewest:
            out[f"maj@{k}"] = float("nan")
            continue
        wins = 0
        for pid in s.correct.index:
            g = groups[pid].head(k)  # the first k samples by index
            answers = [a if isinstance(a, str) else None for a in g["extracted_answer"]]
            wins += majority_correct(answers, g["correct"].tolist(), s.equal)
        out[f"maj@{k}"] = 100.0 * wins / len(s.correct)
    return out


METRICS: tuple[Metric, ...] = (
    identity,
    mean_at_n,
    counts,
    no_answer,
    truncation,
    difficulty,
    sample_lengths,
    diversity,
    pass_at,
    maj_at,
)


def metrics_schema(ks: Sequence[int], majority: bool = True) -> pa.Schema:
    """The schema of the metrics files (results/<model>/<benchmark>/<variant>/metrics.parquet,
    one row; results/<model>/<benchmark>/scores.parquet, one row per variant) for these k
    values; maj@k only with ``majority``. Percentages are in %."""
    return schema(METRICS, ks, majority)


def score(
    verdicts: pd.DataFrame,
    spec: Spec,
    *,
    responses: pd.Series | None = None,
    equal: Equal | None = None,
) -> Score:
    """Every metrics column of ``spec``'s verdicts (maj@k only with ``equal``), and
    per-sample-index and per-problem details.

    ``responses`` (indexed like ``verdicts``) gives the distinct-4-gram ratio;
    ``equal`` (answer equivalence) gives maj@k. With ``spec.n_samples`` None the
    problems present are scored, each with its own sample count (imports).
    """
    if spec.n_samples is None:
        n = check_imported(verdicts, list(spec.problem_ids), spec.label)
    else:
        check_complete(verdicts, list(spec.problem_ids), spec.n_samples, spec.label)
        n = pd.Series(spec.n_samples, index=pd.Index(list(spec.problem_ids), name="problem_id"), name="n")
    v = verdicts.sort_values(["problem_id", "sample_idx"])
    correct = v.groupby("problem_id")["correct"].sum().reindex(list(n.index)).astype(int)
    samples = Samples(spec, v, correct, n, responses, equal)
    row: dict[str, Any] = {}
    for m in METRICS:
        if m.majority and equal is None:
            continue
        values = m.compute(samples)
        if list(values) != m.names(spec.ks):
            raise AssertionError(f"internal: computed {list(values)}, declared {m.names(spec.ks)}")
        row.update(values)
    most = spec.n_samples if spec.n_samples is not None else int(n.max())
    # each index over the problems that have it (all of them unless imported)
    per_index = v.groupby("sample_idx")["correct"].mean().reindex(range(most))
    details = {
        "per_sample_accuracy": [100.0 * float(x) for x in per_index],
        "per_problem_correct": {pid: int(c) for pid, c in correct.items()},
    }
    return Score(row, details)


def columns_markdown() -> str:
    """The metrics columns as a Markdown table (name, type, meaning), from their
    declarations: docs/outputs.md holds it and a unit test checks the two agree."""
    lines = ["| column | type | meaning |", "| --- | --- | --- |"]
    for m in METRICS:
        for column in m.columns:
            name = column.name.replace("{k}", "k")
            note = " (one per k; only where answers can be compared)" if m.majority else ""
            note = note or (" (one per k)" if "{k}" in column.name else "")
            lines.append(f"| `{name}` | {column.type} | {column.doc}{note} |")
    return "\n".join(lines) + "\n"
