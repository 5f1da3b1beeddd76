"""Matching a released file's problems to a benchmark's: by id, by normalised text (exact,
near), with unmatched rows reported and shared benchmark problems flagged. The real
Saturn outputs of ../shared are read in place."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import BENCHMARKS, SHARED
from justeval.analysis.problem_matching import NEAR, match_problems, normal_tokens
from justeval.sources.benchmarks import prepare
from justeval.sources.released.registry import read_released

SATURN = SHARED / "real-outputs" / "saturn-r1-distill"


@pytest.fixture(scope="module")
def aime24() -> pd.DataFrame:
    frame, _ = prepare("AIME24", str(BENCHMARKS / "AIME24" / "test.parquet"), None, None)
    return frame


@pytest.fixture(scope="module")
def saturn_aime24() -> pd.DataFrame:
    return read_released(SATURN / "Saturn-7B__aime24.jsonl").problems()


def _gold_equal(a: str, b: str) -> bool:
    """The file's gold and the benchmark's agree (AIME golds: "073" is 73)."""
    a, b = a.strip(), b.strip()
    return a == b or (a.isdigit() and b.isdigit() and int(a) == int(b))


@pytest.mark.parametrize(
    ("name", "benchmark", "counts", "unmatched"),
    [
        ("Saturn-7B__math500.jsonl", "MATH-500", {"id": 0, "exact": 500, "near": 0}, 0),
        (
            "Saturn-7B__amc22_23.jsonl",
            "AMC23",
            {"id": 0, "exact": 40, "near": 0},
            43,
        ),  # AMC 2022 is not in AMC23
    ],
)
def test_real_saturn_outputs_match_and_every_match_has_the_same_gold(name, benchmark, counts, unmatched):
    """The file's golds are outside evidence: every matched pair must agree on the answer."""
    bench, _ = prepare(benchmark, str(BENCHMARKS / benchmark / "test.parquet"), None, None)
    problems = read_released(SATURN / name).problems().assign(source_id=None)
    matching = match_problems(problems, bench)
    assert matching.counts() == counts and len(matching.unmatched) == unmatched
    gold = bench.set_index("problem_id")["answer"]
    matched = matching.matches.dropna(subset=["problem_id"])
    assert all(_gold_equal(problems.loc[k, "gold"], gold[p]) for k, p in matched["problem_id"].items())


def test_real_saturn_outputs_rekeyed_match_by_text(aime24, saturn_aime24):
    for ids in (None, [f"garbled-{i:03d}" for i in range(30)]):
        matching = match_problems(saturn_aime24.assign(source_id=ids), aime24)
        assert matching.mode == "text"
        assert matching.counts() == {"id": 0, "exact": 30, "near": 0}
        assert matching.unmatched.empty and matching.duplicates.empty and matching.missing == []
        assert matching.matches["score"].tolist() == [1.0] * 30
        gold = aime24.set_index("problem_id")["answer"]
        assert all(
            _gold_equal(g, gold[p])
            for g, p in zip(saturn_aime24["gold"], matching.problem_ids(), strict=True)
        )
    assert matching.summary().startswith(
        "30/30 file problems matched by text (id 0, exact 30, near 0); 0 unmatched"
    )


def test_ids_are_compared_exactly(aime24, saturn_aime24):
    """The file's own ids (aime24-0, ...) are not the benchmark's (AIME24-0, ...): another order."""
    matching = match_problems(saturn_aime24, aime24)
    assert matching.mode == "text" and matching.counts()["exact"] == 30
    first = matching.matches.iloc[0]
    assert first["source_id"] == "aime24-0" and first["problem_id"] != "AIME24-0"
    assert (
        aime24.set_index("problem_id").loc[first["problem_id"], "problem"].startswith("Let $\\omega\\neq 1$")
    )


def test_real_saturn_aime25_near_matches_are_the_same_problems():
    """Another transcription of AIME 2025: spacing and LaTeX differ (near), five are reworded (unmatched)."""
    bench, _ = prepare("AIME25", str(BENCHMARKS / "AIME25" / "test.parquet"), None, None)
    problems = read_released(SATURN / "Saturn-7B__aime25.jsonl").problems()
    matching = match_problems(problems.assign(source_id=None), bench)
    assert matching.counts() == {"id": 0, "exact": 10, "near": 15}
    near = matching.matches[matching.matches["kind"] == "near"]
    assert near["score"].between(NEAR, 1.0, inclusive="left").all()
    gold = bench.set_index("problem_id")["answer"]
    matched = matching.matches.dropna(subset=["problem_id"])
    assert all(_gold_equal(problems.loc[k, "gold"], gold[p]) for k, p in matched["problem_id"].items())
    assert len(matching.unmatched) == 5 and len(matching.missing) == 5
    assert matching.unmatched["note"].str.match(r"closest AIME25-\d+ at 0\.\d{3} \(below 0\.9\)").all()


def _chatml(text: str) -> str:
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        f"{text}\nPlease reason step by step, and put your final answer within \\boxed{{}}.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


LIGHTEVAL = (  # lighteval's MATH prompt before the problem
    "Solve the following math problem efficiently and clearly.  The last line of your response should be "
    "of the following format: 'Therefore, the final answer is: $\\boxed{ANSWER}$. I hope it is correct' "
    "(without quotes) where ANSWER is just the final number or expression that solves the problem. Think "
    "step by step before answering.\n\n"
)


