"""Logging to MLflow and Weights & Biases (the `log-trackers` stage), offline: MLflow
into a local file store, W&B in offline mode, each read back from what the library
wrote; and the failures that must cost one warning, not the job."""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import socket
import struct
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from justeval.command import add_arguments
from justeval.metrics.formatting import accuracy_table, column_label
from justeval.stages.tables import sweep_frame
from justeval.stages.trackers import accuracy_metrics, cell_key, log_trackers, sweep_series

# the headline table as `table` writes it (metrics/formatting.py accuracy_table), with a
# model whose HMMT25 cell is missing (so is its Avg)
ACCURACY = """\
model,AIME24 (@32),HMMT25 (@32),Avg
JustRL-DeepSeek-1.5B,52.39583333333333,30.625,41.510416666666664
run-a-step300,40.3125,21.875,31.09375
tiny-113,33.33333333333333,,
"""
BUDGET = """\
model,benchmark,variant,budget,n_samples,mean_at_n,sampling_se,finished_pct,note
tiny-113,AIME24,main,48,2,33.3333,0.0,0.0,
tiny-113,HMMT25,main,48,2,0.0,0.0,0.0,"cut, all of it"
"""
TRUNCATION = """\
model,benchmark,variant,samples,stop,truncated,accuracy,accuracy_stop
tiny-113,AIME24,main,6,0,6,33.3333,
tiny-113,HMMT25,main,6,0,6,0.0,
"""
STEPS = {100: "run-a-step100", 200: "run-a-step200", 300: "run-a-step300"}
# per problem, the samples' verdicts at each step: accuracy rises, never 0 or 100 %
CORRECT = {
    ("AIME24", 100): {"p1": [1, 0], "p2": [0, 0], "p3": [0, 0], "p4": [1, 1]},
    ("AIME24", 200): {"p1": [1, 1], "p2": [1, 0], "p3": [0, 0], "p4": [1, 1]},
    ("AIME24", 300): {"p1": [1, 1], "p2": [1, 1], "p3": [0, 1], "p4": [1, 1]},
    ("HMMT25", 100): {"q1": [0, 0], "q2": [1, 0]},
    ("HMMT25", 200): {"q1": [0, 1], "q2": [1, 0]},
    ("HMMT25", 300): {"q1": [1, 0], "q2": [1, 1]},
}


def _sweep_csv(path: Path) -> pd.DataFrame:
    """A sweep table made by the real `sweep_frame` and written as `sweep-table` does."""
    verdicts = {
        (STEPS[step], bench, "main"): pd.DataFrame(
            [
                {"problem_id": pid, "sample_idx": i, "correct": bool(c)}
                for pid, samples in by_problem.items()
                for i, c in enumerate(samples)
            ]
        )
        for (bench, step), by_problem in CORRECT.items()
    }
    settings = {
        "models": {model: {"step": step, "run": "run-a"} for step, model in STEPS.items()},
        "benchmarks": {"AIME24": 2, "HMMT25": 2},
        "variants": ["main"],
        "bootstrap_samples": 200,
        "seed": 0,
    }
    table = sweep_frame(verdicts, settings)
    path.write_text(table.to_csv(index=False))
    return table


@pytest.fixture
def run_files(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "accuracy.csv").write_text(ACCURACY)
    (tables / "budget.csv").write_text(BUDGET)
    (tables / "truncation.csv").write_text(TRUNCATION)
    sweep = _sweep_csv(tables / "sweep.csv")
    assert sweep["mean_at_n"].between(1, 99).all()  # neither all 0 nor all 100
    return {
        "accuracy": str(tables / "accuracy.csv"),
        "sweep": str(tables / "sweep.csv"),
        "tables": [str(tables / "budget.csv"), str(tables / "truncation.csv")],
        "receipt": str(tmp_path / "trackers.json"),
    }


def _settings(mlflow=None, wandb=None, **extra) -> dict:
    return {
        "mlflow": {"enabled": False, "tracking_uri": None, "experiment": "justeval", "run_name": None}
        | (mlflow or {}),
        "wandb": {"enabled": False, "project": "justeval", "entity": None, "mode": "offline", "dir": None}
        | {"run_name": None}
        | (wandb or {}),
        "run": {"config_sha256": "ab" * 32, "name": "smoke"},
        **extra,
    }


def _receipt(files) -> dict:
    return json.loads(Path(files["receipt"]).read_text())


def _expected_cells() -> dict[str, float]:
    frame = pd.read_csv(io.StringIO(ACCURACY))
    out = {}
    for _, row in frame.iterrows():
        for column, bench in (("AIME24 (@32)", "AIME24"), ("HMMT25 (@32)", "HMMT25"), ("Avg", "Avg")):
            if not math.isnan(row[column]):
                out[f"accuracy/{row['model']}/{bench}"] = row[column]
    return out


