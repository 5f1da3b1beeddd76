"""Text from models and datasets is data in every file the pipeline writes.

Hostile problems, gold answers and responses (pipes, newlines, `<script>`, `<img
onerror>`, a boxed Markdown table, links to `javascript:`, backtick fences, control
characters) go through the real Snakefile: import, rule grading under two graders,
metrics, the tables, the comparison of the variants, the drill-down and the overlap
check (the same file as a training set). Every Markdown file is rendered by a Markdown
renderer no one here wrote (markdown-it-py, with HTML enabled, as viewers render
Markdown), and must come out with no tag but the page's own and every table row with its
header's number of cells; what the cells show is what the data says. The CSV and Parquet
files read back to the same texts.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from conftest import new_workdir, run_snakemake, write_config

pytestmark = pytest.mark.pipeline

BENCH = "HOSTILE"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
# (problem, gold, answers the two samples box): each problem its own kind of trouble
PROBLEMS = [
    (f"Find |x-1| when x = 3. {SCRIPT}", "2", ["|x-1| = 2", "2"]),
    (f"What is 1+1? {IMG}\nAnswer | with | pipes.", "2", [IMG, "2"]),
    ("Give the table.\n| a | b |\n|---|---|\n| 1 | 2 |", "\\text{(A)}", ["| a | b |\n|---|---|", "A"]),
    ("Click [here](javascript:alert(1)) and ```fence``` `x`", "3", ["[x](javascript:alert(1))", "```3```"]),
    ("Control \x1b[31mred\x1b[0m and \u2028 separators\u0085.", "4", ["4\u2028", "\x07 4"]),
]
SAFE_TAGS = {
    "h1", "h2", "h3", "h4", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "ul", "ol", "li",
    "strong", "em", "br", "hr", "blockquote",
}  # fmt: skip


def _records() -> list[dict]:
    rows = []
    for i, (problem, gold, answers) in enumerate(PROBLEMS):
        for seed, answer in enumerate(answers):
            response = (
                f"Thinking about {problem}\n<b>bold</b> | done.\nSo the answer is $\\boxed{{{answer}}}$."
            )
            rows.append(
                {"example_id": i, "prompt": problem, "answer": gold, "seed": seed, "response": response}
            )
    return rows


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _render(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def _tables(html: str) -> list[list[list[str]]]:
    """Each rendered table's rows, as the text of their cells."""

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.tables, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.tables[-1].append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.tables[-1][-1].append("".join(self.cell))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    parser = Cells()
    parser.feed(html)
    return parser.tables


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory.mktemp("hostile"))
    source = workdir / "hostile.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _records()))
    config = {
        "models": [{"name": "hostile-model", "import": {"format": "justrl", "files": {BENCH: str(source)}}}],
        "benchmarks": [{"name": BENCH, "n_samples": 2, "source": str(source)}],
        "model_grade": {"enabled": False},
        "analysis": {"budgets": []},  # the budget curve: tests/pipeline/test_sweep.py
        "grading_variants": [{"name": "main"}, {"name": "jr", "rule_grade": {"grader": "justrl"}}],
        "overlap": {
            "train": [{"name": "same", "path": str(source), "column": "prompt", "answer_column": "answer"}]
        },
    }
    run_snakemake(workdir, "--cores", "2", configfiles=[write_config(workdir / "hostile.yaml", config)])
    return workdir


def test_no_markdown_file_holds_live_html_or_a_broken_table(run):
    pages = sorted((run / "results").rglob("*.md"))
    names = {p.name for p in pages}
    assert {"HOSTILE.md", "accuracy.md", "variants.md", "overlap.md", "verifier_audit.md"} <= names
    for page in pages:
        text = page.read_text()
        html = _render(text)
        parser = _Tags()
        parser.feed(html)
        unsafe = [t for t, _ in parser.tags if t not in SAFE_TAGS]
        assert not unsafe, f"{page}: live tags {unsafe}"
        for table in _tables(html):
            widths = {len(row) for row in table}
            assert len(widths) == 1, f"{page}: rows of {sorted(widths)} cells"
        assert "javascript:" not in "".join(str(a) for _, a in parser.tags), page


def test_the_drilldown_shows_what_the_data_says(run):
    html = _render((run / "results" / "problems" / f"{BENCH}.md").read_text())
    (table,) = _tables(html)
    header, *rows = table
    frame = pd.read_parquet(run / "results" / "problems" / f"{BENCH}.parquet")
    assert len(rows) == len(PROBLEMS) == len(frame)
    gold = header.index("gold")
    answers = header.index("hostile-model answers")
    for row, (_, expected) in zip(rows, frame.iterrows(), strict=True):
        assert row[gold] == expected["gold"]
        # the cell shows the grouped answers on one line (control characters as spaces),
        # cut to 120 characters
        shown = " ".join(
            re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", expected["hostile-model answers"]).split()
        )
        assert row[answers].startswith(shown[:100])
    assert any(IMG in r[answers] for r in rows)  # shown as text, not run


def test_csv_and_parquet_read_back_to_the_same_texts(run):
    tables = run / "results" / "tables"
    pairs = pd.read_csv(tables / "overlap.csv", keep_default_na=False, dtype=str)
    copies = pairs[(pairs["other"] == "same") & (pairs["label"] == "copy")]
    problems = {str(row): r["prompt"] for row, r in enumerate(_records())}  # a training id is its row
    assert len(copies) >= 3  # each problem of the file is in the file used as a training set
    for row in copies.itertuples():
        assert row.other_text == problems[row.other_id]  # whole, newlines and all
    variants = pd.read_csv(tables / "variants.csv")
    assert len(variants) >= 1
    shards = sorted((run / "results" / "hostile-model" / BENCH / "generations").glob("shard-*.parquet"))
    gens = pd.concat(pd.read_parquet(p) for p in shards)
    assert set(gens["response"]) == {r["response"] for r in _records()}


def test_the_results_page_shows_hostile_text_as_text(run):
    """Every problem opened and every sample unfolded: the responses' `<script>` and
    `<img onerror>` are text on the page, nothing runs, nothing is fetched."""
    from browser import browser

    view = run / "results" / "page" / "hostile-model" / BENCH / "index.html"
    with browser() as (page, requests):
        page.goto((run / "results" / "index.html").as_uri())
        page.goto(view.as_uri())
        statements = []
        for index in range(len(PROBLEMS)):
            page.click(f'tr.problem[data-index="{index}"]')
            page.wait_for_selector(f'#detail[data-problem-id="{BENCH}-{index}"]')
            page.eval_on_selector_all("#detail details.sample", "ds => ds.forEach(d => { d.open = true; })")
            page.wait_for_function("document.querySelectorAll('#detail .response').length == 2")
            statements.append(page.inner_text("#detail .statement"))
            texts = page.eval_on_selector_all("#detail .response", "rs => rs.map(r => r.textContent)")
            assert len(texts) == 2
            live = page.eval_on_selector_all(
                "#detail script, #detail img, #detail iframe, #detail a", "e => e.length"
            )
            assert live == 0
            assert all("<b>bold</b>" in t for t in texts)  # raw HTML shown, not applied
        assert SCRIPT in statements[0] and IMG in statements[1]
        assert page.evaluate("document.querySelectorAll('#problems td.answers img').length") == 0
    assert all(u.startswith("file://") for u in requests), requests
    assert not page.errors, page.errors  # no alert() dialog, no script error
