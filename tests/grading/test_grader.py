"""The grader's layers, statuses, timeouts and the rule-grade command."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT, snakemake_env
from justeval.grading import grade_responses
from justeval.grading.compare import full, quick, sympy_safe
from justeval.grading.normalize import normalize, parse_number
from justeval.grading.runner import Grader


@pytest.mark.parametrize(
    "gold, answer, layer",
    [
        ("204", "204", "string"),
        ("\\frac{1}{2}", "\\dfrac{1}{2}", "string"),
        ("204", "204.0", "number"),
        ("\\frac{1}{2}", "0.5", "number"),
        ("\\frac{9\\sqrt{23}}{23}", "\\frac{9}{\\sqrt{23}}", "numeric"),
        ("(1, 2)", "(1,\\ 2.0)", "structure"),
        ("x \\in [-2, 7]", "-2 \\le x \\le 7", "structure"),
    ],
)
def test_layers(gold, answer, layer):
    decided = quick(gold, answer) or full(gold, answer)
    assert decided == (True, layer)


@pytest.mark.parametrize(
    "gold, answer",
    [
        ("\\frac{1+\\sqrt{31}}{2}", "1+\\frac{\\sqrt{31}}{2}"),
        ("1e-8", "2e-8"),
        ("52_8", "52_1"),
        ("16,3,1", "16,3,1,1"),
        ("204", "204.0000001"),  # an integer gold demands the integer
        ("\\frac{1}{3}", "0.333"),
        ("\\pi", "3.14"),
    ],
)
def test_near_misses_fail(gold, answer):
    (result,) = grade_responses([gold], [f"\\boxed{{{answer}}}"])
    assert (result.status, result.rule_correct) == ("mismatch", False)


def test_statuses_and_extraction():
    results = grade_responses(["1", "1", "1", "1"], ["\\boxed{1}", "no box", "\\boxed{2}", "cut \\boxed{1"])
    assert [r.status for r in results] == ["match", "no_answer", "mismatch", "no_answer"]
    assert [r.layer for r in results] == ["string", "extract", "number", "extract"]
    assert [r.extracted_answer for r in results] == ["1", None, "2", None]


def test_memo_grades_each_distinct_pair_once():
    grader = Grader("justeval")
    responses = ["\\boxed{\\frac{9}{\\sqrt{23}}}"] * 50 + ["\\boxed{3}"] * 50
    results = grader.grade(["\\frac{9\\sqrt{23}}{23}"] * 100, responses)
    assert grader.stats.distinct_pairs == 2
    assert grader.stats.sent_to_workers == 2  # neither pair is decided by the cheap layers
    assert sum(r.rule_correct for r in results) == 50
    grader.grade(["\\frac{9\\sqrt{23}}{23}"], ["\\boxed{3}"])
    assert (grader.stats.distinct_pairs, grader.stats.sent_to_workers) == (2, 2)  # warm memo
    assert grader.stats.responses == 101


def test_a_stalled_sympy_comparison_times_out_and_the_job_goes_on():
    """sympy multiplies out this product term by term for over a minute (about 100 MB);
    the worker is killed after the budget."""
    grader = Grader("justeval", timeout=1.5, jobs=1)
    stall = "\\boxed{\\prod_{k=1}^{1000000} \\frac{k+1}{k}}"
    start = time.monotonic()
    results = grader.grade(["1", "2", "3"], ["\\boxed{1}", stall, "\\boxed{\\frac{6}{2}}"])
    elapsed = time.monotonic() - start
    assert [r.status for r in results] == ["match", "timeout", "match"]
    assert results[1].layer == "timeout"
    assert elapsed < 1.5 + 4.0


def test_timeouts_run_side_by_side_on_two_workers():
    """Four stalling comparisons with two workers and a 3 s budget: one after another
    they would take at least 12 s; dealt out to both workers, two rounds (about 6 s
    plus worker restarts)."""
    stall = r"\prod_{k=1}^{1000000} \frac{k+1}{k}"
    golds = ["\\frac{1}{2}"] * 4 + ["7"]
    responses = [f"\\boxed{{{stall}+{i}}}" for i in range(4)] + ["\\boxed{7}"]
    start = time.perf_counter()
    results = Grader("justeval", timeout=3.0, jobs=2).grade(golds, responses)
    seconds = time.perf_counter() - start
    assert [r.status for r in results] == ["timeout"] * 4 + ["match"]
    assert seconds < 11.0, f"{seconds:.1f} s: the timeouts ran one after another"


def test_sympy_guard():
    assert sympy_safe("\\frac{x+1}{2}")
    assert not sympy_safe("2^{3^{4}}")
    assert not sympy_safe("1" * 50)
    assert not sympy_safe("x" * 400)
    assert not sympy_safe("(" * 20 + ")" * 20)


@pytest.mark.parametrize("grader", ["math_verify", "justrl"])
def test_other_graders(grader):
    results = grade_responses(
        ["\\frac{1}{2}", "3", "(1,2)"], ["\\boxed{0.5}", "\\boxed{4}", "\\boxed{(1, 2)}"], grader=grader
    )
    assert [r.status for r in results] == ["match", "mismatch", "match"]


def test_justrl_grader_keeps_its_quirks():
    # mathruler's (JustRL's) grader: an integer gold demands an integer; unreduced fractions
    # compare as strings (more in test_justrl.py)
    results = grade_responses(
        ["2", "\\frac{2}{4}"], ["\\boxed{2.0001}", "\\boxed{\\frac{1}{2}}"], grader="justrl"
    )
    assert [r.status for r in results] == ["mismatch", "mismatch"]
    assert [r.layer for r in results] == ["mathruler", "mathruler"]


def test_normalize_and_numbers():
    assert normalize("$\\left(1, 2\\right)$.") == "(1,2)"
    assert normalize("x = 5 \\text{ cm}") == "5"
    assert parse_number("1,234") is not None and parse_number("1,234")[0] == 1234
    assert parse_number("\\frac{3}{0}") is None
    assert parse_number("abc") is None


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "justeval", "rule-grade", *args],
        cwd=ROOT,
        env=snakemake_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_rule_grade_command_on_a_jsonl_file_with_response_lists(tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [
        {"question": "q1", "gt": "\\boxed{420}", "code": ["\\boxed{420}", "so 42", "\\boxed{420.0}"]},
        {"question": "q2", "gt": "\\frac{1}{2}", "code": ["\\boxed{0.5}", "\\boxed{2}", "\\boxed{1/2}"]},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.parquet"
    proc = _cli(str(src), str(out), "--gold-column", "gt", "--response-column", "code", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_parquet(out)
    assert list(frame.columns) == [
        "question", "gt", "code", "response_idx", "extracted_answer", "rule_correct", "status", "layer",
    ]  # fmt: skip
    assert frame["status"].tolist() == ["match", "no_answer", "match", "match", "mismatch", "match"]
    assert frame["response_idx"].tolist() == [0, 1, 2, 0, 1, 2]


def test_rule_grade_command_names_a_missing_column(tmp_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"answer": ["1"], "text": ["\\boxed{1}"]}).to_parquet(src)
    proc = _cli(str(src), str(tmp_path / "out.jsonl"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"justeval rule-grade: error: {src}: no column 'response' (columns: answer, text); "
        "name it with --response-column"
    )
    proc = _cli(str(src), str(tmp_path / "out.jsonl"), "--response-column", "text")
    assert proc.returncode == 0
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[0]["status"] == "match"
