"""Training-set readers: every format the overlap stage reads (Parquet, JSON lines, JSON
arrays, Arrow, Hugging Face datasets folders), chat columns, answer and id columns,
and one clear error line for every input it cannot read."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SHARED
from justeval.io.parquet import DataError
from justeval.sources import training_sets
from justeval.sources.training_sets import TrainingSet, detect_format, read_training_set, training_columns

PROBLEMS = ["What is $1+1$?", "Compute $2^{10}$.", "How many primes are less than 20?"]
ANSWERS = ["2", "1024", "8"]


def chat(problem: str) -> list[dict]:
    """A few-shot chat: a system turn, a worked example, then the problem in the last user turn."""
    return [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is 3+4?"},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": problem},
    ]


def texts(rows):
    return [r.text for r in rows]


# ------------------------------------------------------------------ formats


def test_parquet_with_a_text_column_and_an_answer_column(tmp_path):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"problem": PROBLEMS, "solution": ANSWERS, "level": [1, 2, 3]}), path)
    rows = read_training_set(path, "problem", "solution")
    assert texts(rows) == PROBLEMS
    assert [r.answer for r in rows] == ANSWERS
    assert [(r.id, r.row) for r in rows] == [("0", 0), ("1", 1), ("2", 2)]
    assert read_training_set(path, "problem")[0].answer is None  # no answer column: no answers
    assert training_columns(path) == ["problem", "solution", "level"]


def test_parquet_is_read_in_batches_in_order(tmp_path):
    path = tmp_path / "big.parquet"
    problems = [f"Problem {i}: what is {i} + 1?" for i in range(10_000)]
    pq.write_table(pa.table({"problem": problems}), path, row_group_size=1500)
    rows = read_training_set(path, "problem")
    assert texts(rows) == problems
    assert rows[-1].row == 9_999


def test_a_verl_parquet_chat_column_reads_as_its_last_user_turn(tmp_path):
    """verl's layout: the prompt a chat, the answer in reward_model.ground_truth, the id in
    extra_info."""
    path = tmp_path / "verl.parquet"
    table = pa.table(
        {
            "prompt": [chat(p) for p in PROBLEMS],
            "reward_model": [{"style": "rule", "ground_truth": a} for a in ANSWERS],
            "extra_info": [{"index": i, "split": "train"} for i in (10, 11, 12)],
        }
    )
    pq.write_table(table, path)
    rows = read_training_set(path, "prompt", "reward_model.ground_truth", "extra_info.index")
    assert texts(rows) == PROBLEMS  # not the system turn, not the worked example
    assert [r.answer for r in rows] == ANSWERS
    assert [r.id for r in rows] == ["10", "11", "12"]


def test_json_lines_with_numeric_answers(tmp_path):
    path = tmp_path / "train.jsonl"
    lines = [json.dumps({"question": p, "answer": int(a)}) for p, a in zip(PROBLEMS, ANSWERS, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    assert detect_format(path) == "jsonl"
    rows = read_training_set(path, "question", "answer")
    assert texts(rows) == PROBLEMS
    assert [r.answer for r in rows] == ANSWERS  # numbers read as text


def test_answers_of_several_types_are_read_as_text(tmp_path):
    answers = [2, "\\frac{1}{2}", 0.5]
    lines = [json.dumps({"problem": p, "answer": a}) for p, a in zip(PROBLEMS, answers, strict=True)]
    (tmp_path / "mixed.jsonl").write_text("\n".join(lines))
    (tmp_path / "mixed.json").write_text("[" + ",".join(lines) + "]")
    for name in ("mixed.jsonl", "mixed.json"):
        rows = read_training_set(tmp_path / name, "problem", "answer")
        assert [r.answer for r in rows] == ["2", "\\frac{1}{2}", "0.5"], name


def test_json_lines_with_a_chat_column(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({"messages": chat(p)}) + "\n" for p in PROBLEMS))
    assert texts(read_training_set(path, "messages")) == PROBLEMS


def test_a_sharegpt_chat_column(tmp_path):
    path = tmp_path / "sharegpt.jsonl"
    turns = [[{"from": "human", "value": p}, {"from": "gpt", "value": "..."}] for p in PROBLEMS]
    path.write_text("".join(json.dumps({"conversations": t}) + "\n" for t in turns))
    assert texts(read_training_set(path, "conversations")) == PROBLEMS


def test_a_json_array_as_limr_publishes_it():
    path = SHARED / "training-sets" / "limr-math8k" / "math.8k.json"
    assert detect_format(path) == "json-array"
    rows = read_training_set(path, "prompt", "answer", "id")
    assert len(rows) == 8523
    assert rows[0].id == "d10e806e-da93-43fd-a9dd-c5018f143037"
    assert rows[0].answer == "118"
    assert rows[0].text.startswith("Let $a$ and $b$ be the two real values")
    assert rows[8522].row == 8522


def test_a_json_array_written_here(tmp_path):
    path = tmp_path / "train.json"
    records = [{"prompt": p, "answer": a} for p, a in zip(PROBLEMS, ANSWERS, strict=True)]
    path.write_text(json.dumps(records, indent=2))
    rows = read_training_set(path, "prompt", "answer")
    assert texts(rows) == PROBLEMS


def test_an_arrow_stream_file(tmp_path):
    path = tmp_path / "train.arrow"
    table = pa.table({"problem": PROBLEMS})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1)
    assert detect_format(path) == "arrow-stream"
    assert texts(read_training_set(path, "problem")) == PROBLEMS


def test_a_datasets_folder_with_splits(tmp_path):
    """What datasets' DatasetDict.save_to_disk writes (Arrow stream shards per split), read
    without the datasets library; each split's rows are numbered from 0."""
    datasets = pytest.importorskip("datasets")
    train = datasets.Dataset.from_dict({"prompt": [chat(p) for p in PROBLEMS], "answer": ANSWERS})
    test = datasets.Dataset.from_dict({"prompt": [chat("Compute $3!$.")], "answer": ["6"]})
    folder = tmp_path / "dataset"
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(
        str(folder), num_shards={"train": 2, "test": 1}
    )
    assert len(list((folder / "train").glob("data-*.arrow"))) == 2
    assert detect_format(folder) == "datasets"
    rows = read_training_set(folder, "prompt", "answer")
    assert texts(rows) == [*PROBLEMS, "Compute $3!$."]
    assert [r.id for r in rows] == ["train:0", "train:1", "train:2", "test:0"]
    assert [r.answer for r in rows] == [*ANSWERS, "6"]
    assert training_columns(folder) == ["prompt", "answer"]


