"""The results page's parts: math cut out of responses and rebuilt from an allow-list,
the headline table against its CSVs, charts read back from their SVG, folders written
whole. The pages in a real browser: tests/pipeline (test_import_and_report,
test_hostile_text)."""

from __future__ import annotations

import json
import re
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pandas as pd
import pytest

from conftest import SHARED
from justeval.page import math as pagemath
from justeval.page.html import table, write_directory
from justeval.page.svg import line_chart
from justeval.stages.problem_view import answer_counts, view_files
from justeval.stages.results_page import headline, page

MATHML = "{http://www.w3.org/1998/Math/MathML}"


def _kinds(text):
    return [s[0] for s in pagemath.segments(text)]


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("It costs $5 and $6 here.", ["t"]),  # prices are not math
        (r"So \(x^2\) and $\frac12$.", ["t", "m", "t", "m", "t"]),
        (r"\[ a+b \] then $$c$$", ["m", "t", "m"]),
        (r"\begin{align*} a &= b \\ c &= d \end{align*}", ["m"]),
        (r"final: \boxed{5} done", ["t", "m", "t"]),
        (r"escaped \$5 and $x$", ["t", "m"]),
        ("no math at all", ["t"]),
    ],
)
def test_math_is_found_where_its_delimiters_say(text, kinds):
    assert _kinds(text) == kinds
    # the segments put back together are the text (nothing dropped or doubled)
    rebuilt = []
    for seg, (start, end) in zip(pagemath.segments(text), _spans(text), strict=True):
        rebuilt.append(seg[1] if seg[0] in "tr" else text[start:end])
    assert "".join(rebuilt) == text


def _spans(text):
    out, pos = [], 0
    for seg in pagemath.segments(text):
        n = len(seg[1]) if seg[0] in "tr" else seg[3]
        out.append((pos, pos + n))
        pos += n
    return out


def test_only_the_last_box_is_final():
    segs = pagemath.segments(r"First $\boxed{1}$, then \(x\), so \[\boxed{2}\] and more text.")
    finals = [s for s in segs if s[0] in "mr" and s[2]]
    assert len(finals) == 1 and "<mn>2</mn>" in finals[0][1]


@pytest.mark.parametrize(
    "tex",
    [
        r"\text{<script>alert(1)</script>}",
        r"\text{<img src=x onerror=alert(1)>}",
        r"\href{javascript:alert(1)}{x}",
        r"\frac{1}{",  # latex2mathml raises
        "x" * (pagemath.LONGEST_FRAGMENT + 1),
    ],
)
def test_hostile_or_broken_tex_never_becomes_markup(tex):
    out = pagemath.to_mathml(tex, display=False)
    if out is not None:  # kept as math: only allow-listed elements and attributes
        root = ET.fromstring(out)
        for node in root.iter():
            assert node.tag.startswith(MATHML) and node.tag[len(MATHML) :] in pagemath.ELEMENTS
            assert set(node.attrib) <= pagemath.ATTRIBUTES | {"class"}
            assert "javascript" not in json.dumps(node.attrib)
    segs = pagemath.segments(f"before ${tex}$ after")
    assert all("<script" not in s[1] for s in segs if s[0] == "m")


def test_boxed_becomes_a_boxed_row_mathml_core_draws():
    out = pagemath.to_mathml(r"\boxed{\frac{1}{2}}", display=False)
    root = ET.fromstring(out)
    assert [n.get("class") for n in root.iter() if n.get("class")] == ["boxed"]
    assert not [n for n in root.iter() if n.tag.endswith("menclose")]


def test_real_long_responses_convert_quickly_and_stay_close_to_their_size():
    """Saturn-7B's 500 real MATH-500 responses (another harness's run)."""
    import time

    rows = [
        json.loads(line)
        for line in (SHARED / "real-outputs/saturn-r1-distill/Saturn-7B__math500.jsonl").open()
    ]
    start = time.perf_counter()
    segs = [pagemath.segments(r["response"]) for r in rows]
    took = time.perf_counter() - start
    raw = sum(len(r["response"]) for r in rows)
    stored = sum(len(json.dumps(s, ensure_ascii=False)) for s in segs)
    maths = sum(s[0] == "m" for seg in segs for s in seg)
    kept_as_tex = sum(s[0] == "r" for seg in segs for s in seg)
    assert took < 15, took  # about 1 s here
    assert maths > 1000 and kept_as_tex < maths / 10, (maths, kept_as_tex)
    assert stored < 3 * raw, (stored, raw)


# ---------------------------------------------------------------- the headline table


SETTINGS = {"models": {"a": {}, "b": {}}, "benchmarks": {"AIME24": 4, "MATH": 2}, "variants": ["main", "jr"]}


