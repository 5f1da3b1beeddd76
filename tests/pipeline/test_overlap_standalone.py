"""The overlap check through the real Snakefile, on its own: a config with no model vets
a real training set (LIMR's 8,523 problems, a JSON array as published) against the nine
benchmarks, and its copies are exactly the pairs labelled the same problem by hand."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from conftest import BENCHMARKS, SHARED, new_workdir, planned_jobs, run_snakemake, write_config

pytestmark = pytest.mark.pipeline

LIMR = SHARED / "training-sets" / "limr-math8k"
TRAIN = {"name": "limr", "path": str(LIMR / "math.8k.json"), "column": "prompt"}


def _config(**train) -> dict:
    return {
        "models": [],
        "benchmark_source": str(BENCHMARKS),
        "overlap": {"train": [{**TRAIN, **train}]},
    }


def test_no_model_plans_the_benchmarks_and_the_overlap_check_only(tmp_path):
    workdir = new_workdir(tmp_path / "plan")
    configfile = write_config(workdir / "vet.yaml", _config(answer_column="answer", id_column="id"))
    expected = {"prepare_benchmark": 9, "overlap": 1}
    assert planned_jobs(workdir, [configfile]) == {**expected, "all": 1}
    assert planned_jobs(workdir, [configfile], "overlap") == expected
    # with the default protocol's models configured, the overlap target still needs none
    default = write_config(workdir / "default.yaml", {"benchmark_source": str(BENCHMARKS)})
    assert planned_jobs(workdir, [default], "overlap") == expected


def test_a_training_file_in_no_known_format_is_one_config_error(tmp_path):
    workdir = new_workdir(tmp_path)
    bad = tmp_path / "train.csv"
    bad.write_text("prompt,answer\nWhat is 1+1?,2\n")
    configfile = write_config(
        workdir / "vet.yaml", {**_config(), "overlap": {"train": [{**TRAIN, "path": str(bad)}]}}
    )
    proc = run_snakemake(workdir, "--dry-run", "overlap", configfiles=[configfile], check=False)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "config error" in line]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert f"overlap.train[0].path: {bad}: not a training set in any known format" in lines[0]
    assert "Traceback" not in proc.stderr


def test_the_copies_of_a_real_training_set_are_the_hand_labelled_ones(tmp_path):
    workdir = new_workdir(tmp_path)
    configfile = write_config(workdir / "vet.yaml", _config(answer_column="answer", id_column="id"))
    run_snakemake(workdir, "--cores", "2", "overlap", configfiles=[configfile])
    tables = workdir / "results" / "tables"
    pairs = pd.read_csv(tables / "overlap.csv", dtype={"other_id": str})
    limr = pairs[pairs["other"] == "limr"]
    with open(LIMR / "labels.csv", newline="") as fh:
        labels = list(csv.DictReader(fh))
    same = {(r["problem_id"], r["train_id"]) for r in labels if r["same_problem"] == "True"}
    different = {(r["problem_id"], r["train_id"]) for r in labels if r["same_problem"] == "False"}
    by_label = {
        label: set(zip(part["problem_id"], part["other_id"], strict=True))
        for label, part in limr.groupby("label")
    }
    assert by_label["copy"] == same  # every labelled copy, and nothing else, is a copy
    assert different & by_label["look-alike"]  # labelled look-alikes are reported, as look-alikes
    # the texts are whole in the CSV, and the counts agree with the pairs
    assert limr["other_text"].str.len().max() > 300
    summary = pd.read_csv(tables / "overlap_summary.csv").set_index(["benchmark", "other"])
    per_bench = limr[limr["label"] == "copy"].groupby("benchmark")["problem_id"].nunique()
    for bench, count in per_bench.items():
        assert summary.loc[(bench, "limr"), "copy"] == count
    assert not (workdir / "results" / "tables" / "overlap_accuracy.csv").exists()