def test_a_datasets_folder_of_one_split(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "one"
    datasets.Dataset.from_dict({"problem": PROBLEMS}).save_to_disk(str(folder))
    rows = read_training_set(folder, "problem")
    assert texts(rows) == PROBLEMS
    assert [r.id for r in rows] == ["0", "1", "2"]


def test_empty_problem_cells_are_left_out(tmp_path):
    path = tmp_path / "holes.parquet"
    pq.write_table(pa.table({"problem": [PROBLEMS[0], None, "  ", PROBLEMS[1]]}), path)
    rows = read_training_set(path, "problem")
    assert [(r.row, r.text) for r in rows] == [(0, PROBLEMS[0]), (3, PROBLEMS[1])]


def test_an_answer_column_with_no_answer_is_no_answers(tmp_path):
    path = tmp_path / "noanswers.parquet"
    pq.write_table(pa.table({"problem": PROBLEMS, "answer": pa.nulls(3)}), path)
    assert [r.answer for r in read_training_set(path, "problem", "answer")] == [None] * 3


# ------------------------------------------------------------------ a batch at a time


def write_every_format(folder, records: list[dict]) -> list:
    """The same records as Parquet, an Arrow stream written as one batch, JSON lines and
    a JSON array."""
    table = pa.Table.from_pylist(records)
    pq.write_table(table, folder / "t.parquet")
    with pa.OSFile(str(folder / "t.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)  # one batch
    (folder / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "t.json").write_text(json.dumps(records, indent=1))
    return [folder / f"t.{ext}" for ext in ("parquet", "arrow", "jsonl", "json")]


def test_every_format_is_read_a_batch_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(training_sets, "BATCH_ROWS", 4)
    problems = [f"What is {i} + 1?" for i in range(10)]
    records = [{"problem": p, "answer": str(i)} for i, p in enumerate(problems)]
    for path in write_every_format(tmp_path, records):
        batches = list(TrainingSet(path, "problem", "answer").batches())
        assert [len(b) for b in batches] == [4, 4, 2], path.name
        rows = [r for b in batches for r in b]
        assert [(r.row, r.text, r.answer) for r in rows] == [(i, p, str(i)) for i, p in enumerate(problems)]


def test_a_sample_reads_the_rows_asked_for_and_counts_empty_ones(tmp_path, monkeypatch):
    """Positions count every row of the file (an empty problem cell too); each is asked
    about in turn; only the accepted rows with a problem come back."""
    monkeypatch.setattr(training_sets, "BATCH_ROWS", 3)
    records = [{"problem": p} for p in ["a0", None, "a2", "a3", " ", "a5", "a6", "a7", ""]]
    for path in write_every_format(tmp_path, records):
        asked = []
        sample = TrainingSet(path, "problem").texts_at(lambda p, asked=asked: asked.append(p) or p % 2 == 0)
        assert list(sample) == [(0, "a0"), (2, "a2"), (6, "a6")], path.name
        assert asked == list(range(9)), path.name


def test_json_answers_whose_type_changes_between_batches_are_read_as_text(tmp_path, monkeypatch):
    """The first batch's answers are numbers, later ones a fraction, a decimal: all text,
    as when the whole file is one table."""
    monkeypatch.setattr(training_sets, "BATCH_ROWS", 2)
    answers = [2, 1024, "\\frac{1}{2}", 8, 0.5]
    records = [{"problem": f"Problem {i}", "answer": a} for i, a in enumerate(answers)]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "t.json").write_text(json.dumps(records))
    for name in ("t.jsonl", "t.json"):
        rows = read_training_set(tmp_path / name, "problem", "answer")
        assert [r.answer for r in rows] == ["2", "1024", "\\frac{1}{2}", "8", "0.5"], name


def test_a_json_array_is_read_an_object_at_a_time(tmp_path, monkeypatch):
    """Read in chunks far smaller than one object (each cut anywhere, in a string, in a
    number, in an escape), it reads as the json module reads the whole file."""
    monkeypatch.setattr(training_sets, "JSON_CHUNK", 5)
    records = [
        {"prompt": p, "answer": a, "extra": {"list": [1, 2.5, "]", "}", None, True], "esc": '\u00e9\\"x'}}
        for p, a in zip(PROBLEMS, ANSWERS, strict=True)
    ]
    path = tmp_path / "train.json"
    path.write_text(" \n" + json.dumps(records, indent=2) + "\n\n")
    assert list(training_sets._json_array_records(path)) == records
    rows = read_training_set(path, "prompt", "answer")
    assert texts(rows) == PROBLEMS
    assert [r.answer for r in rows] == ANSWERS
    monkeypatch.setattr(training_sets, "JSON_CHUNK", 4096)
    limr = SHARED / "training-sets" / "limr-math8k" / "math.8k.json"
    assert list(training_sets._json_array_records(limr)) == json.loads(limr.read_text())


# ------------------------------------------------------------------ one error line each


def error_of(path, column="problem", answer=None) -> str:
    with pytest.raises(DataError) as caught:
        read_training_set(path, column, answer)
    message = str(caught.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    return message


@pytest.mark.parametrize(
    "content",
    [b"problem,answer\nWhat is 1+1?,2\n", b"\x00\x01\x02 binary", b"PAR0 not parquet"],
    ids=["csv", "binary", "near-parquet"],
)
def test_a_file_in_no_known_format(tmp_path, content):
    path = tmp_path / "train.dat"
    path.write_bytes(content)
    assert "not a training set in any known format" in error_of(path)


def test_a_missing_column_names_the_columns_there_are(tmp_path):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"question": PROBLEMS, "answer": ANSWERS}), path)
    assert "no column 'problem' (columns: question, answer)" in error_of(path)
    assert "no column 'gold' (columns: question, answer)" in error_of(path, "question", "gold")
    assert "no column 'reward_model.ground_truth'" in error_of(path, "question", "reward_model.ground_truth")


