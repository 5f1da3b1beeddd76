"""rule-grade's Arrow path: the input's columns written back as read, the pipeline
stage's schema, the restart count in the log, and no pandas on the way."""

from __future__ import annotations

import logging
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import BENCHMARKS, ROOT, snakemake_env
from justeval.io.parquet import bool_array, string_array, write_parquet
from justeval.io.schemas import BENCHMARK, GENERATIONS, RULE_GRADES
from justeval.sources.benchmarks import unwrap_gold
from justeval.stages.rule_grade import _gold_text, grade_frame, grade_shard


@pytest.mark.parametrize(
    "values", [[], ["a"], [None], ["", None, "é∑\\boxed{1}", "x" * 5000, None, *"abcdefghij"]]
)
def test_arrays_from_buffers_equal_pa_array(values):
    built = string_array(values)
    built.validate(full=True)
    assert built.equals(pa.array(values, pa.string()))
    flags = [v is None for v in values]
    assert bool_array(flags).equals(pa.array(flags, pa.bool_()))


def test_the_gold_fast_path_agrees_with_unwrap_gold():
    raws = [
        " 1",
        "$1$",
        "$$2$$",
        "$",
        "$x$.",
        "\\boxed{3}",
        "$\\boxed{4}$",
        "\\fbox{5}",
        "\\boxed{",
        "6 ",
        "7",
    ]
    for path in sorted(BENCHMARKS.glob("*/test.parquet")):
        table = pq.read_table(path)
        if "answer" in table.column_names:
            raws += [str(v) for v in table["answer"].to_pylist()]
        if "reward_model" in table.column_names:
            raws += [str(v["ground_truth"]) for v in table["reward_model"].to_pylist()]
    assert len(raws) > 1000
    assert [_gold_text(r) for r in raws] == [unwrap_gold(r) for r in raws]


def test_rule_grade_command_writes_the_inputs_columns_as_read_without_pandas(tmp_path):
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    table = pa.table(
        {
            "id": pa.array([1, None, 3], pa.int32()),
            "answer": ["\\frac{1}{2}", "7", "3"],
            "response": ["so \\boxed{0.5}", None, "\\boxed{4}"],
        }
    )
    pq.write_table(table, src)
    code = (
        "import sys; from justeval.cli import main; "
        f"rc = main(['rule-grade', {str(src)!r}, {str(out)!r}, '--jobs', '1']); "
        "print('pandas' in sys.modules, rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=snakemake_env(), capture_output=True, text=True
    )
    assert proc.stdout.split() == ["False", "0"], proc.stderr
    result = pq.read_table(out)
    assert result.schema.names == [
        "id",
        "answer",
        "response",
        "extracted_answer",
        "rule_correct",
        "status",
        "layer",
    ]
    assert result.select(["id", "answer", "response"]).equals(table)  # int32 with a null stays so
    assert result["status"].to_pylist() == ["match", "no_answer", "mismatch"]
    assert result["extracted_answer"].to_pylist() == ["0.5", None, "4"]


def test_pipeline_stage_writes_the_rule_grades_schema(tmp_path):
    bench, gens, out = tmp_path / "b.parquet", tmp_path / "g.parquet", tmp_path / "r.parquet"
    write_parquet(
        pa.table(
            {
                "problem_id": ["p0", "p1"],
                "problem": ["?", "?"],
                "answer": ["\\frac{1}{2}", "3"],
                "answer_raw": ["1/2", "3"],
                "source_row": pa.array([0, 1], pa.int32()),
            }
        ),
        bench,
        BENCHMARK,
    )
    responses = ["\\boxed{0.5}", "\\boxed{2}", None, "\\boxed{3}"]
    write_parquet(
        pa.table(
            {
                "problem_id": ["p0", "p0", "p1", "p1"],
                "sample_idx": pa.array([0, 1, 0, 1], pa.int32()),
                "seed": pa.array([0, 1, 0, 1], pa.int64()),
                "response": responses,
                "prompt_tokens": pa.array([5] * 4, pa.int32()),
                "completion_tokens": pa.array([7] * 4, pa.int32()),
                "finish_reason": ["stop"] * 4,
                "model": ["M"] * 4,
                "settings_hash": ["0" * 16] * 4,
            }
        ),
        gens,
        GENERATIONS,
    )
    grade_shard(str(gens), str(bench), {"grader": "justeval", "timeout": 5.0}, str(out), jobs=1)
    result = pq.read_table(out)
    assert result.schema.remove_metadata().equals(RULE_GRADES)
    assert result["status"].to_pylist() == ["match", "mismatch", "no_answer", "match"]
    assert result["grader"].to_pylist() == ["justeval"] * 4


def test_the_log_counts_worker_restarts(caplog):
    stall = "\\boxed{\\prod_{k=1}^{1000000} \\frac{k+1}{k}}"
    with caplog.at_level(logging.INFO, logger="justeval.stages.rule_grade"):
        grade_frame(["1"], ["\\boxed{1}"], "justeval", 1.0, 1)
        grade_frame(["1", "2"], ["\\boxed{1}", stall], "justeval", 1.0, 1)
    first, second = (r.getMessage() for r in caplog.records if r.getMessage().startswith("graded"))
    assert "restart" not in first
    assert "1 comparison(s) past the 1 s deadline, 0 crashed a worker; workers restarted 1 time(s)" in second


def test_a_stall_in_a_batch_sent_ahead_times_out_alone():
    from justeval.grading.pool import BATCH, GradingPool

    stall = "\\prod_{k=1}^{1000000} \\frac{k+1}{k}"
    tasks = [(str(i), f"{i}.0") for i in range(3 * BATCH)]
    tasks[BATCH + 5] = ("1", stall)  # in the second batch, which goes out while the first runs
    pool = GradingPool("justeval", 1, 1.5)
    try:
        results = pool.run(tasks)
    finally:
        pool.close()
    statuses = [status for _, status, _, _ in results]
    assert statuses == ["match"] * (BATCH + 5) + ["timeout"] + ["match"] * (2 * BATCH - 6)
    assert pool.restarts == 1 and pool.failures == {"timeout": 1}
