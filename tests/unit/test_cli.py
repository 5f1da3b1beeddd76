"""`python -m justeval rule-grade` on files outside the pipeline: one line per error,
and JSON lines in, the same types out."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def rule_grade(*args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT / "workflow"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "justeval", "rule-grade", *args, "--jobs", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_missing_input_is_one_line_and_no_traceback(tmp_path):
    proc = rule_grade(str(tmp_path / "nope.jsonl"), str(tmp_path / "out.jsonl"))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"justeval rule-grade: error: {tmp_path / 'nope.jsonl'}: no such file"
    ]
    assert not (tmp_path / "out.jsonl").exists()


def test_jsonl_strings_stay_strings(tmp_path):
    source = tmp_path / "in.jsonl"
    rows = [
        {"answer": "204", "response": "so \\boxed{204}", "id": "007"},
        {"answer": "\\frac{1}{2}", "response": "so \\boxed{0.5}", "id": "008"},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    proc = rule_grade(str(source), str(out))
    assert proc.returncode == 0, proc.stderr
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["answer"] for g in graded] == ["204", "\\frac{1}{2}"]
    assert [g["id"] for g in graded] == ["007", "008"]
    assert [g["rule_correct"] for g in graded] == [True, True]
    assert "worker restarts" not in proc.stderr  # no timeouts: nothing said of restarts


def test_pipeline_mode_refuses_the_options_it_would_ignore(tmp_path):
    """With --benchmark the grader and deadline are the rule's --settings: a --grader or
    --timeout beside them is one error line, before anything is read or written."""
    out = tmp_path / "out.parquet"
    for extra in (["--grader", "justrl"], ["--timeout", "9"], []):
        proc = rule_grade(
            str(tmp_path / "shard.parquet"), str(out), "--benchmark", str(tmp_path / "b.parquet"), *extra
        )
        assert proc.returncode == 1
        (line,) = proc.stderr.splitlines()
        given = " and ".join(o for o in extra if o.startswith("--"))
        expected = f"{given} cannot be combined with" if given else "needs --settings with"
        assert line.startswith(f"justeval rule-grade: error: rule-grade: {expected} --benchmark"), line
        assert not out.exists()


def test_outside_the_pipeline_the_grader_defaults_are_the_configs(tmp_path):
    """The standalone command's grader and deadline are the schema's defaults, read from
    there (the one home of every config default), and written into the output."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from justeval.io.config_schema import load_schema
    from justeval.io.parquet import read_metadata

    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"answer": ["1"], "response": ["\\boxed{1}"]}), source)
    out = tmp_path / "out.parquet"
    proc = rule_grade(str(source), str(out))
    assert proc.returncode == 0, proc.stderr
    defaults = load_schema()["properties"]["rule_grade"]["properties"]
    meta = read_metadata(out)
    assert meta["grader"] == defaults["grader"]["default"]
    assert meta["timeout"] == defaults["timeout"]["default"]


def test_the_file_options_are_checked_before_anything_is_read(tmp_path):
    """A deadline that leaves no time, an output named in a format the command does not
    write, and an output that is its input: one line each, and the input untouched."""
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"answer": "1", "response": "\\boxed{1}"}) + "\n")
    before = source.read_bytes()
    cases = [
        ([str(source), str(tmp_path / "out.jsonl"), "--timeout", "0"], "--timeout 0: give a positive"),
        ([str(source), str(tmp_path / "out.jsonl"), "--timeout", "-1"], "--timeout -1: give a positive"),
        ([str(source), str(tmp_path / "out.csv")], "out.csv: the output is written as Parquet"),
        ([str(source), str(source)], "in.jsonl is the input; write the graded rows to another file"),
        ([str(source), str(tmp_path / "." / "in.jsonl")], "is the input"),
    ]
    for args, message in cases:
        proc = rule_grade(*args)
        assert proc.returncode == 1, args
        (line,) = proc.stderr.splitlines()
        assert message in line, line
    assert source.read_bytes() == before
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.jsonl").exists()