@pytest.mark.parametrize(
    ("values", "kind"),
    [([1, 2, 3], "int64"), ([b"a", b"b", b"c"], "binary"), ([["a"], ["b"], ["c"]], "list<element: string>")],
)
def test_a_problem_column_that_holds_no_text(tmp_path, values, kind):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"problem": values}), path)
    assert f"column 'problem' holds {kind}, not text or a chat" in error_of(path)


def test_a_binary_answer_column(tmp_path):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({"problem": PROBLEMS, "answer": [b"2", b"3", b"4"]}), path)
    assert "column 'answer' holds binary, not text" in error_of(path, "problem", "answer")


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.jsonl", "", "the file is empty"),
        ("blank.jsonl", "\n\n  \n", "the file is empty"),
        ("empty.json", "[]", "holds no problem (an empty JSON array)"),
    ],
)
def test_an_empty_file_or_set(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_text(content)
    assert says in error_of(path)


def test_a_parquet_file_with_no_row(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"problem": pa.array([], pa.string())}), path)
    assert "holds no problem" in error_of(path)


def test_a_folder_that_is_no_datasets_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert "not a Hugging Face datasets folder" in error_of(tmp_path)
    assert "no such file" in error_of(tmp_path / "missing.parquet")


def test_a_truncated_parquet_file(tmp_path):
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"problem": PROBLEMS}), path)
    path.write_bytes(path.read_bytes()[:-20])
    assert "not a readable Parquet file" in error_of(path)


