"""Sweep entries: one model per checkpoint folder, and the sweep table's numbers."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from conftest import date_back
from justeval.config.models import check_weights_folder, expand_sweeps, safetensors_mismatch
from justeval.config.schema import ConfigError
from justeval.stages.tables import sweep_frame, sweep_markdown


def expand(entries):
    """expand_sweeps on entries with the schema's defaults filled in, as the Plan has them."""
    from justeval.config.schema import fill_defaults
    from justeval.io.config_schema import SCHEMA_PATH

    config = {"models": copy.deepcopy(entries)}
    fill_defaults(config, SCHEMA_PATH)
    return expand_sweeps(config["models"])


def _weights(path):
    save_file({"w": np.arange(4, dtype=np.float32)}, str(path))


def _checkpoint(root, step, *, weights=True, shards=0, age=True):
    actor = root / f"global_step_{step}" / "actor"
    hf = actor / "huggingface"
    hf.mkdir(parents=True)
    (hf / "config.json").write_text("{}")
    (hf / "tokenizer.json").write_text("{}")
    if weights:
        _weights(hf / "model.safetensors")
    for rank in range(shards):
        (actor / f"model_world_size_{shards}_rank_{rank}.pt").write_bytes(b"")
    if age:
        date_back(hf)
    return hf


def _sweep(root, **extra):
    return {"name": "r7", "sweep": {"glob": str(root / "global_step_*" / "actor" / "huggingface"), **extra}}


def _models(entries):
    models, _ = expand(entries)
    return models


def test_one_model_per_checkpoint_in_step_order(tmp_path):
    for step in (200, 0, 1000, 50):  # numeric order, not the folders' text order
        _checkpoint(tmp_path, step)
    entries = _models([{"name": "base", "hub": "org/base"}, _sweep(tmp_path, run="run-7")])
    assert [e["name"] for _, e in entries] == ["base", "r7-step0", "r7-step50", "r7-step200", "r7-step1000"]
    assert [e.get("step") for _, e in entries] == [None, 0, 50, 200, 1000]
    assert {e.get("run") for _, e in entries[1:]} == {"run-7"}
    assert entries[3][1]["path"] == str(tmp_path / "global_step_200" / "actor" / "huggingface")
    assert entries[3][0] == "models[1].sweep (step 200)"


def test_every_and_steps_thin_the_sweep(tmp_path):
    for step in (0, 50, 100, 150, 200):
        _checkpoint(tmp_path, step)
    assert [e["step"] for _, e in _models([_sweep(tmp_path, every=100)])] == [0, 100, 200]
    # a listed step that is not there yet is simply not evaluated yet
    assert [e["step"] for _, e in _models([_sweep(tmp_path, steps=[50, 200, 400])])] == [50, 200]
    with pytest.raises(ConfigError, match=r"none of the steps found \(0, 50, 100, 150, 200\)"):
        expand([_sweep(tmp_path, steps=[7])])


def test_the_run_defaults_to_the_name_and_the_step_pattern_is_the_users(tmp_path):
    for step in (3, 4):
        (tmp_path / f"ckpt-{step}").mkdir()
        (tmp_path / f"ckpt-{step}" / "config.json").write_text("{}")
        (tmp_path / f"ckpt-{step}" / "pytorch_model.bin").write_bytes(b"")
        date_back(tmp_path / f"ckpt-{step}")
    entries = _models([{"name": "grpo", "sweep": {"glob": str(tmp_path / "ckpt-*"), "step": r"ckpt-(\d+)$"}}])
    assert [(e["name"], e["step"], e["run"]) for _, e in entries] == [
        ("grpo-step3", 3, "grpo"),
        ("grpo-step4", 4, "grpo"),
    ]


def test_a_sharded_trainer_checkpoint_is_one_clear_error(tmp_path):
    _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 20, weights=False, shards=4)  # verl FSDP, not merged yet
    with pytest.raises(ConfigError) as err:
        expand([_sweep(tmp_path)])
    message = str(err.value)
    assert message.count("\n") == 0
    assert "models[0].sweep, step 20" in message
    assert str(tmp_path / "global_step_20" / "actor") in message
    assert "model_world_size_4_rank_0.pt, ... 4 files" in message
    assert "verl.model_merger merge --backend fsdp" in message


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda e: e["sweep"].update(glob="/nowhere/step_*"), r"models\[0\]\.sweep\.glob: no folder matches"),
        (lambda e: e["sweep"].update(step=r"global_step_\d+"), r"needs a group around the step"),
        (lambda e: e["sweep"].update(step=r"(x*)"), r"finds no step number in"),
        (lambda e: e["sweep"].update(step=r"global_step_([0-9"), r"sweep\.step: not a regex"),
        (lambda e: e.pop("name"), r"models\[0\]\.name: a sweep needs a name"),
        (lambda e: e.update(path="/x"), r"a sweep entry takes no 'path'"),
        (lambda e: e.update(step=5), r"models\[0\]\.step: a sweep finds each checkpoint's step itself"),
    ],
)
def test_bad_sweep_entries(tmp_path, change, match):
    _checkpoint(tmp_path, 10)
    entry = _sweep(tmp_path)
    change(entry)
    with pytest.raises(ConfigError, match=match):
        expand([entry])