def _expected_series(files) -> dict[str, list[tuple[int, float]]]:
    frame = pd.read_csv(files["sweep"])
    return {
        f"eval/{bench}": sorted(zip(part["step"].tolist(), part["mean_at_n"].tolist(), strict=True))
        for bench, part in frame.groupby("benchmark")
    }


def _tables(files) -> dict[str, Path]:
    paths = [files["accuracy"], files["sweep"], *files["tables"]]
    return {Path(p).stem: Path(p) for p in paths}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _cells(columns, rows) -> tuple[list, list]:
    """A logged table: its columns and rows, every missing cell None."""
    return list(columns), [[None if _missing(v) else v for v in row] for row in rows]


def _csv_cells(path: Path) -> tuple[list, list]:
    """The CSV file's table, read as the run wrote it (only an empty cell is missing)."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    return _cells(frame.columns, frame.astype(object).values.tolist())


# ---------------------------------------------------------------- names


def test_metric_names_of_the_accuracy_table():
    assert cell_key("tiny-113", "AIME24 (@32)") == "accuracy/tiny-113/AIME24"
    assert cell_key("tiny-113", "Avg") == "accuracy/tiny-113/Avg"
    # the labels as the table writes them (a secondary variant's columns)
    label = column_label("MATH-500", 4, "math_verify", "main")
    assert cell_key("m", label) == "accuracy/m/MATH-500/math_verify"
    assert cell_key("m", "Avg · math_verify") == "accuracy/m/Avg/math_verify"
    scores = pd.DataFrame(
        [
            {"model": "m", "benchmark": "B", "variant": v, "n_samples": 4, "mean_at_n": x}
            for v, x in (("main", 25.0), ("loose", 50.0))
        ]
    )
    wide = accuracy_table(scores, ["m"], ["B"], ["main", "loose"])
    assert accuracy_metrics(wide) == {
        "accuracy/m/B": 25.0, "accuracy/m/Avg": 25.0,
        "accuracy/m/B/loose": 50.0, "accuracy/m/Avg/loose": 50.0,
    }  # fmt: skip
    assert cell_key("m", "odd (col)/x") == "accuracy/m/odd _col__x"  # MLflow's characters only
    assert cell_key("..", "Avg") == "accuracy/_/Avg"
    table = pd.read_csv(io.StringIO(ACCURACY))
    assert accuracy_metrics(table) == pytest.approx(_expected_cells())
    assert list(accuracy_metrics(table))[:3] == [
        "accuracy/JustRL-DeepSeek-1.5B/AIME24", "accuracy/JustRL-DeepSeek-1.5B/HMMT25",
        "accuracy/JustRL-DeepSeek-1.5B/Avg",
    ]  # fmt: skip


def test_the_sweep_series_follow_the_sweep_tables_columns(tmp_path):
    table = _sweep_csv(tmp_path / "sweep.csv")
    points = sweep_series(pd.read_csv(tmp_path / "sweep.csv"))
    assert {key for key, _, _ in points} == {"eval/AIME24", "eval/HMMT25", "eval/Avg"}
    assert [step for _, step, _ in points] == sorted(step for _, step, _ in points)
    got = {(k, s): v for k, s, v in points}
    assert got[("eval/AIME24", 300)] == pytest.approx(87.5) and got[("eval/HMMT25", 100)] == pytest.approx(25)
    # two training runs: each its own curve
    two = pd.concat([table, table.assign(run="run-b", step=table["step"] + 1)])
    keys = {key for key, _, _ in sweep_series(two)}
    assert keys == {f"eval/{r}/{b}" for r in ("run-a", "run-b") for b in ("AIME24", "HMMT25", "Avg")}
    assert sweep_series(table.iloc[:0]) == []


def test_the_command_line_is_the_interface_the_rule_uses():
    parser = argparse.ArgumentParser()
    add_arguments(parser, log_trackers)
    line = ["--accuracy", "a.csv", "--tables", "b.csv", "c.csv", "--receipt", "r"]
    args = parser.parse_args([*line, "--settings", '{"mlflow": {}}'])
    assert (args.accuracy, args.sweep, args.tables, args.receipt) == ("a.csv", None, ["b.csv", "c.csv"], "r")
    assert args.settings == {"mlflow": {}}
    args = parser.parse_args(["--accuracy", "a", "--sweep", "s", "--settings", "", "--receipt", "r"])
    assert (args.sweep, args.tables, args.settings) == ("s", (), {})


# ---------------------------------------------------------------- MLflow, into a local store


def test_mlflow_logs_every_cell_the_sweep_curve_and_the_tables(run_files, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3's file store is opt-in
    uri = (tmp_path / "mlruns").as_uri()
    settings = _settings(mlflow={"enabled": True, "tracking_uri": uri, "experiment": "rl-evals"})
    log_trackers(**run_files, settings=settings)
    got = _receipt(run_files)
    entry = got["mlflow"]
    assert entry["logged"] is True, entry["warning"]
    assert entry["warning"] is None and entry["location"] == uri and entry["url"] is None
    assert entry["metrics"] == list(_expected_cells())
    assert entry["series"] == ["eval/AIME24", "eval/HMMT25", "eval/Avg"]
    assert entry["tables"] == ["accuracy", "sweep", "budget", "truncation"]
    assert got["wandb"] == {**got["wandb"], "enabled": False, "logged": False, "warning": None}
    assert list(got) == sorted(got) and list(entry) == sorted(entry)

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(entry["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "smoke"
    assert client.get_experiment(run.info.experiment_id).name == "rl-evals"
    assert run.data.tags["justeval.config_sha256"] == "ab" * 32 and run.data.tags["justeval.run"] == "smoke"
    for key, value in _expected_cells().items():
        assert run.data.metrics[key] == value, key
    assert not any(k.startswith("accuracy/tiny-113/") for k in run.data.metrics if "AIME24" not in k)
    for key, points in _expected_series(run_files).items():
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
        assert history == points, key

    listed = {f.path for f in client.list_artifacts(run.info.run_id, "tables")}
    for name, path in _tables(run_files).items():
        assert {f"tables/{name}.csv", f"tables/{name}.json"} <= listed
        csv = client.download_artifacts(run.info.run_id, f"tables/{name}.csv", str(tmp_path / "dl"))
        assert Path(csv).read_bytes() == path.read_bytes()
        # the table view: MLflow's log_table writes floats with 10 decimals (pandas' to_json)
        data = json.loads(Path(client.download_artifacts(run.info.run_id, f"tables/{name}.json")).read_text())
        columns, rows = _csv_cells(path)
        assert data["columns"] == columns and len(data["data"]) == len(rows), name
        for logged, want in zip(_cells(columns, data["data"])[1], rows, strict=True):
            assert logged == [
                pytest.approx(v, rel=1e-10, abs=1e-10) if isinstance(v, float) else v for v in want
            ]

    # a second run of the stage is a second MLflow run in the same experiment
    log_trackers(**run_files, settings=settings)
    assert _receipt(run_files)["mlflow"]["run_id"] != entry["run_id"]
    assert len(client.search_runs([run.info.experiment_id])) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_mlflow_server_costs_one_warning(run_files, caplog):
    pytest.importorskip("mlflow")
    uri = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        log_trackers(**run_files, settings=_settings(mlflow={"enabled": True, "tracking_uri": uri}))
    assert time.monotonic() - start < 60
    entry = _receipt(run_files)["mlflow"]
    assert entry["enabled"] is True and entry["logged"] is False and entry["run_id"] is None
    assert entry["warning"].startswith("mlflow: not logged") and "127.0.0.1" in entry["warning"]
    assert "\n" not in entry["warning"] and entry["metrics"] == entry["tables"] == []
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [entry["warning"]]


def test_a_server_that_never_answers_is_given_up_on_in_time(run_files):
    """A server that takes the connection and never answers: each request's timeout and
    the stage's own deadline bound the wait by `timeout_s`."""
    pytest.importorskip("mlflow")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)  # accepts connections (the kernel does), never reads or answers
        uri = f"http://127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        log_trackers(
            **run_files, settings=_settings(mlflow={"enabled": True, "tracking_uri": uri}, timeout_s=3)
        )
        took = time.monotonic() - start
    entry = _receipt(run_files)["mlflow"]
    assert entry["logged"] is False and entry["warning"].startswith("mlflow: not logged")
    assert took < 3 + 5, took