def _frames():
    accuracy = pd.DataFrame(
        {
            "model": ["a", "b"],
            "AIME24 (@4)": [12.5, 40.0],
            "MATH (@2)": [50.0, float("nan")],
            "Avg": [31.25, float("nan")],
            "AIME24 (@4) · jr": [10.0, 40.0],
        }
    )
    scores = pd.DataFrame(
        [
            {
                "model": m,
                "benchmark": b,
                "variant": v,
                "n_samples": n,
                "sampling_ci_low": lo,
                "sampling_ci_high": hi,
                "n_problems": p,
                "benchmark_problems": 30,
                "min_samples": low,
            }
            for m, b, v, n, lo, hi, p, low in [
                ("a", "AIME24", "main", 4, 5.0, 20.0, 30, 4),
                ("a", "MATH", "main", 2, 45.0, 55.0, 12, 1),  # an import: 12 of 30 problems, N 1-2
                ("b", "AIME24", "main", 4, 30.0, 50.0, 30, 4),
                ("a", "AIME24", "jr", 4, 4.0, 16.0, 30, 4),
            ]
        ]
    )
    published = pd.DataFrame(
        [
            {
                "model": "a",
                "benchmark": "AIME24",
                "published": 30.0,
                "delta": -17.5,
                "published_outside_interval": True,
            },
            {
                "model": "b",
                "benchmark": "AIME24",
                "published": 41.0,
                "delta": -1.0,
                "published_outside_interval": False,
            },
        ]
    )
    return accuracy, scores, published


