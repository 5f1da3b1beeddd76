"""prepare_benchmark: both source layouts, gold unwrapping, and clear errors."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import BENCHMARKS
from justeval.sources.benchmarks import BenchmarkError, prepare, unwrap_gold

EXPECTED_SIZES = {
    "AIME24": 30,
    "AIME25": 30,
    "AMC23": 40,
    "MATH-500": 500,
    "Minerva": 272,
    "Olympiad-Bench": 674,
    "BRUMO25": 30,
    "CMIMC25": 40,
    "HMMT25": 30,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_SIZES))
def test_every_shared_benchmark_loads(name):
    frame, meta = prepare(name, str(BENCHMARKS / name / "test.parquet"), None, None)
    assert len(frame) == EXPECTED_SIZES[name]
    assert list(frame.columns) == ["problem_id", "problem", "answer", "answer_raw", "source_row"]
    assert frame["problem_id"].is_unique
    assert (frame["problem"].str.len() > 0).all() and (frame["answer"].str.len() > 0).all()
    assert not frame["answer"].str.contains(r"\\boxed").any()
    assert meta["layout"] == ("matharena" if name in ("BRUMO25", "CMIMC25", "HMMT25") else "verl")
    assert meta["problems_in_source"] == EXPECTED_SIZES[name]
    assert len(meta["content_sha256"]) == 64


def test_aime24_gold_is_unwrapped_from_boxed():
    frame, _ = prepare("AIME24", str(BENCHMARKS / "AIME24" / "test.parquet"), None, None)
    first = frame.iloc[0]
    assert first.problem_id == "AIME24-0"
    assert first.answer_raw == "\\boxed{204}"
    assert first.answer == "204"


def test_matharena_ids_and_olympiad_dollars():
    hmmt, _ = prepare("HMMT25", str(BENCHMARKS / "HMMT25" / "test.parquet"), None, None)
    assert hmmt.problem_id.tolist()[:3] == ["HMMT25-1", "HMMT25-2", "HMMT25-3"]
    olympiad, _ = prepare("Olympiad-Bench", str(BENCHMARKS / "Olympiad-Bench" / "test.parquet"), None, None)
    assert olympiad.iloc[1].answer_raw == "$\\frac{1}{2 n+2}$"
    assert olympiad.iloc[1].answer == "\\frac{1}{2 n+2}"


@pytest.mark.parametrize(
    "raw, gold",
    [
        ("\\boxed{204}", "204"),
        ("$2^{1009}$", "2^{1009}"),
        ("  42 ", "42"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("$\\boxed{3}$", "3"),
    ],
)
def test_unwrap_gold(raw, gold):
    assert unwrap_gold(raw) == gold


def test_limit_keeps_first_problems_and_changes_content_hash():
    src = str(BENCHMARKS / "AMC23" / "test.parquet")
    full, meta_full = prepare("AMC23", src, None, None)
    cut, meta_cut = prepare("AMC23", src, 3, None)
    assert cut.problem_id.tolist() == full.problem_id.tolist()[:3]
    assert meta_cut["content_sha256"] != meta_full["content_sha256"]
    assert meta_cut["source_sha256"] == meta_full["source_sha256"]


def test_sha256_pin_is_checked():
    src = BENCHMARKS / "AIME25" / "test.parquet"
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    prepare("AIME25", str(src), None, good)
    with pytest.raises(BenchmarkError, match="sha256 is .* config expects 0+"):
        prepare("AIME25", str(src), None, "0" * 64)


def _verl_table(answers, problems=None):
    problems = problems or [f"Problem {i}" for i in range(len(answers))]
    return pa.table(
        {
            "prompt": [[{"content": p, "role": "user"}] for p in problems],
            "reward_model": [{"ground_truth": a, "style": "rule"} for a in answers],
            "extra_info": [{"index": f"X-{i}", "split": "test"} for i in range(len(answers))],
        }
    )


def test_empty_answer_names_file_row_and_column(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(_verl_table(["1", "2", "  "]), path)
    with pytest.raises(BenchmarkError) as err:
        prepare("X", str(path), None, None)
    assert str(err.value) == f"{path}: row 2 column 'reward_model.ground_truth': empty answer"


def test_empty_boxed_answer_is_an_error(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(_verl_table(["1", "\\boxed{}"]), path)
    with pytest.raises(BenchmarkError, match=r"row 1 column 'reward_model.ground_truth': empty answer after"):
        prepare("X", str(path), None, None)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"problem_idx": [1, 2], "problem": ["a", "b"]}).to_parquet(path)
    with pytest.raises(BenchmarkError, match=r"bad.parquet: missing column 'answer'"):
        prepare("X", str(path), None, None)


def test_empty_problem_in_matharena_layout(tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"problem_idx": [1, 2], "problem": ["a", None], "answer": ["1", "2"]}).to_parquet(path)
    with pytest.raises(BenchmarkError, match=r"row 1 column 'problem': empty problem"):
        prepare("X", str(path), None, None)


def test_duplicate_problem_ids(tmp_path):
    path = tmp_path / "dup.parquet"
    pd.DataFrame({"problem_idx": [1, 1], "problem": ["a", "b"], "answer": ["1", "2"]}).to_parquet(path)
    with pytest.raises(BenchmarkError, match=r"row 1: problem id 'X-1' repeats row 0"):
        prepare("X", str(path), None, None)


def test_unknown_layout_and_unreadable_file(tmp_path):
    path = tmp_path / "other.parquet"
    pd.DataFrame({"query": ["a"], "target": ["1"]}).to_parquet(path)
    with pytest.raises(BenchmarkError, match="unknown layout"):
        prepare("X", str(path), None, None)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(BenchmarkError, match="cannot read"):
        prepare("X", str(junk), None, None)


def test_jsonl_source(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"problem_idx": 7, "problem": "What is 1+1?", "answer": "2"}\n')
    frame, meta = prepare("J", str(path), None, None)
    assert frame.problem_id.tolist() == ["J-7"] and frame.answer.tolist() == ["2"]
    assert meta["layout"] == "matharena"


def test_jsonl_lines_end_only_at_newline(tmp_path):
    # JSON may hold U+2028, U+0085 or a form feed unescaped inside a string;
    # str.splitlines() would cut the record there
    path = tmp_path / "b.jsonl"
    texts = ["Let\u2028x = 1.", "Find\x85y.", "Page\x0cbreak"]
    path.write_text(
        "".join(json.dumps({"problem_idx": i, "problem": t, "answer": "1"}, ensure_ascii=False) + "\n"
                for i, t in enumerate(texts)),
        encoding="utf-8",
    )  # fmt: skip
    frame, _ = prepare("J", str(path), None, None)
    assert frame.problem.tolist() == texts


@pytest.fixture
def http_server():
    """A loopback HTTP server over the shared benchmarks that fails the first N requests."""
    import http.server
    import threading
    from functools import partial

    state = {"fail": 0, "requests": 0}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            state["requests"] += 1
            if state["fail"] > 0:
                state["fail"] -= 1
                self.send_error(503, "try again")
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(BENCHMARKS)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


def test_url_source(http_server):
    base, state = http_server
    frame, meta = prepare("AIME24", f"{base}/AIME24/test.parquet", 2, None)
    assert frame.problem_id.tolist() == ["AIME24-0", "AIME24-1"]
    assert meta["source"] == f"{base}/AIME24/test.parquet"
    assert (
        meta["source_sha256"]
        == hashlib.sha256((BENCHMARKS / "AIME24" / "test.parquet").read_bytes()).hexdigest()
    )


def test_url_download_is_retried_then_fails_clearly(http_server):
    from justeval.sources.benchmarks import fetch

    base, state = http_server
    state["fail"] = 2
    data = fetch(f"{base}/AMC23/test.parquet", attempts=3, backoff=0.01)
    assert data == (BENCHMARKS / "AMC23" / "test.parquet").read_bytes()
    assert state["requests"] == 3
    state["fail"] = 5
    with pytest.raises(BenchmarkError, match=r"download failed after 2 attempts: HTTP Error 503"):
        fetch(f"{base}/AMC23/test.parquet", attempts=2, backoff=0.01)
    state["fail"], state["requests"] = 0, 0
    with pytest.raises(BenchmarkError, match=r"NOPE/test.parquet: download failed: HTTP Error 404"):
        fetch(f"{base}/NOPE/test.parquet", attempts=3, backoff=0.01)
    assert state["requests"] == 1  # a missing file is not retried


SATURN = BENCHMARKS.parent / "real-outputs" / "saturn-r1-distill"


def test_a_justrl_output_file_is_its_own_benchmark(tmp_path):
    """JustRL-format outputs (example_id, prompt, answer, seed, response) can be graded
    without a separate benchmark file: their prompts and golds are the benchmark."""
    import json

    from justeval.stages.import_generations import read_and_match

    source = SATURN / "Saturn-7B__aime24.jsonl"
    lines = [json.loads(line) for line in source.read_text().splitlines()]
    frame, meta = prepare("AIME24", str(source), None, None)
    assert meta["layout"] == "justrl"
    assert len(frame) == 30 and frame["problem_id"].tolist()[:2] == ["aime24-0", "aime24-1"]
    assert frame["problem"].tolist() == [rec["prompt"].strip() for rec in lines]
    assert frame["answer"].tolist() == [unwrap_gold(rec["answer"]) for rec in lines]
    assert frame["answer"].iloc[0] == "321"
    got, matching, *_ = read_and_match([str(source)], {"format": "auto"}, frame, "AIME24")
    assert got["problem_id"].tolist() == frame["problem_id"].tolist()
    assert (got["sample_idx"] == 0).all() and matching.counts() == {"id": 30, "exact": 0, "near": 0}


def test_a_justrl_output_file_with_conflicting_lines_is_one_error(tmp_path):
    source = tmp_path / "out.jsonl"
    rows = [
        {"example_id": 0, "prompt": "1+1?", "answer": "2", "seed": 1, "response": "\\boxed{2}"},
        {"example_id": 0, "prompt": "1+1?", "answer": "2", "seed": 2, "response": "\\boxed{3}"},
        {"example_id": 0, "prompt": "1+1?", "answer": "3", "seed": 3, "response": "\\boxed{3}"},
    ]
    source.write_text("".join(pd.Series([r]).to_json(orient="records", lines=True) for r in rows))
    with pytest.raises(
        BenchmarkError, match="row 2: example_id 0 has another prompt or answer than on row 0"
    ):
        prepare("T", str(source), None, None)
    source.write_text("".join(pd.Series([r]).to_json(orient="records", lines=True) for r in rows[:2]))
    frame, _ = prepare("T", str(source), None, None)
    assert frame["problem_id"].tolist() == ["T-0"] and frame["answer"].tolist() == ["2"]