# ---------------------------------------------------------------- W&B, offline


def _wandb_records(path: Path):
    """The records of an offline run's ``.wandb`` file: W&B's LevelDB-style log (a 7-byte
    header ``:W&B`` 0xBEE1 version, then 32 KiB blocks of records, each with a 7-byte
    header: checksum, length, type full/first/middle/last) of ``Record`` protobufs."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:7]
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # the block's tail, too short for a header: padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 2):  # full, first
            pending = chunk
        elif kind in (3, 4):  # middle, last
            pending += chunk
        else:  # zero padding
            pos += left - 7 - length
            continue
        if kind in (1, 4):
            yield wandb_internal_pb2.Record.FromString(pending)


def _item_key(item) -> tuple[str, ...]:
    return tuple(item.nested_key) or (item.key,)


@pytest.fixture
def wandb_home(tmp_path, monkeypatch):
    """W&B's caches, config and staging folders inside the test's folder; quiet."""
    for var, sub in (
        ("WANDB_CACHE_DIR", "cache"), ("WANDB_CONFIG_DIR", "config"), ("WANDB_DATA_DIR", "data"),
        ("WANDB_ARTIFACT_DIR", "artifacts"),
    ):  # fmt: skip
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / sub))
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_DIR", "WANDB_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_CODE", "true")
    return tmp_path


def test_wandb_offline_logs_every_cell_the_sweep_curve_and_the_tables(run_files, wandb_home):
    pytest.importorskip("wandb")
    folder = wandb_home / "wandb-runs"
    settings = _settings(wandb={"enabled": True, "mode": "offline", "dir": str(folder), "project": "rl"})
    start = time.monotonic()
    log_trackers(**run_files, settings=settings)
    took = time.monotonic() - start
    got = _receipt(run_files)
    entry = got["wandb"]
    assert entry["logged"] is True, entry["warning"]
    assert got["mlflow"]["enabled"] is False and got["mlflow"]["logged"] is False
    assert entry["metrics"] == list(_expected_cells()) and entry["url"] is None
    assert entry["tables"] == ["accuracy", "sweep", "budget", "truncation"]
    run_dir = Path(entry["location"])
    assert run_dir.parent == folder / "wandb" and run_dir.name.startswith("offline-run-")
    assert run_dir.name.endswith(entry["run_id"])

    history, summary, run = {}, {}, None
    for record in _wandb_records(run_dir / f"run-{entry['run_id']}.wandb"):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
        elif kind == "history":
            row = {_item_key(i): json.loads(i.value_json) for i in record.history.item}
            history[record.history.step.num] = row
        elif kind == "summary":
            summary.update({_item_key(i): json.loads(i.value_json) for i in record.summary.update})
    assert run.display_name == "smoke" and run.project == "rl"
    config = {u.key: json.loads(u.value_json) for u in run.config.update}
    assert config["justeval_config_sha256"] == "ab" * 32 and config["justeval_run"] == "smoke"
    for key, value in _expected_cells().items():
        assert summary[(key,)] == value, key
    assert not [k for k in summary if k[0].startswith("accuracy/tiny-113/") and "AIME24" not in k[0]]
    for key, points in _expected_series(run_files).items():
        logged = sorted((step, row[(key,)]) for step, row in history.items() if (key,) in row)
        assert logged == points, key
    assert all(row[("_step",)] == step for step, row in history.items())

    last = history[max(history)]  # the tables are logged with the last step
    for name, path in _tables(run_files).items():
        assert last[(f"tables/{name}", "_type")] == "table-file"
        data = json.loads((run_dir / "files" / last[(f"tables/{name}", "path")]).read_text())
        assert _cells(data["columns"], data["data"]) == _csv_cells(path), name
    print(f"W&B offline run: {took:.1f} s")  # noqa: T201 - the timing, under -s


def test_an_unreachable_wandb_host_costs_one_warning(run_files, wandb_home, monkeypatch, caplog):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    settings = _settings(wandb={"enabled": True, "mode": "online", "dir": str(wandb_home / "w")}, timeout_s=4)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="justeval"):
        log_trackers(**run_files, settings=settings)
    assert time.monotonic() - start < 4 + 5
    entry = _receipt(run_files)["wandb"]
    assert entry["logged"] is False and entry["warning"].startswith("wandb: not logged")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("justeval")] == [entry["warning"]]


# ---------------------------------------------------------------- off, or not installed


def test_a_missing_package_costs_one_warning_naming_the_extra(run_files, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` raises ImportError
    monkeypatch.setitem(sys.modules, "wandb", None)
    settings = _settings(mlflow={"enabled": True}, wandb={"enabled": True})
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        log_trackers(**run_files, settings=settings)
    assert time.monotonic() - start < 60
    got = _receipt(run_files)
    for name in ("mlflow", "wandb"):
        assert got[name]["enabled"] is True and got[name]["logged"] is False
        assert f'pip install -e ".[{name}]"' in got[name]["warning"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        got["mlflow"]["warning"], got["wandb"]["warning"],
    ]  # fmt: skip


def test_both_off_logs_nothing_and_imports_no_tracker(run_files, monkeypatch, caplog):
    # were either imported, the import would fail and the receipt would carry a warning
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "wandb", None)
    with caplog.at_level(logging.WARNING):
        log_trackers(**run_files, settings=_settings())
    got = _receipt(run_files)
    for name in ("mlflow", "wandb"):
        assert got[name] == {
            "enabled": False, "logged": False, "location": None, "metrics": [], "run_id": None,
            "series": [], "tables": [], "url": None, "warning": None,
        }  # fmt: skip
    assert not caplog.records
    log_trackers(**run_files, settings={})  # no trackers section at all: the same
    assert _receipt(run_files) == got
