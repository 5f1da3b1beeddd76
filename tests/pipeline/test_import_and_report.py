"""Grade-only runs of published outputs, through the real Snakefile, and the report.

The 800 real responses of Qwen2.5-Math's harness in ../shared/real-outputs are
imported (the file brings its own problems and gold answers), graded by the
project's rule grader (no verifier, so no engine is needed) and, as the
`provided` grading variant, by the harness's own verdicts: that variant's row
must reproduce the file's own figures exactly (mean@8 91.0 %, pass@8 96 %).

Four more models bring their real long responses (R1-distill and two RL models,
JustRL's output format, ../shared/real-outputs/saturn-r1-distill) on AIME24,
AIME25 and AMC 2022-23, each file its own benchmark source. Their accuracies
range from about 15 % to 85 %: every table and plot is checked by what it says.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import SHARED, new_workdir, run_snakemake, write_config

pytestmark = pytest.mark.pipeline

REAL = SHARED / "real-outputs" / "qwen25-math_math-cot-100.jsonl"
BENCH = "MATH-COT-100"
SATURN = SHARED / "real-outputs" / "saturn-r1-distill"
# config order on purpose not alphabetical
SATURN_MODELS = {
    "r1-distill-1.5b": "DeepSeek-R1-Distill-Qwen-1_5B",
    "saturn-1.5b": "Saturn-1_5B",
    "r1-distill-7b": "DeepSeek-R1-Distill-Qwen-7B",
    "saturn-7b": "Saturn-7B",
}
SATURN_BENCHES = {"AIME24": "aime24", "AIME25": "aime25", "AMC22-23": "amc22_23"}
MODELS = [*SATURN_MODELS, "qwen25-math"]


def saturn_file(model: str, bench: str) -> str:
    return str(SATURN / f"{SATURN_MODELS[model]}__{SATURN_BENCHES[bench]}.jsonl")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory.mktemp("import"))
    saturn = [
        {"name": m, "import": {"format": "justrl", "files": {b: saturn_file(m, b) for b in SATURN_BENCHES}}}
        for m in SATURN_MODELS
    ]
    configfile = write_config(
        workdir / "import.yaml",
        {
            "models": [
                *saturn,
                {"name": "qwen25-math", "import": {"format": "qwen", "files": {BENCH: str(REAL)}}},
            ],
            "benchmarks": [
                *({"name": b, "n_samples": 1, "source": saturn_file("saturn-7b", b)} for b in SATURN_BENCHES),
                {"name": BENCH, "n_samples": 8, "source": str(REAL), "shard_size": 8},
            ],
            "model_grade": {"enabled": False},
            "grading_variants": [{"name": "main"}, {"name": "harness", "provided": True}],
            "analysis": {"coverage": [{"base": "r1-distill-1.5b", "model": "saturn-1.5b"}], "budgets": []},
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
        *(f"{b} (@1)" for b in SATURN_BENCHES),
        f"{BENCH} (@8)",
        "Avg",
        *(f"{b} (@1) · harness" for b in SATURN_BENCHES),
        f"{BENCH} (@8) · harness",
        "Avg · harness",
    ]
    qwen = accuracy.set_index("model").loc["qwen25-math"]
    assert qwen[f"{BENCH} (@8) · harness"] == pytest.approx(91.0)
    ours = scores[scores["variant"] == "main"].iloc[0]
    assert ours["mean_at_n"] == pytest.approx(100 * 729 / 800)  # one more right than the harness says


def test_variant_report_states_agreement_and_lists_disagreements(run):
    workdir, _ = run
    text = (workdir / "results" / "tables" / "variants.md").read_text()
    assert (
        "`harness` agrees with the primary grading on 799 of 800 samples (99.88 %); 1 verdicts differ."
        in text
    )
    assert re.search(r"\| qwen25-math \| MATH-COT-100 \| harness \| MATH-COT-100-72 #7 \| 10000 \|", text)
    variants = pd.read_csv(workdir / "results" / "tables" / "variants.csv")
    # only the Qwen import carries verdicts of its own
    assert variants[["model", "samples", "verdicts_differ", "only_primary_correct"]].values.tolist() == [
        ["qwen25-math", 800, 1, 1]
    ]


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
        "results/plots/lengths/saturn-7b.png": "Response lengths",
        f"results/qwen25-math/{BENCH}/main/verifier_audit.md": "What the verifier did",
        "results/provenance.json": "config hash and git",
        "results/tables/cost.md": "What the run spent on engines",
    }
    for path, caption in expected.items():
        assert path in results, path
        assert (
            caption.replace("@", "&#64;") in results[path]["caption"] or caption in results[path]["caption"]
        ), path
        assert any(n.endswith(path.rsplit("/", 1)[1]) for n in names), path


# ---------------------------------------------------------------- tables and plots by content


def _verdicts(workdir, model, bench, variant="main"):
    path = workdir / "results" / model / bench / variant / "verdicts.parquet"
    return pq.read_table(path).to_pandas()


def test_accuracy_table_says_what_the_verdicts_say(run):
    from justeval.grading.runner import Grader
    from justeval.sources.benchmarks import unwrap_gold

    workdir, _ = run
    accuracy = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv")
    assert accuracy["model"].tolist() == MODELS  # config order
    table = accuracy.set_index("model")
    labels = json.loads((SATURN / "labels.json").read_text())
    grader = Grader("justeval", timeout=5.0, jobs=2)
    values = []
    for model in SATURN_MODELS:
        for bench in SATURN_BENCHES:
            lines = [json.loads(x) for x in Path(saturn_file(model, bench)).read_text().splitlines()]
            ours = grader.grade([unwrap_gold(r["answer"]) for r in lines], [r["response"] for r in lines])
            expected = 100 * sum(r.rule_correct for r in ours) / len(lines)
            assert table.loc[model, f"{bench} (@1)"] == pytest.approx(expected), (model, bench)
            verdicts = _verdicts(workdir, model, bench)
            assert verdicts["correct"].tolist() == [r.rule_correct for r in ours]
            # another harness's labels, as a sanity bound: they also accept unboxed answers
            # (and, on AMC, loose substring matches); tests/grading/test_saturn_outputs.py
            # adjudicates every difference
            theirs = labels[f"{SATURN_MODELS[model]}__{SATURN_BENCHES[bench]}.jsonl"]
            assert abs(sum(r.rule_correct for r in ours) - sum(theirs)) <= max(3, len(lines) // 6)
            values.append(expected)
        row = [table.loc[model, f"{b} (@1)"] for b in SATURN_BENCHES]
        assert pd.isna(table.loc[model, "Avg"])  # no MATH-COT-100 file for this model
        assert all(0 < v < 100 for v in row)
    assert min(values) < 40 and max(values) > 60  # a realistic spread, neither all 0 nor all 100
    assert table.loc["qwen25-math", f"{BENCH} (@8)"] == pytest.approx(100 * 729 / 800)
    assert pd.isna(table.loc["qwen25-math", "Avg"])  # an average needs every benchmark


def test_paired_table_delta_is_the_difference_of_the_means(run):
    workdir, _ = run
    paired = pd.read_csv(workdir / "results" / "tables" / "paired.csv")
    accuracy = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv").set_index("model")
    first = MODELS[0]
    assert paired["a"].unique().tolist() == [first]
    assert paired["b"].unique().tolist() == MODELS[1:4]  # qwen25-math shares no benchmark with it
    for row in paired[paired["benchmark"] != "Avg"].to_dict("records"):
        assert row["delta"] == pytest.approx(row["mean_b"] - row["mean_a"])
        assert row["mean_a"] == pytest.approx(accuracy.loc[first, f"{row['benchmark']} (@1)"])
        assert row["mean_b"] == pytest.approx(accuracy.loc[row["b"], f"{row['benchmark']} (@1)"])
        assert row["ci_low"] <= row["delta"] <= row["ci_high"]
    # an average needs every benchmark, and MATH-COT-100 is Qwen's alone
    assert "Avg" not in set(paired["benchmark"])
    assert len(paired) == 3 * len(SATURN_BENCHES)
    md = (workdir / "results" / "tables" / "paired.md").read_text()
    assert re.search(r"\| AIME24 +\| +30 \|", md) and "30.00" not in md  # problem counts are integers


def test_drilldown_counts_add_up_to_n(run):
    workdir, _ = run
    problems = pq.read_table(workdir / "results" / "problems" / f"{BENCH}.parquet").to_pandas()
    assert len(problems) == 100
    verdicts = _verdicts(workdir, "qwen25-math", BENCH)
    for row in problems.to_dict("records"):
        answers = row["qwen25-math answers"].split("; ")
        counts = [int(a.rsplit("×", 1)[1]) for a in answers]
        assert sum(counts) == 8, row
        mine = verdicts[verdicts["problem_id"] == row["problem_id"]]
        assert row["qwen25-math accuracy"] == pytest.approx(100 * mine["correct"].mean())
    saturn = pq.read_table(workdir / "results" / "problems" / "AIME24.parquet").to_pandas()
    assert list(saturn.columns) == ["problem_id", "gold"] + [
        f"{m} {what}" for m in SATURN_MODELS for what in ("accuracy", "answers")
    ]


def test_plots_show_the_tables_numbers(run):
    import xml.etree.ElementTree as ET

    from justeval.stages.plots import lengths_figure, pass_at_k_figure

    workdir, _ = run
    metrics = [str(workdir / "results" / m / "AIME25" / "main" / "metrics.parquet") for m in SATURN_MODELS]
    scores = pd.read_csv(workdir / "results" / "tables" / "scores.csv")
    aime25 = scores[(scores["benchmark"] == "AIME25") & (scores["variant"] == "main")].set_index("model")
    (ax,) = pass_at_k_figure(metrics, "AIME25", "main").axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == list(SATURN_MODELS)
    for model, line in lines.items():
        assert list(line.get_xdata()) == [1]
        assert list(line.get_ydata()) == pytest.approx([aime25.loc[model, "pass@1"]])
    svg = ET.parse(workdir / "results" / "plots" / "pass_at_k" / f"{BENCH}.svg").getroot()
    groups = [
        g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("id", "").startswith("pass_at_k ")
    ]
    assert [g.get("id") for g in groups] == ["pass_at_k qwen25-math"]
    assert sum(1 for _ in groups[0].iter("{http://www.w3.org/2000/svg}use")) == 4  # k = 1, 2, 4, 8
    verdict_paths = [
        str(workdir / "results" / "saturn-7b" / b / "main" / "verdicts.parquet") for b in SATURN_BENCHES
    ]
    fig = lengths_figure(verdict_paths, "saturn-7b")
    for ax, bench in zip(fig.axes, SATURN_BENCHES, strict=False):
        assert ax.get_title() == bench
        assert ax.get_xlabel() == "response characters"  # imports carry no token counts
        heights = [sum(p.get_height() for p in c) for c in ax.containers]
        assert sum(heights) == len(_verdicts(workdir, "saturn-7b", bench))
    assert aime25.loc["saturn-7b", "length_unit"] == "characters"


def _ends_in_a_loop(text: str, max_period: int = 2000, repeats: int = 4, min_chars: int = 200) -> bool:
    """The loop definition written out by brute force (not the stage's Z-function): the
    text ends with `repeats` copies of some period p <= max_period (the last one may be cut)
    covering at least `min_chars` characters."""
    for p in range(1, max_period + 1):
        n = p
        while n < len(text) and text[-n - 1] == text[-n - 1 + p]:
            n += 1
        if n >= repeats * p and n >= min_chars:
            return True
    return False


def test_the_truncation_ledger_finds_the_real_loops(run):
    """The imported long responses carry no finish reason; the ledger still finds those
    that end in a loop (`loop_not_truncated`), and exactly those a brute-force reading of
    the texts finds."""
    workdir, _ = run
    ledger = pd.read_csv(workdir / "results" / "tables" / "truncation.csv")
    ledger = ledger[ledger["variant"] == "main"].set_index(["model", "benchmark"])
    for model in SATURN_MODELS:
        for bench in SATURN_BENCHES:
            lines = Path(saturn_file(model, bench)).read_text(encoding="utf-8").splitlines()
            texts = [json.loads(line)["response"] for line in lines if line.strip()]
            expected = sum(_ends_in_a_loop(t) for t in texts)
            assert ledger.loc[(model, bench), "loop_not_truncated"] == expected, (model, bench)
    assert ledger["loop_not_truncated"].sum() >= 2  # a real R1-distill and a real Saturn response loop
    md = (workdir / "results" / "tables" / "truncation.md").read_text()
    assert "loop" in md


def test_samples_needed_against_the_formula(run):
    """The sampling half-width of the Qwen import's mean@8, from its verdicts by the
    textbook formula written here, and the N that brings it under 1 point."""
    workdir, _ = run
    verdicts = pq.read_table(
        workdir / "results" / "qwen25-math" / BENCH / "main" / "verdicts.parquet"
    ).to_pandas()
    counts = verdicts.groupby("problem_id")["correct"].sum().to_numpy()
    n, problems = 8, len(counts)
    variance = sum(c * (n - c) / (n * (n - 1)) for c in counts) / n  # per problem, unbiased
    halfwidth = 1.959963984540054 * 100 * variance**0.5 / problems
    needed = next(m for m in range(1, 10_000) if halfwidth * (n / m) ** 0.5 <= 1.0)
    table = pd.read_csv(workdir / "results" / "tables" / "samples_needed.csv")
    row = table[(table["model"] == "qwen25-math") & (table["variant"] == "main")].iloc[0]
    assert row["sampling_halfwidth"] == pytest.approx(halfwidth, abs=5e-5)  # the CSV has 4 decimals
    assert int(row["n_for_target"]) == needed


def test_coverage_of_a_named_pair_against_its_verdicts(run):
    """pass@1 of both models equals their accuracy, and the problems only one solves are
    the set differences of their verdicts."""
    workdir, _ = run
    coverage = pd.read_csv(workdir / "results" / "tables" / "coverage.csv")
    accuracy = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv").set_index("model")
    for bench in SATURN_BENCHES:
        curve = coverage[(coverage["section"] == "pass_at_k") & (coverage["benchmark"] == bench)]
        assert curve["k"].tolist() == [1]
        assert curve["pass_base"].iloc[0] == pytest.approx(accuracy.loc["r1-distill-1.5b", f"{bench} (@1)"])
        assert curve["pass_model"].iloc[0] == pytest.approx(accuracy.loc["saturn-1.5b", f"{bench} (@1)"])
        solved = {}
        for model in ("r1-distill-1.5b", "saturn-1.5b"):
            v = pq.read_table(workdir / "results" / model / bench / "main" / "verdicts.parquet").to_pandas()
            solved[model] = set(v.loc[v["correct"], "problem_id"])
        only = coverage[(coverage["section"] == "only_one") & (coverage["benchmark"] == bench)]
        by_whom = {who: set(only.loc[only["solved_by"] == who, "problem_id"]) for who in ("base", "model")}
        assert by_whom["base"] == solved["r1-distill-1.5b"] - solved["saturn-1.5b"]
        assert by_whom["model"] == solved["saturn-1.5b"] - solved["r1-distill-1.5b"]


# ---------------------------------------------------------------- the results page, in a browser


def _shown_headline(page) -> dict[tuple[str, str], str]:
    """(model, column) -> the number a cell of the page's headline table shows."""
    cells = page.eval_on_selector_all(
        "#accuracy tbody tr",
        """rows => rows.flatMap(r => Array.from(r.querySelectorAll('td')).map(c =>
            [r.querySelector('th').textContent, c.getAttribute('data-column'),
             c.firstChild ? c.firstChild.textContent : '']))""",
    )
    return {(m, c): v for m, c, v in cells}


def _expected_headline(accuracy: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {
        (row["model"], column): "" if pd.isna(row[column]) else f"{row[column]:.2f}"
        for _, row in accuracy.iterrows()
        for column in accuracy.columns[1:]
    }


def test_results_page_shows_the_tables_numbers_and_every_sample(run):
    from browser import browser

    workdir, _ = run
    results = workdir / "results"
    accuracy = pd.read_csv(results / "tables" / "accuracy.csv")
    with browser() as (page, requests):
        page.goto((results / "index.html").as_uri())
        shown = _shown_headline(page)
        assert shown == _expected_headline(accuracy)
        # every model x (benchmarks and Avg, of both grading variants): numbers from 7 to 93 %
        assert len(shown) == len(MODELS) * (accuracy.shape[1] - 1) == 50
        # pass@k: the chart's points are the scores table's pass@k
        scores = pd.read_csv(results / "tables" / "scores.csv")
        row = scores[
            (scores.model == "qwen25-math") & (scores.benchmark == BENCH) & (scores.variant == "main")
        ]
        points = page.eval_on_selector_all(
            f"#pass-at-k-{BENCH} circle.point",
            "cs => cs.filter(c => c.dataset.series === 'qwen25-math').map(c => [+c.dataset.x, +c.dataset.y])",
        )
        assert points == [[k, pytest.approx(row[f"pass@{k}"].iloc[0])] for k in (1, 2, 4, 8)]
        # a click on a number opens that cell's problems; a click on a problem shows its N samples
        page.click(f'#accuracy td[data-column="{BENCH} (@8)"] a')
        page.wait_for_selector("tr.problem")
        verdicts = _verdicts(workdir, "qwen25-math", BENCH)
        rows = page.eval_on_selector_all("tr.problem", "rs => rs.map(r => r.dataset.problemId)")
        assert len(rows) == verdicts["problem_id"].nunique() == 100
        for index in (0, 37):
            pid = rows[index]
            page.click(f'tr.problem[data-index="{index}"]')
            page.wait_for_selector(f'#detail[data-problem-id="{pid}"]')
            samples = page.eval_on_selector_all(
                "#detail details.sample",
                "ds => ds.map(d => [+d.dataset.sampleIdx, d.dataset.correct === 'true',"
                " d.querySelector('summary code').textContent])",
            )
            mine = verdicts[verdicts["problem_id"] == pid].sort_values("sample_idx")
            assert len(samples) == 8
            assert samples == [
                [
                    int(s.sample_idx),
                    bool(s.correct),
                    s.extracted_answer if isinstance(s.extracted_answer, str) else "—",
                ]
                for s in mine.itertuples()
            ]
        # a long real response (Saturn's, tens of thousands of characters) opens folded,
        # its math rendered and its final box highlighted
        page.goto((results / "page" / "saturn-7b" / "AIME24" / "index.html").as_uri() + "#p=0")
        page.wait_for_selector("#detail[data-problem-id]")
        page.click("#detail details.sample summary")
        page.wait_for_selector("#detail .response")
        assert page.locator("#detail .response button.unfold").count() == 1
        assert page.locator("#detail .response math").count() >= 1
        assert page.locator("#detail .response .final").count() <= 1
    assert requests and all(u.startswith("file://") for u in requests), [
        u for u in requests if not u.startswith("file://")
    ]
    assert not page.errors, page.errors


def test_the_report_opens_on_the_headline_table(run, tmp_path):
    from browser import browser

    workdir, configfile = run
    report = tmp_path / "report.html"
    run_snakemake(workdir, "--report", str(report), configfiles=[configfile])
    accuracy = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv")
    with browser() as (page, requests):
        page.goto(report.as_uri())
        page.wait_for_selector("#accuracy")
        assert _shown_headline(page) == _expected_headline(accuracy)
        assert page.locator("text=results/index.html").count() >= 1
    assert all(u.startswith(("file://", "data:")) for u in requests), requests
