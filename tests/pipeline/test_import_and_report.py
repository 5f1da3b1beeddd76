"""Grade-only runs of published outputs, through the real Snakefile, and the report.

The 800 real responses of Qwen2.5-Math's harness in ../shared/real-outputs are
imported (the file brings its own problems and gold answers), graded by the
project's rule grader (no verifier, so no engine is needed) and, as the
`provided` grading variant, by the harness's own verdicts: that variant's row
must reproduce the file's own figures exactly (mean@8 91.0 %, pass@8 96 %).
"""

from __future__ import annotations

import json
import re
import zipfile

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import SHARED, new_workdir, run_snakemake, write_config

pytestmark = pytest.mark.pipeline

REAL = SHARED / "real-outputs" / "qwen25-math_math-cot-100.jsonl"
BENCH = "MATH-COT-100"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory.mktemp("import"))
    configfile = write_config(
        workdir / "import.yaml",
        {
            "models": [{"name": "qwen25-math", "import": {"format": "qwen", "files": {BENCH: str(REAL)}}}],
            "benchmarks": [{"name": BENCH, "n_samples": 8, "source": str(REAL), "shard_size": 8}],
            "model_grade": {"enabled": False},
            "grading_variants": [{"name": "main"}, {"name": "harness", "provided": True}],
        },
    )
    run_snakemake(workdir, "--cores", "2", configfiles=[configfile])
    return workdir, configfile


def test_provided_verdicts_reproduce_the_files_figures(run):
    workdir, _ = run
    scores = pq.read_table(workdir / "results" / "qwen25-math" / BENCH / "scores.parquet").to_pandas()
    harness = scores[scores["variant"] == "harness"].iloc[0]
    assert harness["mean_at_n"] == pytest.approx(91.0, abs=1e-9)
    assert harness["pass@8"] == pytest.approx(96.0, abs=1e-9)
    assert harness["n_responses"] == 800
    accuracy = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv")
    assert list(accuracy.columns) == [
        "model",
        f"{BENCH} (@8)",
        "Avg",
        f"{BENCH} (@8) · harness",
        "Avg · harness",
    ]
    assert accuracy.loc[0, f"{BENCH} (@8) · harness"] == pytest.approx(91.0)
    ours = scores[scores["variant"] == "main"].iloc[0]
    assert ours["mean_at_n"] == pytest.approx(100 * 729 / 800)  # one more right than the harness says


def test_variant_report_states_agreement_and_lists_disagreements(run):
    workdir, _ = run
    text = (workdir / "results" / "tables" / "variants.md").read_text()
    assert (
        "`harness` agrees with the primary grading on 799 of 800 samples (99.88 %); 1 verdicts differ."
        in text
    )
    assert re.search(r"\| qwen25-math \| MATH-COT-100 \| harness \| MATH-COT-100-72 #7 \| `10000` \|", text)
    variants = pd.read_csv(workdir / "results" / "tables" / "variants.csv")
    assert variants[["samples", "verdicts_differ", "only_primary_correct"]].values.tolist() == [[800, 1, 1]]


def test_imported_generations_keep_the_responses(run):
    workdir, _ = run
    gens = pq.read_table(
        workdir / "results" / "qwen25-math" / BENCH / "generations" / "shard-0.parquet"
    ).to_pandas()
    assert len(gens) == 800 and gens["seed"].isna().all()
    first = json.loads(REAL.read_text().splitlines()[0])
    assert gens.loc[0, "response"] == first["code"][0]
    assert gens["problem_id"].iloc[[0, 8]].tolist() == [f"{BENCH}-0", f"{BENCH}-1"]


def test_report_holds_every_table_plot_and_audit_with_its_caption(run, tmp_path):
    workdir, configfile = run
    report = tmp_path / "report.zip"
    run_snakemake(workdir, "--report", str(report), configfiles=[configfile])
    with zipfile.ZipFile(report) as archive:
        names = archive.namelist()
        html = archive.read(next(n for n in names if n.endswith("report.html"))).decode()
    match = re.search(r"var results = (\{.*?\});\n", html, re.S)
    results = json.loads(match.group(1))
    expected = {
        "results/tables/accuracy.md": "unweighted mean over benchmarks",
        "results/tables/scores.md": "bootstrap interval over problems",
        "results/tables/published.md": "published in the JustRL README",
        "results/tables/paired.md": "paired bootstrap over problems",
        "results/tables/variants.md": "Grading variants side by side",
        f"results/problems/{BENCH}.md": "Per-problem drill-down",
        f"results/plots/pass_at_k/{BENCH}.png": "pass@k",
        "results/plots/lengths/qwen25-math.png": "Response lengths",
        f"results/qwen25-math/{BENCH}/main/verifier_audit.md": "What the verifier did",
        "results/provenance.json": "config hash and git",
    }
    for path, caption in expected.items():
        assert path in results, path
        assert (
            caption.replace("@", "&#64;") in results[path]["caption"] or caption in results[path]["caption"]
        ), path
        assert any(n.endswith(path.rsplit("/", 1)[1]) for n in names), path