def test_templates_instructions_and_latex_spacing_are_normalised_away(aime24):
    text = aime24["problem"][0]  # Aya's walk
    respaced = text.replace("\\frac{1}{2}", "\\dfrac{1}{2}").replace(" ", "  ").replace("$s+2$", "$s + 2$")
    variants = [
        _chatml(respaced),
        LIGHTEVAL + text,
        f"system\nYou are Qwen.\nuser\n{text} Let's think step by step and output the final answer within "
        "\\boxed{}.\nassistant\n",
        f"Problem:\n{text}\n\nSolution:",
    ]
    assert all(normal_tokens(v) == normal_tokens(text) for v in variants)
    matching = match_problems(pd.DataFrame({"source_id": None, "problem": variants}), aime24)
    assert matching.counts()["exact"] == 4 and set(matching.problem_ids()) == {"AIME24-0"}
    assert len(matching.duplicates) == 4  # four file problems, one benchmark problem: flagged, all kept
    assert matching.matches["note"][0] == "benchmark problem AIME24-0 also matched by file problem(s) 1, 2, 3"


def test_near_unmatched_and_shared_rows_are_reported(aime24):
    walk, triangle = aime24["problem"][0], aime24["problem"][1]
    reworded = walk.replace("Every morning Aya goes for", "Each morning, Aya takes")
    assert reworded != walk
    other_number = walk.replace("$9$-kilometer", "$10$-kilometer")
    frame = pd.DataFrame(
        {
            "source_id": [None] * 5,
            "problem": [
                _chatml(reworded),  # near: a few words differ
                other_number,  # a changed number: another problem
                # not in the benchmark
                "Compute the number of ordered pairs $(a,b)$ of positive integers with $a+b=10$.",
                triangle,
                None,  # no text
            ],
        },
        index=[10, 11, 12, 13, 14],
    )
    matching = match_problems(frame, aime24)
    rows = matching.matches
    assert list(rows.index) == [10, 11, 12, 13, 14]  # every row kept, in the input's index
    assert (rows.loc[10, "problem_id"], rows.loc[10, "kind"]) == ("AIME24-0", "near")
    assert NEAR <= rows.loc[10, "score"] < 1.0
    assert rows.loc[11, "problem_id"] is None
    assert rows.loc[11, "note"].startswith("closest AIME24-0 at 0.9")
    assert "its numbers ['9'] are not in the file's text" in rows.loc[11, "note"]
    assert rows.loc[12, "problem_id"] is None and rows.loc[12, "note"].startswith("closest AIME24-")
    assert rows.loc[13, ["problem_id", "kind"]].tolist() == ["AIME24-1", "exact"]
    assert rows.loc[14, "note"] == "no problem text to match"
    assert list(matching.unmatched.index) == [11, 12, 14]
    assert matching.duplicates.empty
    assert len(matching.missing) == 28


def test_a_word_that_changes_the_question_is_no_near_match(aime24):
    text = aime24["problem"][2]  # "... where $m$ and $n$ are relatively prime positive integers ..."
    assert " positive " in text
    changed = text.replace(" positive ", " ", 1)
    matching = match_problems(pd.DataFrame({"source_id": [None], "problem": [changed]}), aime24)
    row = matching.matches.iloc[0]
    assert row["problem_id"] is None
    assert row["note"].endswith("but ['positive'] is on one side only")


def test_id_matching_when_the_ids_are_the_benchmarks(aime24):
    file = pd.DataFrame(
        {"source_id": aime24["problem_id"], "problem": [_chatml(p) for p in aime24["problem"]]}
    )
    matching = match_problems(file, aime24)
    assert matching.mode == "id"
    assert matching.counts() == {"id": 30, "exact": 0, "near": 0}
    assert matching.problem_ids().tolist() == aime24["problem_id"].tolist()
    assert matching.matches["score"].tolist() == [1.0] * 30
    # ids without texts still match; an id the benchmark lacks goes on to the text rules
    no_text = file.assign(problem=None)
    no_text.loc[3, "source_id"] = "AIME24-99"
    no_text.loc[3, "problem"] = aime24["problem"][3]
    matching = match_problems(no_text, aime24)
    assert matching.mode == "id" and matching.counts() == {"id": 29, "exact": 1, "near": 0}
    assert matching.matches["score"].isna().sum() == 29
    assert matching.matches.loc[3, "note"] == "id 'AIME24-99' is not the benchmark's; matched by text (exact)"


def test_ids_that_coincide_by_chance_are_not_trusted(aime24):
    """Benchmark ids on rows whose texts are other problems: matched by text instead."""
    shuffled = aime24["problem"].tolist()[1:] + aime24["problem"].tolist()[:1]
    matching = match_problems(pd.DataFrame({"source_id": aime24["problem_id"], "problem": shuffled}), aime24)
    assert matching.mode == "text"
    assert "ids not trusted, matched by text" in matching.notes[0]
    assert matching.counts() == {"id": 0, "exact": 30, "near": 0}
    assert matching.problem_ids().tolist() == aime24["problem_id"].tolist()[1:] + ["AIME24-0"]
