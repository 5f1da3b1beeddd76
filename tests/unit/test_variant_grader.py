"""maj@k and the drill-down group answers with the variant's own rule grader.

One problem, gold 1/2, four samples whose final answers are 1/2, 2/4, 3, 3.
justeval calls 1/2 and 2/4 the same answer; JustRL's grader (mathruler) compares
unreduced fractions as strings, so for it they differ. The majority answer, and
so maj@4, flips with the grader.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from justeval.io.parquet import read_parquet, write_parquet
from justeval.io.schemas import BENCHMARK, GENERATIONS, VERDICTS
from justeval.stages.aggregate import aggregate
from justeval.stages.tables import drilldown

ANSWERS = ["\\frac{1}{2}", "\\frac{2}{4}", "3", "3"]
CORRECT = [True, False, False, False]  # as JustRL's grader sees them


@pytest.fixture
def run_dir(tmp_path):
    bench = tmp_path / "data" / "B.parquet"
    bench.parent.mkdir(parents=True)
    write_parquet(
        pd.DataFrame(
            {"problem_id": ["p0"], "problem": ["?"], "answer": ["\\frac{1}{2}"], "answer_raw": ["1/2"]}
        ).assign(source_row=0),
        bench,
        BENCHMARK,
        {"benchmark": "B"},
    )
    gens = tmp_path / "M" / "B" / "generations" / "shard-0.parquet"
    gens.parent.mkdir(parents=True)
    write_parquet(
        pd.DataFrame(
            {
                "problem_id": "p0",
                "sample_idx": range(4),
                "seed": range(4),
                "response": [f"so \\boxed{{{a}}}" for a in ANSWERS],
                "prompt_tokens": 5,
                "completion_tokens": 7,
                "finish_reason": "stop",
                "model": "M",
                "settings_hash": "0" * 16,
            }
        ),
        gens,
        GENERATIONS,
    )
    verdicts = tmp_path / "M" / "B" / "main" / "verdicts.parquet"
    verdicts.parent.mkdir(parents=True)
    write_parquet(
        pd.DataFrame(
            {
                "problem_id": "p0",
                "sample_idx": range(4),
                "seed": range(4),
                "extracted_answer": ANSWERS,
                "rule_correct": CORRECT,
                "status": ["match" if c else "mismatch" for c in CORRECT],
                "layer": "mathruler",
                "sent_to_verifier": False,
                "verifier_verdict": None,
                "verifier_output": None,
                "input_truncated": False,
                "correct": CORRECT,
                "completion_tokens": 7,
                "finish_reason": "stop",
                "response_chars": 12,
            }
        ),
        verdicts,
        VERDICTS,
        metadata={"identity": {"model": "M", "benchmark": "B", "variant": "main"}},
    )
    return tmp_path, bench, gens, verdicts


@pytest.mark.parametrize("grader, maj4", [("justeval", 100.0), ("justrl", 0.0)])
def test_maj_at_k_follows_the_variants_grader(run_dir, grader, maj4):
    root, bench, gens, verdicts = run_dir
    settings = {
        "n_samples": 4,
        "pass_k": [1, 4],
        "bootstrap_samples": 10,
        "seed": 0,
        "clustering": {"grader": grader, "timeout": 5.0},
        "version": "test",
    }
    out, details = root / "metrics.parquet", root / "metrics.json"
    aggregate(
        verdicts=str(verdicts),
        benchmark=str(bench),
        generations=[str(gens)],
        settings=settings,
        output=str(out),
        details=str(details),
    )
    row = read_parquet(out).iloc[0]
    assert row["mean_at_n"] == 25.0 and row["pass@4"] == 100.0
    assert row["maj@4"] == maj4
    assert row["maj@1"] == 100.0  # the first sample alone is its own majority
    assert json.loads(details.read_text())["metrics"]["maj@4"] == maj4


@pytest.mark.parametrize(
    "grader, groups",
    [("justeval", "\\frac{1}{2} ×2; 3 ×2"), ("justrl", "3 ×2; \\frac{1}{2} ×1; \\frac{2}{4} ×1")],
)
def test_drilldown_groups_answers_with_the_primary_grader(run_dir, grader, groups):
    root, bench, _gens, verdicts = run_dir
    out_parquet, out_md = root / "problems.parquet", root / "problems.md"
    drilldown(
        benchmark=str(bench),
        verdicts=[str(verdicts)],
        settings={"grader": grader, "timeout": 5.0},
        parquet=str(out_parquet),
        markdown_out=str(out_md),
    )
    table = read_parquet(out_parquet)
    assert table["M answers"].tolist() == [groups]
    assert table["M accuracy"].tolist() == [25.0]
