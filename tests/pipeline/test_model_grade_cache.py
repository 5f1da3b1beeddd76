"""model_grade through the real Snakefile: the per-row verifier cache, scopes, and a
verifier that answers nothing usable.

A tiny policy model that always answers \\boxed{7} meets three problems whose gold
answers are 7, \\frac{14}{2} and 8. The justeval grader matches the first two, so
only problem 3's samples go to the verifier; JustRL's grader compares unreduced
fractions as strings and so rejects problem 2 too. Switching graders must send the
verifier exactly problem 2's samples, and problem 3's verdicts must come back from
the cache unchanged.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import new_workdir, planned_jobs, run_snakemake, snakemake_env, write_config

pytestmark = pytest.mark.pipeline

GOLDS = {"CACHE-1": "7", "CACHE-2": "\\frac{14}{2}", "CACHE-3": "8"}
VERDICT_COLUMNS = ["verifier_verdict", "verifier_output", "input_truncated", "sent_to_verifier"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_models):
    root = tmp_path_factory.mktemp("cache-run")
    source = root / "src" / "CACHE" / "test.parquet"
    source.parent.mkdir(parents=True)
    pd.DataFrame(
        {
            "problem_idx": [1, 2, 3],
            "problem": ["Compute 3 + 4.", "Compute 14 / 2.", "Compute 4 + 4."],
            "answer": list(GOLDS.values()),
        }
    ).to_parquet(source)
    workdir = new_workdir(root / "run")
    config = {
        "models": [{"name": "boxed7", "path": str(tiny_models["boxed7"])}],
        "benchmark_source": str(root / "src"),
        "benchmarks": [{"name": "CACHE", "n_samples": 2, "shard_size": 2}],
        "generation": {"max_tokens": 6},
        "verifiers": [
            {"name": "always-a", "path": str(tiny_models["always_a"])},
            {"name": "random", "path": str(tiny_models["random"])},
        ],
        "model_grade": {"verifier": "always-a", "max_tokens": 1, "cache": str(root / "verifier-cache")},
        "analysis": {"budgets": []},  # the budget curve: tests/pipeline/test_sweep.py
    }
    return workdir, config, root


def _run(workdir, config, trace, name):
    configfile = write_config(workdir / f"{name}.yaml", config)
    before = trace.read_text().splitlines() if trace.exists() else []
    run_snakemake(
        workdir, "--cores", "2", configfiles=[configfile], env=snakemake_env(JUSTEVAL_ENGINE_TRACE=str(trace))
    )
    calls = [json.loads(line) for line in trace.read_text().splitlines()[len(before) :]]
    return [c for c in calls if c["job"].startswith("model_grade")], configfile


def _verdicts(workdir) -> pd.DataFrame:
    return pq.read_table(workdir / "results" / "boxed7" / "CACHE" / "main" / "verdicts.parquet").to_pandas()


def test_cache_scopes_and_an_unusable_verifier(setup):
    workdir, config, root = setup
    trace = root / "trace.jsonl"

    # 1: the justeval grader matches problems 1 and 2; problem 3 goes to the verifier
    calls, _ = _run(workdir, config, trace, "first")
    assert [sorted(c["keys"]) for c in calls] == [["CACHE-3#0", "CACHE-3#1"]]
    first = _verdicts(workdir)
    assert first["status"].tolist() == ["match", "match", "match", "match", "mismatch", "mismatch"]
    assert first["correct"].all()  # the always-A verifier recovers problem 3
    audit = json.loads(
        (workdir / "results" / "boxed7" / "CACHE" / "main" / "verifier_audit.json").read_text()
    )
    assert (audit["rule_accepted"], audit["sent_to_verifier"], audit["recovered"]) == (4, 2, 2)
    md = (workdir / "results" / "boxed7" / "CACHE" / "main" / "verifier_audit.md").read_text()
    assert "## Recovered by the verifier (2; the first 2)" in md and "### CACHE-3 #0" in md

    # 2: only the rule grader changes; the verifier sees exactly the new leftovers
    config["rule_grade"] = {"grader": "justrl"}
    configfile = write_config(workdir / "second.yaml", config)
    assert planned_jobs(workdir, [configfile]) == {
        "rule_grade": 1,
        "model_grade": 1,
        "aggregate": 1,
        "collect_scores": 1,
        "table": 1,
        "compare": 1,
        "drilldown": 1,
        "plot_pass_at_k": 1,
        "plot_lengths": 1,
        "provenance": 1,
        "cost": 1,
        "overlap": 1,  # training answers are compared with the golds by this grader
        "overlap_accuracy": 1,
        "truncation": 1,
        "samples_needed": 1,
        "problem_view": 1,
        "results_page": 1,
        "all": 1,
    }
    calls, _ = _run(workdir, config, trace, "second")
    assert [sorted(c["keys"]) for c in calls] == [["CACHE-2#0", "CACHE-2#1"]]
    second = _verdicts(workdir)
    assert second["status"].tolist() == ["match", "match", "mismatch", "mismatch", "mismatch", "mismatch"]
    problem3 = second["problem_id"] == "CACHE-3"
    assert second.loc[problem3, VERDICT_COLUMNS].to_dict("records") == (
        first.loc[first["problem_id"] == "CACHE-3", VERDICT_COLUMNS].to_dict("records")
    )
    audit = json.loads(
        (workdir / "results" / "boxed7" / "CACHE" / "main" / "verifier_audit.json").read_text()
    )
    assert audit["answered_from_cache"] == 2 and audit["sent_to_verifier"] == 4

    # 3: a random verifier on every sample (scope all): nothing it says counts
    config["model_grade"].update(verifier="random", scope="all", max_tokens=4)
    calls, _ = _run(workdir, config, trace, "third")
    assert [len(c["keys"]) for c in calls] == [6]
    third = _verdicts(workdir)
    assert third["sent_to_verifier"].all()
    assert (third["verifier_verdict"] == "unparsed").all()
    assert (third["correct"] == third["rule_correct"]).all()
    md = (workdir / "results" / "boxed7" / "CACHE" / "main" / "verifier_audit.md").read_text()
    assert "## Rule grader accepted, verifier did not (2; the first 2)" in md
    scores = pq.read_table(workdir / "results" / "boxed7" / "CACHE" / "scores.parquet").to_pandas()
    assert scores.loc[0, "mean_at_n"] == pytest.approx(100 / 3)
    assert scores.loc[0, "n_verifier_unparsed"] == 6
