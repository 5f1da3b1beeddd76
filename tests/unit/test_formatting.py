"""Text from models and datasets written as data: Markdown cells, code spans and blocks
rendered by markdown-it-py (a renderer no one here wrote, HTML enabled as viewers have
it), and LaTeX cells that start no command."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from justeval.metrics.formatting import latex, latex_text, markdown, md_block, md_cell, md_code
from justeval.stages.model_grade import audit_counts, audit_markdown

HOSTILE = [
    "|x-1|",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "a\nb\r\nc\u2028d\u0085e",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "[here](javascript:alert(1))",
    "<https://example.com>",
    "```\n<script>x</script>\n```",
    "``x`` `` ` ``",
    "\\frac{1}{2} \\| \\\\ $x^2$ *b* _i_ ~s~",
    "\x1b[31mred\x1b[0m \x00\x07",
    "&lt;b&gt; &amp;",
    "",
]


def render(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


class Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.cells, self.code = [], [], None, []
        self._in_code = False
        self.feed(render(text))

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cells = []
        elif tag == "code":
            self._in_code = True
            self.code.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append("".join(self.cells))
            self.cells = None
        elif tag == "code":
            self._in_code = False

    def handle_data(self, data):
        if self.cells is not None:
            self.cells.append(data)
        if self._in_code:
            self.code[-1] += data


def one_line(text: str) -> str:
    return " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text).split())


def test_a_table_of_hostile_cells_renders_to_the_same_texts():
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(len(HOSTILE))], "answer": HOSTILE})
    page = Page(markdown(frame))
    assert set(page.tags) <= {"table", "thead", "tbody", "tr", "th", "td"}
    header, *rows = page.rows
    assert header == ["id", "answer"] and len(rows) == len(HOSTILE)
    for row, text in zip(rows, HOSTILE, strict=True):
        assert row[1] == one_line(text)  # shown literally, on one line


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_holds_no_markup(text):
    page = Page(f"| a |\n| --- |\n| {md_cell(text)} |\n")
    assert page.tags == ["table", "thead", "tr", "th", "tbody", "tr", "td"]
    assert page.rows[1] == [one_line(text)]


@pytest.mark.parametrize("text", HOSTILE)
def test_code_spans_and_blocks_show_their_text(text):
    span = Page(f"gold: {md_code(text)}")
    assert span.tags == ["p", "code"] and span.code[0].strip() == one_line(text)
    block = Page("before\n\n" + md_block(text) + "\nafter\n")
    assert block.tags == ["p", "pre", "code", "p"]  # nothing in it closed the block early
    clean = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text.replace("\r\n", "\n"))
    assert block.code[0] == clean + "\n"


def test_the_verifier_audit_page_shows_hostile_samples_as_text():
    frame = pd.DataFrame(
        {
            "problem_id": [f"p{i}" for i in range(len(HOSTILE))],
            "sample_idx": 0,
            "response": [f"so {t} \\boxed{{{t}}}" for t in HOSTILE],
            "gold": HOSTILE,
            "extracted_answer": HOSTILE,
            "status": "mismatch",
            "layer": "string",
            "rule_correct": False,
            "sent_to_verifier": True,
            "verifier_verdict": "A",
            "verifier_output": HOSTILE,
            "input_truncated": False,
            "correct": True,
        }
    )
    text = audit_markdown(frame, audit_counts(frame, cached=0), {"parse": "lenient"}, "m / HOSTILE")
    page = Page(text)
    assert not set(page.tags) - {"h1", "h2", "h3", "p", "ul", "li", "code", "pre", "table", "thead", "tbody",
                                 "tr", "th", "td"}  # fmt: skip
    assert page.tags.count("pre") == len(HOSTILE)  # every response tail in its own block


def test_latex_cells_start_no_command():
    for text in HOSTILE + ["\\input{/etc/passwd}", "100% & #1 _ ^ ~ { }"]:
        escaped = latex_text(text)
        # what remains of a backslash is one of the escapes, never a command of the data
        commands = re.findall(r"\\([a-zA-Z]+|.)", escaped)
        allowed = {"textbackslash", "textasciicircum", "textasciitilde", "textless", "textgreater", "textbar"}
        assert set(commands) <= allowed | set("{}$&%#_"), (text, escaped)
        assert "\n" not in escaped
    frame = pd.DataFrame({"model": ["a_b"], "score": [50.0]})
    assert "a\\_b" in latex(frame, caption="100% <done>")


def test_a_one_character_numeric_column_still_makes_a_table():
    """`| : |` is no delimiter cell: a header of one character over numbers needs `-:`."""
    page = Page(markdown(pd.DataFrame({"N": [1, 4], "benchmark": ["AIME24", "MATH-500"]})))
    assert page.rows == [["N", "benchmark"], ["1", "AIME24"], ["4", "MATH-500"]]