def test_json_lines_whose_rows_disagree(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"problem": "What is 1+1?"}\n{"problem": 5}\nnot json\n')
    assert "not readable as JSON lines" in error_of(path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('[{"problem": "a"},]', "not readable as a JSON array (Expecting value at character 18)"),
        ('[{"problem": "a"}', "not readable as a JSON array"),
        ('[{"problem": "a"} {"problem": "b"}]', "not readable as a JSON array (expected ',' or ']'"),
        ('[{"problem": "a"}] [', "not readable as a JSON array (extra data at character 19)"),
        ('[{"problem": "a"}, 5]', "a JSON array of objects was expected"),
        ('[{"problem": "caf\xe9"}]', "not readable as a JSON array"),
    ],
    ids=["trailing comma", "cut short", "no comma", "extra data", "not an object", "not UTF-8"],
)
def test_a_broken_json_array(tmp_path, monkeypatch, content, says):
    monkeypatch.setattr(training_sets, "JSON_CHUNK", 4)
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("latin-1"))
    assert says in error_of(path)


def test_a_field_that_is_a_chat_on_some_rows_and_text_on_others(tmp_path):
    """Hand-made sets mix a verl chat and a plain string in one field: each chat is read
    as its last user turn (it was 'the JSON records do not form one table')."""
    rows = [
        {
            "prompt": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Find x: 2x = 4."},
            ]
        },
        {"prompt": "Compute the sum of all primes below 10."},
    ]
    for name, text in (
        ("mixed.jsonl", "".join(json.dumps(r) + "\n" for r in rows)),
        ("mixed.json", json.dumps(rows)),
    ):
        path = tmp_path / name
        path.write_text(text)
        got = read_training_set(path, "prompt")
        assert [r.text for r in got] == ["Find x: 2x = 4.", "Compute the sum of all primes below 10."]
