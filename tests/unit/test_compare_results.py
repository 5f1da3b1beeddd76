"""tests/compare_results.py: two result folders, the same rows and settings or not."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS.parent / "workflow"))
sys.path.insert(0, str(TESTS))

import compare_results  # noqa: E402

try:
    from justeval.parquet_io import write_parquet
except ImportError:  # the package's layout after the refactor
    from justeval.io.parquet import write_parquet

PROVENANCE_ENV = "JUSTEVAL_PROVENANCE"  # justeval's provenance.ENV: what every job gets

GENERATIONS = "results/m/B/generations/shard-0.parquet"
METRICS = "results/m/B/main/metrics.parquet"
METRICS_JSON = "results/m/B/main/metrics.json"
BENCHMARK = "data/benchmarks/B.parquet"
TABLE = "results/tables/accuracy.md"


def make_run(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    commit: str = "a" * 40,
    response: str = "\\boxed{2}",
    n_samples: int = 2,
    version: str = "v1",
    mean: float = 50.0,
    host: str = "node1",
) -> Path:
    """A small project run: a benchmark, generations, metrics (Parquet with justeval
    metadata, written by the package), metrics.json, a table and provenance.json."""
    monkeypatch.setenv(PROVENANCE_ENV, json.dumps({"config_sha256": "c" * 64, "git_commit": commit}))
    bench = pa.table({"problem_id": ["p0", "p1"], "answer": ["1", "2"]})
    write_parquet(bench, root / BENCHMARK, metadata={"benchmark": "B", "limit": 2})
    from_file = compare_results._justeval_metadata(pq.read_schema(root / BENCHMARK))
    settings = {"n_samples": n_samples, "temperature": 0.7, "version": version}
    gens = pa.table(
        {
            "problem_id": ["p0", "p0", "p1", "p1"],
            "sample_idx": pa.array([0, 1, 0, 1], pa.int32()),
            "response": ["\\boxed{1}", "\\boxed{3}", response, "\\boxed{5}"],
            "completion_tokens": pa.array([5, 6, 7, 8], pa.int32()),
        }
    )
    write_parquet(
        gens,
        root / GENERATIONS,
        metadata={"stage": "generate", "settings": settings, "benchmark": from_file},
    )
    metrics = pa.table({"model": ["m"], "mean_at_n": [mean], "bootstrap_ci_low": [math.nan]})
    write_parquet(
        metrics,
        root / METRICS,
        metadata={"stage": "aggregate", "settings": {"version": version}, "benchmark": from_file},
    )
    (root / METRICS_JSON).write_text(json.dumps({"metrics": {"mean_at_n": mean, "version": version}}))
    (root / TABLE).parent.mkdir(parents=True)
    (root / TABLE).write_text(f"| model | mean |\n|---|---|\n| m | {mean:.1f} |\n")
    (root / "results/provenance.json").write_text(json.dumps({"git_commit": commit, "host": host}))
    return root


@pytest.fixture
def before(tmp_path, monkeypatch):
    return make_run(tmp_path / "before", monkeypatch)


def test_identical_runs_have_no_differences(tmp_path, monkeypatch, before, capsys):
    after = make_run(tmp_path / "after", monkeypatch, host="node2")  # provenance.json is skipped
    report = compare_results.compare(before, after)
    assert report.differences == []
    assert report.compared == report.identical == 5  # 3 Parquet, metrics.json, the table
    assert compare_results.main([str(before), str(after)]) == 0
    out = capsys.readouterr().out
    assert "5 files compared: 5 identical, 0 different" in out
    assert "no differences" in out


def test_a_changed_row_names_the_file_column_and_row(tmp_path, monkeypatch, before, capsys):
    after = make_run(tmp_path / "after", monkeypatch, response="\\boxed{7}")
    report = compare_results.compare(before, after)
    [diff] = report.differences
    assert (diff.path, diff.kind, diff.column, diff.row) == (GENERATIONS, "rows", "response", 2)
    assert "'\\\\boxed{2}' -> '\\\\boxed{7}'" in diff.detail
    assert report.compared == 5 and report.identical == 4
    assert compare_results.main([str(before), str(after)]) == 1
    out = capsys.readouterr().out
    assert f"{GENERATIONS}: rows: column 'response', row 2" in out


def test_changed_settings_are_named(tmp_path, monkeypatch, before):
    after = make_run(tmp_path / "after", monkeypatch, n_samples=4)
    [diff] = compare_results.compare(before, after).differences
    assert (diff.path, diff.kind) == (GENERATIONS, "metadata")
    assert diff.detail == "settings.n_samples: 2 -> 4"


def test_only_the_git_commit_changed_is_identical(tmp_path, monkeypatch, before):
    after = make_run(tmp_path / "after", monkeypatch, commit="b" * 40 + "-dirty")
    meta = compare_results._justeval_metadata(pq.read_schema(after / METRICS))
    assert meta["provenance"]["git_commit"] == "b" * 40 + "-dirty"  # the package wrote it
    assert meta["benchmark"]["provenance"]["git_commit"] == "b" * 40 + "-dirty"  # nested too
    report = compare_results.compare(before, after)
    assert report.ok and report.identical == report.compared == 5


def test_ignore_key_version(tmp_path, monkeypatch, before):
    after = make_run(tmp_path / "after", monkeypatch, version="v2")
    found = {(d.path, d.detail) for d in compare_results.compare(before, after).differences}
    assert found == {
        (GENERATIONS, "settings.version: 'v1' -> 'v2'"),
        (METRICS, "settings.version: 'v1' -> 'v2'"),
        (METRICS_JSON, "metrics.version: 'v1' -> 'v2'"),
    }
    assert compare_results.compare(before, after, ["version"]).ok
    assert compare_results.main([str(before), str(after), "--ignore-key", "version"]) == 0


def test_files_on_one_side_tables_and_metrics_json(tmp_path, monkeypatch, before):
    after = make_run(tmp_path / "after", monkeypatch, mean=75.0)
    (after / GENERATIONS).rename(after / "results/m/B/generations/shard-1.parquet")
    report = compare_results.compare(before, after)
    found = {(d.path, d.kind) for d in report.differences}
    assert found == {
        (GENERATIONS, "only-before"),
        ("results/m/B/generations/shard-1.parquet", "only-after"),
        (METRICS, "rows"),
        (METRICS_JSON, "json"),
        (TABLE, "text"),
    }
    [text] = report.for_file(TABLE)
    assert text.detail == "line 3: '| m | 50.0 |' -> '| m | 75.0 |'"
    [rows] = report.for_file(METRICS)
    assert (rows.column, rows.row) == ("mean_at_n", 0)  # the NaN column is equal


def test_a_results_folder_itself_and_schema_changes(tmp_path, monkeypatch, before):
    after = make_run(tmp_path / "after", monkeypatch)
    table = pq.read_table(after / GENERATIONS)
    table = table.set_column(1, "sample_idx", table.column("sample_idx").cast(pa.int64()))
    pq.write_table(table, after / GENERATIONS)  # same schema metadata, wider type
    report = compare_results.compare(before / "results", after / "results")
    [diff] = report.differences
    assert diff.path == "m/B/generations/shard-0.parquet"
    assert diff.detail == "column 'sample_idx': type int32 -> int64"
    assert report.compared == 4  # data/benchmarks is not under results/
