"""The tiny pipeline through a real one-node SLURM cluster, with the project's profile.

CI starts the cluster with ../shared/tools/local-slurm/start-local-slurm.sh
(FAKE_GPUS=1) before the tests. Without a cluster this test is skipped, unless
JUSTEVAL_REQUIRE_SLURM=1 (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BENCHMARKS, ROOT, new_workdir, planned_jobs, snakemake_env, write_config

pytestmark = pytest.mark.pipeline

LOCAL_RULES = {
    "download_model", "prepare_benchmark", "collect_scores", "table", "provenance", "cost", "overlap",
    "overlap_accuracy", "samples_needed", "coverage", "checkpoint_changes", "budget_table", "results_page",
    "problem_view", "log_trackers", "all",
}  # fmt: skip
GPU_RULES = {"generate", "model_grade"}


def _cluster_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    out = subprocess.run(
        ["timeout", "-k", "5", "20", "sinfo", "-h", "-o", "%T"], capture_output=True, text=True
    )
    return out.returncode == 0 and any(s in out.stdout for s in ("idle", "mixed", "allocated"))


@pytest.fixture(scope="module")
def cluster():
    if not _cluster_up():
        if os.environ.get("JUSTEVAL_REQUIRE_SLURM") == "1":
            pytest.fail("JUSTEVAL_REQUIRE_SLURM=1 but no SLURM cluster answers (start-local-slurm.sh)")
        pytest.skip("no SLURM cluster here (start one with ../shared/tools/local-slurm/start-local-slurm.sh)")


def _config(tiny_models) -> dict:
    return {
        "models": [{"name": "tiny", "path": str(tiny_models["random"])}],
        "benchmark_source": str(BENCHMARKS),
        "benchmarks": [{"name": "AIME24", "n_samples": 2, "limit": 3}],
        "generation": {"max_tokens": 16, "shard_size": 1},
        "verifiers": [{"name": "always-a", "path": str(tiny_models["always_a"])}],
        "model_grade": {"verifier": "always-a", "max_tokens": 1},
        "analysis": {"budgets": []},  # the budget curve: tests/pipeline/test_sweep.py
    }


def _snakemake(workdir: Path, configfile: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
    cmd = ["timeout", "-k", "30", str(timeout), sys.executable, "-m", "snakemake",
           "-s", str(ROOT / "Snakefile"), "--configfile", str(configfile), *args]  # fmt: skip
    return subprocess.run(cmd, cwd=workdir, env=snakemake_env(), capture_output=True, text=True)


def test_the_pipeline_runs_on_slurm_like_it_runs_locally(cluster, tmp_path, tiny_models):
    config = _config(tiny_models)
    slurm_dir = new_workdir(tmp_path / "slurm")
    configfile = write_config(slurm_dir / "c.yaml", config)
    planned = planned_jobs(slurm_dir, [configfile])
    remote = {rule: n for rule, n in planned.items() if rule not in LOCAL_RULES}
    # the two rule_grade shards go out together (group-components: 16)
    expected_submissions = sum(remote.values()) - remote["rule_grade"] + 1

    proc = _snakemake(
        slurm_dir, configfile,
        "--profile", str(ROOT / "workflow" / "profiles" / "slurm"),
        # the plugin waits 40 s before its first status check of each wave of jobs
        # (right for a busy cluster); a one-node test cluster answers at once
        "--slurm-init-seconds-before-status-checks", "3",
        "--set-resources", "generate:cpus_per_task=1", "generate:mem_mb=3000",
        "model_grade:cpus_per_task=1", "model_grade:mem_mb=3000",
        timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    output = proc.stdout + proc.stderr
    run_id = re.search(r"SLURM run ID: (\S+)", output).group(1)
    by_rule: dict[str, list[str]] = {}
    for job_id, log in re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", output):
        part = next(p for p in Path(log).parts if p.startswith(("rule_", "group_")))
        by_rule.setdefault(part, []).append(job_id)
    ids = sorted({i for v in by_rule.values() for i in v})
    assert len(ids) == expected_submissions, by_rule
    groups = [job for key, jobs in by_rule.items() if key.startswith("group_") for job in jobs]
    assert "rule_rule_grade" not in by_rule  # no rule_grade shard went out alone
    assert 1 <= len(groups) < remote["rule_grade"]  # the shards went out grouped
    acct = subprocess.run(
        ["timeout", "-k", "5", "60", "sacct", "-n", "-P", "-X", f"--name={run_id}", "-S", "now-2hours",
         "-o", "JobID,State,AllocTRES"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = {line.split("|")[0]: line.split("|") for line in acct.splitlines() if line}
    assert sorted(rows) == ids  # every SLURM job of the run, and no other
    assert all(state == "COMPLETED" for _, state, _ in rows.values())
    for rule in GPU_RULES:
        for job_id in by_rule[f"rule_{rule}"]:
            assert "gres/gpu=1" in rows[job_id][2], (rule, rows[job_id])
    for job_id in groups:
        assert "gres/gpu" not in rows[job_id][2]

    local_dir = new_workdir(tmp_path / "local")
    local_config = write_config(local_dir / "c.yaml", config)
    proc = _snakemake(local_dir, local_config, "--cores", "2", timeout=1200)
    assert proc.returncode == 0, proc.stderr[-6000:]
    compared = 0
    for path in (slurm_dir / "results" / "tiny").rglob("*.parquet"):
        twin = local_dir / path.relative_to(slurm_dir)
        assert path.read_bytes() == twin.read_bytes(), path
        compared += 1
    assert compared == 7  # 2 generation shards, 2 rule-grade shards, verdicts, metrics, scores
    assert (slurm_dir / "results/tables/accuracy.csv").read_text() == (
        local_dir / "results/tables/accuracy.csv"
    ).read_text()
    assert re.search(r"tiny,100\.0,100\.0", (slurm_dir / "results/tables/accuracy.csv").read_text())
