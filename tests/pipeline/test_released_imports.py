"""Released outputs of the harnesses people use, regraded through the real Snakefile.

One grade-only run (no engine) imports the fixture of every format of
tests/fixtures/released (lighteval, SkyThought, NeMo-Skills, lm-evaluation-harness,
OpenCompass, verl, MathArena, JustRL, Qwen2.5-Math: see its README for which are real
files and which are excerpts written from the harness's schema), each with `format: auto`,
plus the generic reader with named columns. Their problems are matched to a small local
benchmark (the fixtures' four problems) by text or by id, never by hand; the real Qwen
file's two AIME 2024 problems to the shared AIME24 (2 of its 30 problems). Then:

* each model's accuracy is what an independent grader (math-verify, called here on the
  imported responses and the benchmark's golds) says of the same rows;
* each model's N and problems are what its file holds (NeMo-Skills: one problem with
  fewer samples, a seed's line left unfinished);
* the `provided` variant reproduces each file's own verdicts, and variants.md lists
  every disagreement with both extracted answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import BENCHMARKS, ROOT, new_workdir, run_snakemake, write_config

pytestmark = pytest.mark.pipeline

FIXTURES = ROOT / "tests" / "fixtures" / "released"
# the problems the excerpts share, in this benchmark's row order (JustRL's example_id
# is a row of the benchmark)
PROBLEMS = [
    ("Find the remainder when $2^{100}$ is divided by $7$.", "2"),
    ("How many positive divisors does $360$ have?", "24"),
    ("What is the sum of all real solutions of $x^2 - 5x + 3 = 0$?", "5"),
    ("Compute $\\dbinom{10}{3}$.", "120"),
]
FILES = {
    "lighteval": sorted(FIXTURES.glob("lighteval/details/deepseek-ai/*/*/*.parquet")),
    "skythought": sorted(FIXTURES.glob("skythought/*/results.json")),
    "nemo-skills": sorted(FIXTURES.glob("nemo_skills/eval-results/aime24/output-rs*.jsonl")),
    "lm-eval": sorted(FIXTURES.glob("lm_eval/*/*.jsonl")),
    "opencompass": sorted(FIXTURES.glob("opencompass/outputs/*/*/predictions/*/*.json")),
    "verl": sorted(FIXTURES.glob("verl/val_generations/*.jsonl")),
    "matharena": sorted(FIXTURES.glob("matharena/outputs/**/*.json")),
    "justrl": sorted(FIXTURES.glob("justrl/*/*.jsonl")),
}
QWEN = sorted(FIXTURES.glob("qwen/*.jsonl"))
SATURN_AIME24 = BENCHMARKS.parent / "real-outputs" / "saturn-r1-distill" / "Saturn-7B__aime24.jsonl"
WITH_VERDICTS = ["lighteval", "skythought", "nemo-skills", "lm-eval", "opencompass", "verl", "matharena"]


def _generic_file(path: Path) -> Path:
    """A CSV of our own, columns named in the config: 2 samples of problems 1 and 3."""
    rows = [
        {"question": PROBLEMS[1][0], "output": "So $\\boxed{24}$.", "ok": 1, "n": 0},
        {"question": PROBLEMS[1][0], "output": "I get \\boxed{12}.", "ok": 0, "n": 1},
        {"question": PROBLEMS[3][0], "output": "$\\binom{10}{3} = \\boxed{120}$", "ok": 1, "n": 0},
        {"question": PROBLEMS[3][0], "output": "It is $\\boxed{720}$.", "ok": 0, "n": 1},
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory.mktemp("released"))
    bench = workdir / "fixture-bench.parquet"
    frame = pd.DataFrame(
        {
            "problem_idx": range(len(PROBLEMS)),
            "problem": [p for p, _ in PROBLEMS],
            "answer": [a for _, a in PROBLEMS],
        }
    )
    frame.to_parquet(bench)
    models = [
        {"name": name, "import": {"files": {"FIXTURE": [str(p) for p in paths]}}}
        for name, paths in FILES.items()
    ]
    models.append({"name": "qwen-real", "import": {"files": {"AIME24": str(QWEN[0])}}})
    # real long responses whose ids (aime24-0) are not the benchmark's (AIME24-0)
    models.append({"name": "saturn-rekeyed", "import": {"files": {"AIME24": str(SATURN_AIME24)}}})
    generic = {"problem": "question", "response": "output", "correct": "ok", "sample": "n"}
    models.append(
        {
            "name": "generic",
            "import": {
                "format": "generic",
                "files": {"FIXTURE": str(_generic_file(workdir / "mine.csv"))},
                "options": generic,
            },
        }
    )
    config = {
        "models": models,
        "benchmark_source": str(BENCHMARKS),
        # the protocol's N: an import's N is what its file holds, whatever these say
        "benchmarks": [
            {"name": "FIXTURE", "n_samples": 32, "source": str(bench)},
            {"name": "AIME24", "n_samples": 32},
        ],
        "model_grade": {"enabled": False},
        "grading_variants": [{"name": "main"}, {"name": "source", "provided": True}],
        "analysis": {"budgets": []},
        "overlap": {"enabled": False},
    }
    configfile = write_config(workdir / "released.yaml", config)
    proc = run_snakemake(workdir, "--cores", "2", configfiles=[configfile])
    return workdir, proc


def _scores(workdir) -> pd.DataFrame:
    return pd.read_csv(workdir / "results" / "tables" / "scores.csv")


def _imported(workdir, model, bench="FIXTURE") -> pd.DataFrame:
    gens = pd.read_parquet(workdir / "results" / model / bench / "generations" / "shard-0.parquet")
    origin = pd.read_parquet(workdir / "results" / model / bench / "imported.parquet")
    return gens.merge(origin, on=["problem_id", "sample_idx"], validate="one_to_one")


def test_every_format_is_recognised_matched_and_imported_whole(run):
    workdir, proc = run
    from justeval.sources.released.registry import read_many

    for model, paths in {**FILES, "qwen-real": QWEN}.items():
        bench = "AIME24" if model == "qwen-real" else "FIXTURE"
        released = read_many(paths).rows
        mine = _imported(workdir, model, bench)
        # every sample of the file is imported (the fixtures' problems are all the benchmark's)
        assert len(mine) == len(released), model
        assert sorted(mine["response"]) == sorted(released["response"]), model
        report = (workdir / "results" / model / bench / "imported.md").read_text()
        assert "unmatched" in report, model
    # N per problem is what the files hold: NeMo-Skills' second seed left one line unfinished
    nemo = _imported(workdir, "nemo-skills").groupby("problem_id")["sample_idx"].max().add(1).tolist()
    assert sorted(nemo) == [1, 2, 2]
    scores = _scores(workdir).set_index(["model", "benchmark", "variant"])
    row = scores.loc[("nemo-skills", "FIXTURE", "main")]
    assert (row["n_problems"], row["benchmark_problems"], row["n_samples"], row["min_samples"]) == (
        3,
        4,
        2,
        1,
    )
    qwen = scores.loc[("qwen-real", "AIME24", "main")]
    assert (qwen["n_problems"], qwen["benchmark_problems"], qwen["n_samples"]) == (2, 30, 1)
    # the accuracy table says which cells are part of a benchmark
    md = (workdir / "results" / "tables" / "accuracy.md").read_text()
    assert "- qwen-real on AIME24: 2 of 30 problems, N = 1 per problem" in md
    assert "- nemo-skills on FIXTURE: 3 of 4 problems, N = 1–2 per problem" in md


def test_the_table_is_what_an_independent_grader_says_of_the_same_rows(run):
    """math-verify's LaTeX extraction (no unanchored matches) on responses with a
    \\boxed{}: the protocol grades the final box only, a response without one is wrong."""
    from math_verify import LatexExtractionConfig, parse, verify

    extraction = [LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=False)]
    workdir, _ = run
    accuracy = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv").set_index("model")
    golds = {f"FIXTURE-{i}": a for i, (_, a) in enumerate(PROBLEMS)}
    checked = 0
    for model in [*FILES, "generic"]:
        mine = _imported(workdir, model)
        right = [
            "\\boxed" in text
            and bool(verify(parse(f"${golds[pid]}$"), parse(text, extraction_config=extraction)))
            for pid, text in zip(mine["problem_id"], mine["response"], strict=True)
        ]
        per_problem = pd.Series(right, index=mine["problem_id"]).groupby(level=0).mean()
        expected = 100 * per_problem.mean()
        (column,) = [c for c in accuracy.columns if c.startswith("FIXTURE (@") and "·" not in c]
        assert accuracy.loc[model, column] == pytest.approx(expected, abs=1e-9), model
        checked += 0 < expected < 100
    assert checked >= 6  # the fixtures hold right and wrong responses, not all of one kind


def test_the_provided_variant_is_each_files_own_verdicts(run):
    workdir, _ = run
    from justeval.sources.released.registry import read_many

    scores = _scores(workdir).set_index(["model", "benchmark", "variant"])
    variants_md = (workdir / "results" / "tables" / "variants.md").read_text()
    for model in [*WITH_VERDICTS, "generic"]:
        mine = _imported(workdir, model)
        if model == "generic":
            own = pd.read_csv(workdir / "mine.csv")["ok"].astype(bool).tolist()
            assert mine["provided_correct"].tolist() == own
        else:
            released = read_many(FILES[model]).rows
            assert sorted(mine["provided_correct"].tolist()) == sorted(released["provided_correct"].tolist())
        verdicts = pd.read_parquet(workdir / "results" / model / "FIXTURE" / "source" / "verdicts.parquet")
        merged = verdicts.merge(mine, on=["problem_id", "sample_idx"])
        assert merged["correct"].tolist() == merged["provided_correct"].tolist(), model
        expected = 100 * merged.groupby("problem_id")["correct"].mean().mean()
        assert scores.loc[(model, "FIXTURE", "source"), "mean_at_n"] == pytest.approx(expected), model
        # every disagreement with ours is listed, with both extracted answers
        main = pd.read_parquet(workdir / "results" / model / "FIXTURE" / "main" / "verdicts.parquet")
        both = main.merge(verdicts, on=["problem_id", "sample_idx"], suffixes=("", "_src"))
        for row in both[both["correct"] != both["correct_src"]].itertuples():
            assert f"| {model} | FIXTURE | source | {row.problem_id} #{row.sample_idx} |" in variants_md
    # what a file reports of itself (SkyThought's summary, OpenCompass' results) beside ours
    reported = variants_md.split("## What the imported files report of themselves", 1)[1]
    line = {row.split("|")[1].strip(): row for row in reported.splitlines() if row.startswith("| ")}
    assert "accuracy=0.6667" in line["skythought"] and "accuracy=50.0" in line["opencompass"]
    # JustRL's files carry no verdicts: no `provided` variant for that model
    assert ("justrl", "FIXTURE", "source") not in scores.index
    assert not (workdir / "results" / "justrl" / "FIXTURE" / "source").exists()


def test_a_file_no_format_recognises_is_one_line_naming_its_fields(run, tmp_path):
    workdir, _ = run
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps({"q": "1+1?", "a": "2", "text": "2"}) + "\n")
    config = {
        "models": [{"name": "odd", "import": {"files": {"FIXTURE": str(odd)}}}],
        "benchmarks": [{"name": "FIXTURE", "n_samples": 1, "source": str(workdir / "fixture-bench.parquet")}],
        "model_grade": {"enabled": False},
    }
    proc = run_snakemake(
        workdir, "--dry-run", configfiles=[write_config(tmp_path / "odd.yaml", config)], check=False
    )
    lines = [x for x in (proc.stdout + proc.stderr).splitlines() if "unknown format" in x]
    assert proc.returncode != 0 and len(lines) == 1
    assert (
        "models[0].import.files.FIXTURE" in lines[0] and "q, a, text" in lines[0] and "lighteval" in lines[0]
    )


def test_a_file_whose_ids_are_not_the_benchmarks_is_matched_by_text(run):
    """Saturn-7B's 30 real AIME24 responses: ids `aime24-<k>` against the shared AIME24's
    `AIME24-<k>` (another order of problems): every problem found by its text, each
    response graded against the gold of the problem it answers."""
    workdir, _ = run
    report = (workdir / "results" / "saturn-rekeyed" / "AIME24" / "imported.md").read_text()
    assert "- 30 of 30 benchmark problems covered, 30 samples (N = 1 per problem)." in report
    assert "Matched by text: id 0, exact 30, near 0; 0 of the file's 30 problems unmatched." in report
    mine = _imported(workdir, "saturn-rekeyed", "AIME24")
    source = [json.loads(line) for line in SATURN_AIME24.open()]
    bench = pd.read_parquet(workdir / "data" / "benchmarks" / "AIME24.parquet").set_index("problem_id")
    gold_of_response = {r["response"]: r["answer"].lstrip("0") or "0" for r in source}
    for row in mine.itertuples():  # the file's gold is the gold of the problem it was matched to
        assert gold_of_response[row.response] == (bench.loc[row.problem_id, "answer"].lstrip("0") or "0")