class _Cells(HTMLParser):
    """Each headline cell: its column, the first text it shows, its classes, its spans."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells, self.cell, self.depth = [], None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td":
            self.cell = {"column": attrs["data-column"], "class": attrs["class"], "texts": [], "value": None}
        elif self.cell is not None and tag == "span":
            self.cell["texts"].append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self.cells.append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            if self.cell["texts"]:
                self.cell["texts"][-1] += data
            else:
                self.cell["value"] = (self.cell["value"] or "") + data


def test_headline_cells_are_the_csv_with_interval_and_published_delta():
    accuracy, scores, published = _frames()
    parser = _Cells()
    parser.feed(headline(accuracy, scores, published, SETTINGS))
    cells = {(i // 4, c["column"]): c for i, c in enumerate(parser.cells)}
    a_aime = cells[0, "AIME24 (@4)"]
    assert a_aime["value"] == "12.50" and a_aime["texts"][0] == "[5.00, 20.00]"
    assert "outside" in a_aime["class"] and a_aime["texts"][1].startswith("Δ -17.50 vs 30.00 published ⚑")
    b_aime = cells[1, "AIME24 (@4)"]
    assert "outside" not in b_aime["class"] and b_aime["texts"][1] == "Δ -1.00 vs 41.00 published"
    assert cells[1, "MATH (@2)"]["value"] is None and cells[1, "Avg"]["value"] is None  # missing: blank
    assert cells[0, "MATH (@2)"]["texts"] == ["[45.00, 55.00]", "12 of 30 problems, N = 1–2"]
    # the second variant's column: its own interval, never the published Δ (that is the primary's)
    jr = cells[0, "AIME24 (@4) · jr"]
    assert jr["value"] == "10.00" and jr["texts"] == ["[4.00, 16.00]"]


def test_page_shows_each_table_it_gets_and_links_every_view():
    accuracy, scores, published = _frames()
    truncation = pd.DataFrame({"model": ["a"], "benchmark": ["AIME24"], "truncated": [3]})
    html, top = page(
        {"accuracy": accuracy, "scores": scores, "published": published, "truncation": truncation},
        SETTINGS,
        {("a", "AIME24"), ("b", "MATH")},
    )
    assert top in html
    assert 'id="table-truncation"' in html and 'id="table-coverage"' not in html
    assert 'href="page/a/AIME24/index.html"' in html and 'href="page/b/MATH/index.html"' in html
    assert "<script>" in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_table_cells_are_escaped_and_carry_their_full_value():
    frame = pd.DataFrame({"name": ["<script>x</script>", "b"], "score": [1 / 3, float("nan")]})
    html = table(frame, "t")
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert 'data-value="0.3333333333333333">0.33<' in html and 'data-value=""></td>' in html


def test_chart_points_are_the_data():
    svg = line_chart({"run": [(200, 40.0), (100, 30.5), (300, float("nan"))]}, "t", "step", "acc", "c")
    points = re.findall(r'data-series="run" data-x="([^"]+)" data-y="([^"]+)"', svg)
    assert [(float(x), float(y)) for x, y in points] == [(100.0, 30.5), (200.0, 40.0)]  # sorted, NaN skipped
    cy = [float(v) for v in re.findall(r'<circle class="point" cx="[^"]+" cy="([^"]+)"', svg)]
    assert cy[0] > cy[1]  # higher accuracy is drawn higher
    ET.fromstring(svg)  # well-formed


# ---------------------------------------------------------------- problem views


def test_view_files_hold_every_sample_and_the_counts_of_answers():
    bench = pd.DataFrame(
        {"problem_id": ["P-0", "P-1"], "problem": ["Find $x$.", "Say <b>hi</b>."], "answer": ["2", "hi"]}
    )
    verdicts = pd.DataFrame(
        {
            "problem_id": ["P-0"] * 3 + ["P-1"] * 3,
            "sample_idx": [0, 1, 2] * 2,
            "seed": [7, 8, 9] * 2,
            "extracted_answer": ["2", "3", "2", None, "hi", "hi"],
            "correct": [True, False, True, False, True, True],
            "layer": ["string"] * 6,
            "status": ["match"] * 6,
            "verifier_verdict": [None] * 6,
            "finish_reason": ["stop"] * 6,
            "completion_tokens": [10] * 6,
        }
    )
    generations = verdicts[["problem_id", "sample_idx"]].assign(
        response=[f"r{i} $\\boxed{{x}}$" for i in range(6)]
    )
    files = view_files(bench, verdicts, generations, {"model": "m", "benchmark": "B", "variant": "main"})
    assert sorted(files) == ["index.html", "p/0000.js", "p/0001.js"]
    data = json.loads(files["p/0001.js"].removeprefix("justevalProblem(").removesuffix(");\n"))
    assert [s["sample_idx"] for s in data["samples"]] == [0, 1, 2]
    assert [s["extracted_answer"] for s in data["samples"]] == [None, "hi", "hi"]
    assert data["statement"] == [["t", "Say <b>hi</b>."]]  # text, set as text by the page
    assert "Say <b>" not in files["index.html"]
    assert answer_counts(verdicts[verdicts.problem_id == "P-0"]) == [
        {"answer": "2", "count": 2, "graded": "correct"},
        {"answer": "3", "count": 1, "graded": "incorrect"},
    ]
    assert 'data-problem-id="P-1" data-samples="3"' in files["index.html"]
    assert "mean@N 66.67 %" in files["index.html"]  # (2/3 + 2/3) / 2
    # an import that covers one problem of two: the other is listed as not in the file
    part = verdicts[verdicts.problem_id == "P-0"].iloc[:2]
    files = view_files(bench, part, generations, {"model": "m", "benchmark": "B", "variant": "main"})
    assert "1 of 2 problems, 2 samples" in files["index.html"] and "mean@N 50.00 %" in files["index.html"]
    assert 'data-problem-id="P-1" data-samples="0"' in files["index.html"]
    assert "(not in the imported file)" in files["index.html"]


def test_a_verdict_without_its_response_is_one_clear_error():
    from justeval.io.parquet import DataError

    bench = pd.DataFrame({"problem_id": ["P-0"], "problem": ["x"], "answer": ["1"]})
    verdicts = pd.DataFrame(
        {"problem_id": ["P-0"], "sample_idx": [0], "seed": [1], "extracted_answer": ["1"], "correct": [True]}
    )
    generations = pd.DataFrame({"problem_id": ["P-0"], "sample_idx": [1], "response": ["r"]})
    with pytest.raises(DataError, match=r"sample P-0 #0 has no response"):
        view_files(bench, verdicts, generations, {"model": "m", "benchmark": "B", "variant": "main"})


def test_a_folder_is_written_whole_with_the_users_permissions(tmp_path):
    target = tmp_path / "view"
    write_directory(target, {"index.html": "a", "p/0000.js": "b"})
    assert (target / "p" / "0000.js").read_text() == "b"
    assert stat.S_IMODE((target / "index.html").stat().st_mode) == 0o644  # umask 022
    assert stat.S_IMODE((target / "p").stat().st_mode) == 0o755
    write_directory(target, {"index.html": "new"})  # replaces the old folder whole
    assert sorted(p.name for p in target.rglob("*")) == ["index.html"]
    with pytest.raises(TypeError):
        write_directory(target, {"index.html": None})
    assert (target / "index.html").read_text() == "new"  # a failed write leaves the old one
    assert [p.name for p in tmp_path.iterdir()] == ["view"]  # and no temp folder


def test_one_sample_per_problem_shows_the_bootstrap_over_problems():
    """N = 1 leaves no sampling variance to estimate (its SE is 0): the cell shows the
    bootstrap interval over problems instead, marked b."""
    accuracy = pd.DataFrame({"model": ["imp"], "AIME24 (@1)": [30.0], "Avg": [30.0]})
    scores = pd.DataFrame(
        [
            {"model": "imp", "benchmark": "AIME24", "variant": "main", "n_samples": 1,
             "sampling_ci_low": 30.0, "sampling_ci_high": 30.0,
             "bootstrap_ci_low": 13.33, "bootstrap_ci_high": 46.67}
        ]
    )  # fmt: skip
    parser = _Cells()
    settings = {"models": {"imp": {}}, "benchmarks": {"AIME24": 32}, "variants": ["main"]}
    parser.feed(headline(accuracy, scores, pd.DataFrame(), settings))
    assert parser.cells[0]["value"] == "30.00" and parser.cells[0]["texts"] == ["[13.33, 46.67] b"]
