"""The overlap stage's two commands on real benchmark problems: `overlap` writes the
pairs (every field, texts whole), the counts and an escaped Markdown page;
`overlap-accuracy` leaves the copies out of mean@N, per training set and for all
sets together, with bootstrap intervals, in config order."""

from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import asdict

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import prepared_benchmarks
from justeval.analysis import contamination
from justeval.analysis.contamination import Settings
from justeval.command import add_arguments, call
from justeval.io.parquet import DataError, write_parquet
from justeval.io.schemas import BENCHMARK, VERDICTS
from justeval.sources import training_sets
from justeval.stages import overlap as stage

SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."
NAMES = ["AIME24", "MATH-500"]


def respell(text: str) -> str:
    return re.sub(r"\$([^$]+)\$", r"\\(\1\\)", text.replace("\\frac", "\\dfrac")).replace(" ", "  ")


def other_numbers(text: str) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + 3), text, count=1)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two prepared benchmarks and two training sets (JSON lines; verl Parquet with a chat)
    holding copies, a look-alike, a row with HTML and pipes in it, and an unrelated row."""
    folder = tmp_path_factory.mktemp("overlap")
    frames = prepared_benchmarks()
    paths = []
    for name in NAMES:
        path = folder / f"{name}.parquet"
        write_parquet(frames[name], path, BENCHMARK, {"benchmark": name})
        paths.append(str(path))
    math = frames["MATH-500"].set_index("problem_id")
    long = next(pid for pid, t in math["problem"].items() if len(t) > 300 and "[asy]" not in t)
    picks = {"copy": "MATH-500-1", "look-alike": "MATH-500-4", "html": long}
    rows = [
        {"q": respell(math.loc[picks["copy"], "problem"]) + SUFFIX,
         "a": "\\boxed{" + math.loc[picks["copy"], "answer"] + "}"},
        {"q": other_numbers(math.loc[picks["look-alike"], "problem"]), "a": "-12345"},
        {"q": "<b>bold</b> & | pipe <script>alert(x)</script> " + math.loc[picks["html"], "problem"],
         "a": math.loc[picks["html"], "answer"]},
        {"q": "Unrelated: how many sides does a hexagon have?", "a": "6"},
    ]  # fmt: skip
    jsonl = folder / "set-a.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    aime = frames["AIME24"].iloc[3]
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": aime["problem"] + SUFFIX}]
    verl = folder / "set-b.parquet"
    pq.write_table(pa.table({"prompt": [chat], "reward_model": [{"ground_truth": aime["answer"]}]}), verl)
    settings = {
        "train": [
            {"name": "set-a", "path": str(jsonl), "column": "q", "answer_column": "a"},
            {
                "name": "set-b",
                "path": str(verl),
                "column": "prompt",
                "answer_column": "reward_model.ground_truth",
            },
        ],
        **asdict(Settings.defaults()),  # what the pipeline passes by default
    }
    return {
        "folder": folder,
        "benchmarks": paths,
        "settings": settings,
        "picks": picks,
        "aime": aime["problem_id"],
    }


@pytest.fixture(scope="module")
def outputs(inputs):
    out = inputs["folder"] / "results"
    files = {
        "markdown_out": out / "overlap.md",
        "csv_out": out / "overlap.csv",
        "summary_out": out / "summary.csv",
    }
    stage.overlap(
        benchmarks=inputs["benchmarks"], settings=inputs["settings"], **{k: str(v) for k, v in files.items()}
    )
    return files


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_pairs_file_has_every_pair_classified_with_its_evidence_and_whole_texts(inputs, outputs):
    rows = read_csv(outputs["csv_out"])
    with open(outputs["csv_out"], newline="") as fh:
        assert next(csv.reader(fh)) == stage.PAIR_COLUMNS
    found = {(r["benchmark"], r["problem_id"], r["other"], r["other_row"]): r for r in rows}
    picks, math = inputs["picks"], prepared_benchmarks()["MATH-500"].set_index("problem_id")
    copy = found["MATH-500", picks["copy"], "set-a", "0"]
    assert (copy["label"], copy["other_kind"], copy["answers"]) == ("copy", "training", "equal")
    assert copy["text"] == math.loc[picks["copy"], "problem"]  # whole, line breaks and all
    assert copy["other_text"].endswith(SUFFIX)
    assert copy["other_answer"] == math.loc[picks["copy"], "answer"]  # unboxed
    alike = found["MATH-500", picks["look-alike"], "set-a", "1"]
    assert (alike["label"], alike["answers"], alike["reason"]) == (
        "look-alike",
        "differ",
        "the answers differ",
    )
    assert found["MATH-500", picks["html"], "set-a", "2"]["label"] == "copy"
    chat = found["AIME24", inputs["aime"], "set-b", "0"]
    assert chat["label"] == "copy" and float(chat["score"]) == 1.0  # the chat's user turn, suffix stripped
    assert not [r for r in rows if r["other_row"] == "3"]  # the unrelated row
    assert {r["other"] for r in rows} == {"set-a", "set-b"}  # the two benchmarks share nothing


def test_the_counts_per_benchmark_and_set(outputs):
    rows = {(r["benchmark"], r["other"]): r for r in read_csv(outputs["summary_out"])}
    assert set(rows) == {
        ("AIME24", "MATH-500"), ("AIME24", "set-a"), ("AIME24", "set-b"), ("AIME24", stage.ALL_SETS),
        ("MATH-500", "AIME24"), ("MATH-500", "set-a"), ("MATH-500", "set-b"), ("MATH-500", stage.ALL_SETS),
    }  # fmt: skip
    counts = {k: (int(r["copy"]), int(r["look_alike"])) for k, r in rows.items()}
    assert counts["MATH-500", "set-a"] == (2, 1)
    assert counts["MATH-500", stage.ALL_SETS] == (2, 1)
    assert counts["AIME24", "set-b"] == (1, 0)
    assert counts["AIME24", "MATH-500"] == (0, 0)
    assert rows["MATH-500", "set-a"]["problems"] == "500"
    assert rows["AIME24", "MATH-500"]["other_kind"] == "benchmark"


def test_the_page_lists_copies_first_and_shows_no_live_html(outputs):
    text = outputs["markdown_out"].read_text()
    assert (
        text.index("## Counts") < text.index("## Copies (3 pairs)") < text.index("## Look-alikes (1 pairs)")
    )
    assert "<b>" not in text and "<script>" not in text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; \\| pipe &lt;script&gt;" in text
    for table in re.findall(r"(?:^\|.*\|$\n?)+", text, flags=re.M):
        lines = table.strip().split("\n")
        cells = [len(re.findall(r"(?<!\\)\|", line)) for line in lines]
        assert len(set(cells)) == 1, lines  # no cell breaks its row
    assert not list(outputs["csv_out"].parent.glob(".*tmp"))  # written through temp files, renamed


def test_the_command_line_runs_the_same_stage(inputs, outputs, tmp_path):
    from justeval.cli import parser

    out = tmp_path / "cli"
    args = parser("overlap").parse_args(
        ["overlap", "--benchmarks", *inputs["benchmarks"], "--settings", json.dumps(inputs["settings"]),
         "--markdown", str(out / "o.md"), "--csv", str(out / "o.csv"), "--summary", str(out / "s.csv")]
    )  # fmt: skip
    call(args.func, args)
    assert (out / "o.csv").read_text() == outputs["csv_out"].read_text()


def test_read_and_searched_a_row_at_a_time_the_stage_writes_the_same_files(
    inputs, outputs, tmp_path, monkeypatch
):
    """The training sets are read (JSON lines, Parquet) and searched one row at a time."""
    monkeypatch.setattr(training_sets, "BATCH_ROWS", 1)
    monkeypatch.setattr(contamination, "BATCH_ROWS", 1)
    files = {key: tmp_path / path.name for key, path in outputs.items()}
    stage.overlap(
        benchmarks=inputs["benchmarks"], settings=inputs["settings"], **{k: str(v) for k, v in files.items()}
    )
    for key, path in files.items():
        assert path.read_text() == outputs[key].read_text(), key


def test_a_bad_training_set_is_refused_before_any_search(inputs, tmp_path, monkeypatch):
    """Every training set is opened (its format and columns checked) before the search starts."""
    monkeypatch.setattr(stage, "find_pairs", lambda *a, **k: pytest.fail("the search started"))
    train = [*inputs["settings"]["train"], {"name": "bad", "path": inputs["settings"]["train"][1]["path"],
                                           "column": "question"}]  # fmt: skip
    with pytest.raises(DataError, match="no column 'question'"):
        stage.overlap(
            benchmarks=inputs["benchmarks"], settings={**inputs["settings"], "train": train},
            markdown_out=str(tmp_path / "o.md"), csv_out=str(tmp_path / "o.csv"),
            summary_out=str(tmp_path / "s.csv"),
        )  # fmt: skip


def test_a_training_set_named_like_a_benchmark_is_refused(inputs, tmp_path):
    settings = {**inputs["settings"], "train": [{**inputs["settings"]["train"][0], "name": "AIME24"}]}
    with pytest.raises(DataError, match="'AIME24' is already the name of a benchmark"):
        stage.overlap(
            benchmarks=inputs["benchmarks"], settings=settings, markdown_out=str(tmp_path / "o.md"),
            csv_out=str(tmp_path / "o.csv"), summary_out=str(tmp_path / "s.csv"),
        )  # fmt: skip


def test_markdown_cells_are_escaped_and_cut():
    from justeval.metrics.formatting import md_cell

    assert md_cell("a|b\nc <i>&") == "a\\|b c &lt;i&gt;&amp;"
    assert md_cell("[link](javascript:x) `code` *b*") == "\\[link\\](javascript:x) \\`code\\` \\*b\\*"
    assert md_cell("$\\{a\\|b\\}$") == "\\$\\\\{a\\\\\\|b\\\\}\\$"  # LaTeX shown as written
    assert md_cell("x" * 50, width=10) == "x" * 9 + "…"


# ------------------------------------------------------------------ overlap-accuracy


def verdicts(problem_ids, correct_of, model, variant, path) -> str:
    """A verdicts file of 4 samples per problem; ``correct_of(pid, k)`` says which are right."""
    rows = [
        {
            "problem_id": pid, "sample_idx": k, "seed": k, "extracted_answer": "1",
            "rule_correct": correct_of(pid, k), "status": "match", "layer": "string",
            "sent_to_verifier": False, "verifier_verdict": None, "verifier_output": None,
            "input_truncated": False, "correct": correct_of(pid, k),
            "completion_tokens": 10, "finish_reason": "stop", "response_chars": 10,
        }
        for pid in problem_ids
        for k in range(4)
    ]  # fmt: skip
    frame = pd.DataFrame(rows)[[n for n in VERDICTS.names if n in rows[0]]]
    for name in VERDICTS.names:
        if name not in frame:
            frame[name] = None
    write_parquet(
        frame, path, VERDICTS, {"identity": {"model": model, "benchmark": "MATH-500", "variant": variant}}
    )
    return str(path)


def test_accuracy_without_the_copies(inputs, outputs, tmp_path):
    """Copies are always answered right, the other problems half the time: leaving the
    copies out lowers mean@N; a set that holds no copy of MATH-500 changes nothing."""
    picks = inputs["picks"]
    copies = {picks["copy"], picks["html"]}
    pids = [f"MATH-500-{i}" for i in range(20)]

    def correct(pid, k):
        return pid in copies or k % 2 == 0

    paths = [
        verdicts(pids, correct, model, variant, tmp_path / f"{model}-{variant}.parquet")
        for model in ("model-b", "model-a")
        for variant in ("lenient", "main")
    ]
    settings = {"models": ["model-a", "model-b"], "variants": ["main", "lenient"], "bootstrap_samples": 200,
                "seed": 0, "train": inputs["settings"]["train"]}  # fmt: skip
    md, out = tmp_path / "acc.md", tmp_path / "acc.csv"
    stage.overlap_accuracy(
        pairs=str(outputs["csv_out"]),
        verdicts=paths,
        settings=settings,
        markdown_out=str(md),
        csv_out=str(out),
    )
    rows = read_csv(out)
    order = [(r["model"], r["variant"], r["training_set"]) for r in rows]
    assert order == [
        (m, v, s)
        for m in ("model-a", "model-b")
        for v in ("main", "lenient")
        for s in ("set-a", "set-b", stage.ALL_SETS)
    ]
    by_set = {r["training_set"]: r for r in rows[:3]}
    everything = 100 * (2 + 18 * 0.5) / 20
    assert float(by_set["set-a"]["mean_at_n"]) == pytest.approx(everything)
    assert float(by_set["set-a"]["mean_without"]) == pytest.approx(50.0)
    assert float(by_set["set-a"]["mean_on_copies"]) == pytest.approx(100.0)
    assert float(by_set["set-a"]["delta"]) == pytest.approx(50.0 - everything)
    assert by_set["set-a"]["copies"] == "2" and by_set[stage.ALL_SETS]["copies"] == "2"
    assert by_set["set-b"]["copies"] == "0"
    assert float(by_set["set-b"]["mean_without"]) == pytest.approx(everything)
    for r in rows:
        assert float(r["mean_at_n_low"]) <= float(r["mean_at_n"]) <= float(r["mean_at_n_high"])
        assert float(r["mean_without_low"]) <= float(r["mean_without"]) <= float(r["mean_without_high"])
    assert float(by_set["set-a"]["mean_at_n_low"]) < float(by_set["set-a"]["mean_at_n_high"])
    page = md.read_text()
    assert "| model-a | MATH-500 | main | set-a | 2 / 20 |" in page


def test_accuracy_command_line_options():
    options = argparse.ArgumentParser()
    add_arguments(options, stage.overlap_accuracy)
    line = "--pairs p.csv --verdicts a b --settings {} --markdown m --csv c"
    args = options.parse_args(line.split())
    assert (args.pairs, args.verdicts, args.settings, args.markdown_out, args.csv_out) == (
        "p.csv", ["a", "b"], {}, "m", "c"
    )  # fmt: skip


def test_a_file_that_is_no_pairs_file(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="not an overlap pairs file"):
        stage.read_copies(str(path))