def test_a_folder_with_a_config_but_no_weights(tmp_path):
    _checkpoint(tmp_path, 10, weights=False)
    with pytest.raises(ConfigError, match=r"holds a config.json but no weights"):
        expand([_sweep(tmp_path)])


def test_checkpoints_still_being_written_wait_for_a_later_call(tmp_path):
    _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 20, age=False)  # just saved: under settle_seconds
    cut = _checkpoint(tmp_path, 30, age=False)
    data = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(data[:-3])  # the weights file is still being written
    date_back(cut)
    half = _checkpoint(tmp_path, 40, weights=False, age=False)  # a sharded save, one shard written
    _weights(half / "model-00001-of-00002.safetensors")
    date_back(half)
    indexed = _checkpoint(tmp_path, 50, weights=False, age=False)  # an index naming a file not there
    _weights(indexed / "model-a.safetensors")
    weight_map = {"w": "model-a.safetensors", "v": "model-b.safetensors"}
    (indexed / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    date_back(indexed)
    models, waiting = expand([_sweep(tmp_path)])
    assert [e["step"] for _, e in models] == [10]
    assert [line.split(":")[0] for line in waiting] == [
        f"models[0].sweep, step {s}" for s in (20, 30, 40, 50)
    ]
    assert "is still being written?" in waiting[0] and "sweep.settle_seconds: 60" in waiting[0]
    assert f"model.safetensors holds {len(data) - 3} of its {len(data)} bytes" in waiting[1]
    assert "1 of the 2 model-*-of-00002.safetensors shards are there" in waiting[2]
    assert "model.safetensors.index.json names model-b.safetensors, which is not there" in waiting[3]
    # settle_seconds: 0 takes a folder as soon as its weights are whole
    models, waiting = expand([_sweep(tmp_path, settle_seconds=0)])
    assert [e["step"] for _, e in models] == [10, 20] and len(waiting) == 3


def test_a_sweep_with_no_finished_checkpoint_is_an_error(tmp_path):
    _checkpoint(tmp_path, 10, age=False)
    with pytest.raises(ConfigError, match=r"models\[0\]\.sweep: no checkpoint is finished yet \(step 10: "):
        expand([_sweep(tmp_path)])


def test_a_path_model_with_cut_weights_is_refused(tmp_path):
    hf = _checkpoint(tmp_path, 10)
    data = (hf / "model.safetensors").read_bytes()
    (hf / "model.safetensors").write_bytes(data[:20])
    with pytest.raises(ConfigError, match=r"models\[0\]: .* its weights are incomplete: model.safetensors"):
        check_weights_folder(hf, "models[0]")


def test_the_safetensors_size_check_agrees_with_the_safetensors_library(tmp_path):
    """At every cut of a real file, and with bytes appended: ours finds it whole
    exactly when the library loads it."""
    whole = tmp_path / "whole.safetensors"
    save_file({"a": np.arange(6, dtype=np.float32), "b": np.ones((2, 3), dtype=np.int64)}, str(whole))
    data = whole.read_bytes()
    probe = tmp_path / "probe.safetensors"
    for body in [data[:cut] for cut in range(len(data) + 1)] + [data + b"\0", data + b"  "]:
        probe.write_bytes(body)
        try:
            load_file(str(probe))
            loads = True
        except SafetensorError:
            loads = False
        assert (safetensors_mismatch(probe) is None) == loads, len(body)


def _verdicts(correct_by_problem: dict[str, list[bool]]) -> pd.DataFrame:
    rows = [
        {"problem_id": pid, "sample_idx": i, "correct": c}
        for pid, samples in correct_by_problem.items()
        for i, c in enumerate(samples)
    ]
    return pd.DataFrame(rows)


SETTINGS = {
    "models": {"a-step0": {"step": 0, "run": "a"}, "a-step10": {"step": 10, "run": "a"}, "base": {}},
    "benchmarks": {"B1": 2, "B2": 2},
    "variants": ["main"],
    "bootstrap_samples": 4000,
    "seed": 0,
}


def test_the_sweep_table_numbers():
    verdicts = {
        ("a-step0", "B1", "main"): _verdicts({"p1": [0, 0], "p2": [1, 0], "p3": [0, 0], "p4": [1, 1]}),
        ("a-step10", "B1", "main"): _verdicts({"p1": [1, 1], "p2": [1, 1], "p3": [0, 1], "p4": [1, 1]}),
        ("a-step0", "B2", "main"): _verdicts({"q1": [0, 0], "q2": [0, 0]}),
        ("a-step10", "B2", "main"): _verdicts({"q1": [0, 0], "q2": [1, 0]}),
        ("base", "B1", "main"): _verdicts({"p1": [1, 1], "p2": [1, 1], "p3": [1, 1], "p4": [1, 1]}),
    }
    table = sweep_frame(verdicts, SETTINGS).set_index(["model", "benchmark"])
    assert set(table.index.get_level_values("model")) == {"a-step0", "a-step10"}  # no step: not swept
    assert table.loc[("a-step0", "B1"), "mean_at_n"] == pytest.approx(37.5)
    assert table.loc[("a-step10", "B1"), "mean_at_n"] == pytest.approx(87.5)
    assert table.loc[("a-step10", "B2"), "mean_at_n"] == pytest.approx(25.0)
    assert table.loc[("a-step10", "Avg"), "mean_at_n"] == pytest.approx(56.25)
    assert table.loc[("a-step10", "B1"), "delta_vs_first"] == pytest.approx(50.0)
    assert table.loc[("a-step10", "Avg"), "delta_vs_first"] == pytest.approx((50.0 + 25.0) / 2)
    assert table.loc[("a-step0", "Avg"), ["delta_vs_first", "ci_low", "ci_high"]].tolist() == [0, 0, 0]
    # per-problem differences on B1 are 100, 50, 50, 0 (%): the bootstrap mean of 4 of
    # them lies in [0, 100]; the exact percentile interval of this small case by enumeration
    d = np.array([100.0, 50.0, 50.0, 0.0])
    grid = np.array(np.meshgrid(*[d] * 4)).reshape(4, -1).mean(axis=0)  # all 256 equally likely resamples
    lo, hi = np.quantile(grid, [0.025, 0.975])
    row = table.loc[("a-step10", "B1")]
    assert abs(row["ci_low"] - lo) <= 6.25 and abs(row["ci_high"] - hi) <= 6.25  # one grid step
    md = sweep_markdown(sweep_frame(verdicts, SETTINGS), SETTINGS)
    cells = re.sub(r" *\| *", "|", md)
    assert "|0|a-step0|37.50|0.00|18.75|first|" in cells
    assert "|10|a-step10|87.50|25.00|56.25|+37.50 \\[" in cells  # the interval, escaped as text
    assert "Best step by Avg: **10** (a-step10, 56.25)" in md and "overstates" in md


def test_a_run_of_one_checkpoint_is_its_own_baseline():
    settings = {**SETTINGS, "models": {"base": {}, "solo-step5": {"step": 5, "run": "solo"}}}
    verdicts = {
        ("base", "B1", "main"): _verdicts({"p1": [1, 1]}),
        ("solo-step5", "B1", "main"): _verdicts({"p1": [0, 1]}),
        ("solo-step5", "B2", "main"): _verdicts({"q1": [1, 1]}),
    }
    table = sweep_frame(verdicts, settings)
    assert table["model"].unique().tolist() == ["solo-step5"]
    assert table.set_index("benchmark").loc["Avg", "mean_at_n"] == pytest.approx(75.0)
    assert (table[["delta_vs_first", "ci_low", "ci_high"]] == 0).all().all()


def test_a_symbolic_link_loop_is_one_config_error(tmp_path):
    """A loop inside a checkpoint folder stopped the run with a raw OSError traceback, and
    a checkpoint folder that is itself a loop was skipped without a word: one line each."""
    hf = _checkpoint(tmp_path, 100)
    (hf / "loop").symlink_to(hf / "loop")
    with pytest.raises(ConfigError, match=r"step 100: .*/loop: cannot be read .*symbolic link that loops"):
        expand([_sweep(tmp_path)])
    (hf / "loop").unlink()
    folder = tmp_path / "global_step_200" / "actor"
    folder.mkdir(parents=True)
    (folder / "huggingface").symlink_to(folder / "huggingface")
    with pytest.raises(
        ConfigError, match=r"sweep.glob: .*global_step_200/actor/huggingface is a symbolic link"
    ):
        expand([_sweep(tmp_path)])


def test_a_config_json_cut_short_is_found_before_any_job(tmp_path):
    hf = _checkpoint(tmp_path, 100)
    (hf / "config.json").write_text('{"model_type": "qwen2", "hidden_si')
    date_back(hf)
    with pytest.raises(ConfigError, match=r"step 100: .*config.json is not valid JSON .*cut short"):
        expand([_sweep(tmp_path)])
