"""Readers of other harnesses' released outputs: each on its fixture, detection, errors,
the generic reader with named columns, and the real files of ../shared read in place."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SHARED
from justeval.io.parquet import DataError
from justeval.sources.released.common import COLUMNS, peek
from justeval.sources.released.registry import DETECTION_ORDER, FORMATS, detect, read_many, read_released

FIXTURES = ROOT / "tests" / "fixtures" / "released"
REAL = SHARED / "real-outputs"
T, F, N = True, False, None
NEMO = "nemo_skills/eval-results/aime24"
ARENA = "matharena/outputs/fixture/fixture_comp/deepseek/r1-distill-1.5b"

# (fixture, format, samples per problem in file order, golds in that order, the file's verdicts per row)
CASES = [
    ("qwen/test_qwen25-math-cot_-1_seed0_t0.0_s0_e-1.jsonl", "qwen", [1, 1], ["204", "113"], [T, F]),
    (
        "lighteval/details/deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B/2025-03-30T03-22-24.886405/"
        "details_custom_aime24_0_2025-03-30T03-22-24.886405.parquet",
        "lighteval", [1, 1, 1], ["2", "24", "5"], [T, F, F],
    ),
    (
        "lighteval/details/Qwen/Qwen3-0.6B/2025-07-01T10-00-00.000000/"
        "details_lighteval_math_500_0_2025-07-01T10-00-00.000000.parquet",
        "lighteval", [4, 4], ["120", "2"], [N] * 8,
    ),
    (
        "skythought/Qwen_Qwen2.5-Math-7B-Instruct_aime24_myhash0/results.json",
        "skythought", [2, 2, 2], ["2", "24", "5"], [T, F, F, T, T, T],
    ),
    (f"{NEMO}/output-rs0.jsonl", "nemo_skills", [1, 1, 1], ["2", "24", "5"], [T, F, F]),
    (f"{NEMO}/output-rs1.jsonl", "nemo_skills", [1, 1], ["2", "5"], [T, T]),
    (
        "lm_eval/Qwen__Qwen2.5-Math-1.5B/samples_minerva_math_numbertheory_2025-05-01T12-00-00.123456.jsonl",
        "lm_eval", [1, 1, 1], ["2", "24", "120"], [T, F, F],
    ),
    (
        "opencompass/outputs/default/20250301_120000/predictions/qwen2.5-7b-instruct-hf/math_prm800k_500.json",
        "opencompass", [1, 1, 1, 1], ["2", "24", "5", "120"], [T, F, T, F],
    ),
    ("verl/val_generations/150.jsonl", "verl", [2, 2], ["2", "5"], [T, F, F, T]),
    (f"{ARENA}/1.json", "matharena", [4], ["2"], [T, F, F, T]),
    (f"{ARENA}/2.json", "matharena", [4], ["24"], [T, F, T, F]),
    ("justrl/JustRL-DeepSeek-1.5B/fixture.jsonl", "justrl", [2, 2, 2], ["2", "24", "120"], [N] * 6),
]  # fmt: skip


def test_every_format_has_a_fixture_and_a_detection_rule():
    assert {fmt for _, fmt, *_ in CASES} == set(FORMATS) - {"generic"} == set(DETECTION_ORDER)


@pytest.mark.parametrize(
    ("name", "fmt", "samples", "golds", "verdicts"), CASES, ids=[c[0].split("/")[0] for c in CASES]
)
def test_each_reader_on_its_fixture(name, fmt, samples, golds, verdicts):
    path = FIXTURES / name
    assert detect(path) == fmt
    released = read_released(path)
    rows = released.rows
    assert released.fmt == fmt
    assert list(rows.columns) == list(COLUMNS)
    assert rows["source_row"].dtype == "int64" and rows["sample_idx"].dtype == "int64"
    assert len(rows) == sum(samples)
    problems = released.problems()
    assert problems["n_samples"].tolist() == samples
    assert problems["gold"].tolist() == golds
    # samples are numbered 0..n-1 within each problem, in file order
    for _, group in rows.groupby(rows["source_id"].fillna(rows["problem"]), sort=False):
        assert group["sample_idx"].tolist() == list(range(len(group)))
    assert rows["provided_correct"].tolist() == verdicts
    assert all(isinstance(r, str) and r for r in rows["response"])
    assert read_released(path, fmt).rows.equals(rows)  # naming the format reads the same


def test_what_each_reader_takes_from_its_file():
    qwen = read_released(FIXTURES / CASES[0][0]).rows
    assert qwen["source_id"].tolist() == ["0", "1"]
    assert qwen["provided_answer"].tolist() == ["204", "27"]
    assert qwen["problem"][0].startswith("Every morning Aya goes for a $9$-kilometer-long walk")
    assert "\\(\\boxed{27}\\)" in qwen["response"][1]

    old = read_released(FIXTURES / CASES[1][0])
    assert old.rows["provided_answer"].tolist() == ["[2, '2']", "[12, '12']", "[]"]
    assert old.rows["problem"][0].startswith("Solve the following math problem efficiently and clearly.")
    assert old.notes == ["per-sample verdicts from extractive_match"]
    new = read_released(FIXTURES / CASES[2][0])
    assert new.rows["source_id"].tolist() == ["3"] * 4 + ["0"] * 4
    assert "no per-sample verdict" in new.notes[0]

    sky = read_released(FIXTURES / CASES[3][0])
    assert sky.rows["source_id"].unique().tolist() == ["0", "1", "2"]
    assert sky.aggregate == {"accuracy": 0.6667, "pass_at_k": {"temp=0.7": {"k=2": 1.0, "k=1": 0.6667}}}

    nemo = read_released(FIXTURES / CASES[4][0]).rows
    assert nemo["seed"].tolist() == [0, 0, 0]
    assert nemo["provided_answer"].tolist() == ["2", "12", None]
    assert nemo["source_id"].tolist() == ["fixture-0", "fixture-1", "fixture-2"]
    assert "skipped 1 empty line" in read_released(FIXTURES / CASES[5][0]).notes[0]

    lm = read_released(FIXTURES / CASES[6][0])
    assert lm.rows["source_id"].tolist() == ["0", "1", "2"]
    assert lm.rows["provided_answer"].tolist() == [None] * 3  # the "none" filter extracts nothing
    assert "filter 'none'" in lm.notes[0]
    assert lm.rows["problem"][1] == "How many positive divisors does $360$ have?"  # the doc's, not the prompt

    oc = read_released(FIXTURES / CASES[7][0])
    assert oc.aggregate == {"accuracy": 50.0}
    assert oc.rows["source_id"].tolist() == [None] * 4 and oc.rows["source_row"].tolist() == [0, 1, 2, 3]
    assert oc.rows["problem"][0].endswith("put your final answer within \\boxed{}.")  # the human turn, raw

    verl = read_released(FIXTURES / CASES[8][0])
    assert verl.rows["problem"][0].startswith("system\nYou are Qwen")
    assert verl.rows["provided_answer"].tolist() == ["2", "4", "[INVALID]", "5"]
    assert verl.notes == ["per-sample verdicts from 'acc'", "step 150"]

    arena = read_released(FIXTURES / CASES[9][0])
    assert arena.rows["provided_answer"].tolist() == ["2", "4", None, "2"]  # "None": no answer parsed
    assert arena.aggregate == {"pass_at_1": 0.5, "N": 4}
    assert arena.rows["source_id"].tolist() == ["1"] * 4
    assert (
        not arena.rows["response"].str.contains("Let me think about the cycle").any()
    )  # the cot is not the response

    justrl = read_released(FIXTURES / CASES[11][0]).rows
    assert justrl["seed"].tolist() == [0, 1] * 3
    assert justrl["source_id"].tolist() == ["0", "0", "1", "1", "3", "3"]


# ------------------------------------------------------------------ options, several files


def test_lm_eval_reads_the_filter_named():
    path = FIXTURES / CASES[6][0]
    flexible = read_released(path, filter="flexible-extract").rows
    assert flexible["provided_answer"].tolist() == ["2", "12", "[invalid]"]
    assert flexible["provided_correct"].tolist() == [T, F, F]
    with pytest.raises(
        DataError, match=r"filter 'strict-match' is not in the file \(it has none, flexible-extract\)"
    ):
        read_released(path, filter="strict-match")


def test_options_are_checked():
    with pytest.raises(DataError, match="format 'qwen' takes no option 'filter' \\(it takes none\\)"):
        read_released(FIXTURES / CASES[0][0], filter="none")
    with pytest.raises(DataError, match="unknown format 'helm'"):
        read_released(FIXTURES / CASES[0][0], "helm")


def test_nemo_skills_seeds_read_together():
    folder = FIXTURES / "nemo_skills" / "eval-results" / "aime24"
    both = read_many([folder / "output-rs0.jsonl", folder / "output-rs1.jsonl"])
    rows = both.rows
    assert both.fmt == "nemo_skills" and len(rows) == 5
    assert list(rows.columns) == [*COLUMNS, "source_file"]
    per_problem = rows.groupby("source_id")["sample_idx"].apply(list).to_dict()
    assert per_problem == {"fixture-0": [0, 1], "fixture-1": [0], "fixture-2": [0, 1]}
    assert rows["seed"].tolist() == [0, 0, 0, 1, 1]
    assert any("output-rs1.jsonl: skipped 1 empty line" in n for n in both.notes)


def test_matharena_problem_files_read_together():
    folder = FIXTURES / "matharena" / "outputs" / "fixture" / "fixture_comp" / "deepseek" / "r1-distill-1.5b"
    both = read_many(sorted(folder.glob("*.json")))
    assert both.problems()["source_id"].tolist() == ["1", "2"]
    assert both.rows["sample_idx"].tolist() == [0, 1, 2, 3] * 2
    assert [a["pass_at_1"] for a in both.aggregate["files"]] == [0.5, 0.5]


def test_skythought_older_files_keyed_by_temperature(tmp_path):
    entry = {"content": "It is $\\boxed{5}$.", "correctness": True, "reason": ""}
    data = {
        "What is 2+3?": {"problem": "What is 2+3?", "answer": "5", "prompt": "Return ... What is 2+3?",
                         "responses": {"0.7": entry, "1.0": [entry, {**entry, "correctness": False}]},
                         "token_usages": {"0.7": {"completion_tokens": 9, "prompt_tokens": 20}}},
    }  # fmt: skip
    path = tmp_path / "QwQ-32B-Preview_AIME_train_None_0_-1.json"
    path.write_text(json.dumps(data, indent=4))
    assert detect(path) == "skythought"
    with pytest.raises(DataError, match=r"line 2 \(entry 'What is 2\+3\?'\): field 'responses': samples at "
                                        r"temperatures 0.7, 1.0: name one"):  # fmt: skip
        read_released(path)
    hot = read_released(path, temperature=1)
    assert hot.rows["provided_correct"].tolist() == [T, F]
    assert hot.rows["source_id"].tolist() == [None, None]  # the entry's name is the problem text itself
    assert hot.notes == ["responses at temperature 1.0"]
    assert read_released(path, temperature="0.7").rows["sample_idx"].tolist() == [0]


def test_verl_verdicts_from_a_two_valued_score_only(tmp_path):
    def dump(scores, steps=(10,)):
        path = tmp_path / f"{steps[0]}.jsonl"
        lines = [{"input": "user\nWhat is 2+3?\nassistant\n", "output": f"\\boxed{{{5 if s > 0 else 4}}}",
                  "score": s, "step": step, "gts": "5"} for step in steps for s in scores]  # fmt: skip
        path.write_text("".join(json.dumps(r) + "\n" for r in lines))
        return path

    assert read_released(dump([1.0, 0.0])).rows["provided_correct"].tolist() == [T, F]
    assert read_released(dump([1.0, -1.0])).rows["provided_correct"].tolist() == [T, F]
    shaped = read_released(dump([1.1, -0.5]))
    assert shaped.rows["provided_correct"].tolist() == [N, N]
    assert "a reward, not a verdict" in shaped.notes[0]
    two = dump([1.0], steps=(10, 20))
    with pytest.raises(DataError, match="holds the samples of steps 10, 20: name one"):
        read_released(two)
    assert read_released(two, step=20).rows["source_row"].tolist() == [1]


def test_lighteval_values_stored_as_text_are_read_back(tmp_path):
    """When a row could not be stored as is, lighteval stores every value as its text."""
    record = {"example": "What is 2+3?", "full_prompt": "What is 2+3?", "predictions": str(["\\boxed{5}"]),
              "gold": str(["5"]), "metrics": str({"extractive_match": 1.0}), "specifics": "None"}  # fmt: skip
    path = tmp_path / "details_custom_x_0_date.parquet"
    pq.write_table(pa.Table.from_pylist([record]), path)
    rows = read_released(path).rows
    assert rows["response"].tolist() == ["\\boxed{5}"] and rows["gold"].tolist() == ["5"]
    assert rows["provided_correct"].tolist() == [T]


def test_opencompass_without_results_or_with_unaligned_details(tmp_path):
    source = FIXTURES / CASES[7][0]
    alone = tmp_path / "math.json"
    alone.write_text(source.read_text())
    read = read_released(alone)
    assert read.rows["provided_correct"].tolist() == [N] * 4 and read.aggregate is None
    results = tmp_path / "short.json"
    results.write_text(json.dumps({"accuracy": 50.0, "details": [{"pred": "2", "correct": True}]}))
    short = read_released(alone, results=str(results))
    assert short.rows["provided_correct"].tolist() == [N] * 4
    assert "1 details for 4 predictions: not aligned" in short.notes[-1]


def test_matharena_older_files_and_ungraded_runs(tmp_path):
    obj = {"idx": 7, "problem": "What is 2+3?", "gold_answer": "5", "answers": ["5", "None"],
           "correct": [True, "TODO Grading"],
           "responses": ["So $\\boxed{5}$.", "I am not sure."]}  # fmt: skip
    path = tmp_path / "7.json"
    path.write_text(json.dumps(obj, indent=4))
    read = read_released(path)
    assert read.fmt == "matharena"
    assert read.rows["provided_correct"].tolist() == [T, N]
    assert read.notes == ["1 run(s) not graded yet: no verdict"]


# ------------------------------------------------------------------ detection and errors


def test_an_unknown_file_is_one_line_naming_its_fields_and_the_formats_tried(tmp_path):
    path = tmp_path / "outputs.jsonl"
    path.write_text(
        '{"question_text": "What is 2+3?", "model_output": "5"}\n'
        '{"question_text": "x", "model_output": "y"}\n'
    )
    with pytest.raises(DataError) as err:
        detect(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(
        f"{path}: unknown format: JSON lines with fields model_output, question_text; tried "
    )
    assert all(fmt in message for fmt in DETECTION_ORDER)
    # a results file beside the samples is not a released-output file either
    summary = FIXTURES / "skythought" / "Qwen_Qwen2.5-Math-7B-Instruct_aime24_myhash0" / "summary.json"
    with pytest.raises(DataError, match=r"unknown format: a JSON object with entries configuration, "):
        read_released(summary)


def test_detection_order_decides_between_two_matching_rules(tmp_path):
    """A record with both Qwen2.5-Math's fields and JustRL's is read as qwen (earlier in the order)."""
    path = tmp_path / "both.jsonl"
    record = {
        "question": "What is 2+3?",
        "gt": "5",
        "code": ["$\\boxed{5}$"],
        "example_id": 0,
        "response": "5",
    }
    path.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n")
    assert DETECTION_ORDER.index("qwen") < DETECTION_ORDER.index("justrl")
    assert detect(path) == "qwen"


def test_detection_reads_only_the_beginning(tmp_path):
    """A JSON object's first entries decide; a damaged end is found by the reader, with its line."""
    entries = {str(i): {"origin_prompt": "What is 2+3?", "prediction": "5", "gold": "5"} for i in range(40)}
    text = json.dumps(entries, indent=4)
    path = tmp_path / "aime.json"
    path.write_text(text[: len(text) // 2] + '\n    "broken": [1, 2,\n')
    assert peek(path).container == "json-object"
    assert detect(path) == "opencompass"
    with pytest.raises(DataError, match=rf"^{path}: line \d+: "):
        read_released(path)


@pytest.mark.parametrize(
    ("content", "fmt", "expected"),
    [
        ('{"idx": 0, "question": "q", "gt": "5", "code": 5}\nnot json\n', "qwen",
         "line 1: field 'code': expected a list of responses"),
        ('{"idx": 0, "question": "q", "gt": "5", "code": ["a"]}\nnot json\n', "qwen", "line 2: not JSON"),
        ('{"idx": 0, "question": "q", "gt": "5", "code": ["a", "b"], "score": [true]}\n', "qwen",
         "line 1: field 'score': expected a list of 2 (one per response)"),
        ('{"example_id": 0, "prompt": "q", "response": null}\n', "justrl",
         "line 1: field 'response': expected the response text, found nothing"),
        ('{"example_id": 0, "prompt": "q", "response": "r", "seed": "x"}\n', "justrl",
         "line 1: field 'seed': expected an integer"),
        ('{"generation": "g", "problem": "p", "expected_answer": "5", "symbolic_correct": "maybe"}\n',
         "nemo_skills", "line 1: field 'symbolic_correct': expected a verdict"),
        ('{"doc_id": 0, "doc": {}, "target": "5"}\n', "lm_eval", "line 1: no field 'resps'"),
        ('{"input": "p", "score": 1.0}\n', "verl", "line 1: no field 'output'"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_file_line_and_field(tmp_path, content, fmt, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        read_released(path, fmt)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"{path}: {expected}")


def test_a_missing_or_empty_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        detect(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="empty file"):
        detect(tmp_path / "empty.jsonl")


# ------------------------------------------------------------------ generic


RECORDS = [
    {"id": "p1", "question": "What is 2+3?", "answer": "5", "outputs": ["$\\boxed{5}$", "$\\boxed{6}$"],
     "ok": [True, False], "meta": {"level": 1}},
    {"id": "p2", "question": "What is 2*3?", "answer": "6", "outputs": ["It is 6."], "ok": [False],
     "meta": {"level": 2}},
]  # fmt: skip
NAMES = {"problem": "question", "response": "outputs", "gold": "answer", "id": "id", "correct": "ok"}


def _expect_generic(rows):
    assert rows["source_id"].tolist() == ["p1", "p1", "p2"]
    assert rows["sample_idx"].tolist() == [0, 1, 0]
    assert rows["gold"].tolist() == ["5", "5", "6"]
    assert rows["provided_correct"].tolist() == [T, F, F]
    assert rows["response"].tolist() == ["$\\boxed{5}$", "$\\boxed{6}$", "It is 6."]


def test_generic_json_lines_and_json_array(tmp_path):
    lines = tmp_path / "out.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    _expect_generic(read_released(lines, "generic", **NAMES).rows)
    array = tmp_path / "out.json"
    array.write_text(json.dumps(RECORDS, indent=2))
    _expect_generic(read_released(array, "generic", **NAMES).rows)


def test_generic_csv_one_sample_a_row_and_a_list_cell(tmp_path):
    path = tmp_path / "out.csv"
    frame = pd.DataFrame(
        {"pid": ["p1", "p1", "p2"], "q": ["What is 2+3?"] * 2 + ["What is 2*3?"], "gold": [5, 5, 6],
         "resp": ["$\\boxed{5}$", "$\\boxed{6}$", "It is 6."], "idx": [0, 1, 0],
         "verdict": ["yes", "no", "no"]}
    )  # fmt: skip
    frame.to_csv(path, index=False)
    rows = read_released(path, "generic", problem="q", response="resp", gold="gold", id="pid", sample="idx",
                         correct="verdict").rows  # fmt: skip
    _expect_generic(rows)
    listed = tmp_path / "listed.csv"
    listed.write_text('q,resp\n"What is 2+3?","[""$\\\\boxed{5}$"", ""$\\\\boxed{6}$""]"\n')
    assert read_released(listed, "generic", problem="q", response="resp").rows["response"].tolist() == [
        "$\\boxed{5}$",
        "$\\boxed{6}$",
    ]


def test_generic_parquet_with_a_sample_column_and_a_dotted_path(tmp_path):
    flat = [
        {**r, "output": o, "k": k, "verdict": v}
        for r in RECORDS
        for k, (o, v) in enumerate(zip(r["outputs"], r["ok"], strict=True))
    ]
    path = tmp_path / "out.parquet"
    pq.write_table(pa.Table.from_pylist(flat), path)
    rows = read_released(path, "generic", problem="question", response="output", gold="answer", id="id",
                         sample="k", correct="verdict").rows  # fmt: skip
    _expect_generic(rows)
    by_level = read_released(path, "generic", id="meta.level", response="output").rows
    assert by_level["source_id"].tolist() == ["1", "1", "2"]
    doubled = tmp_path / "doubled.parquet"
    pq.write_table(pa.Table.from_pylist(flat + flat[:1]), doubled)
    with pytest.raises(DataError, match=r"row 3: sample 0 of this problem is already at row 0"):
        read_released(doubled, "generic", id="id", response="output", sample="k")


def test_generic_errors_name_the_field(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    with pytest.raises(DataError, match=r"line 1: no field 'prompt' \(the record has \['answer', 'id'"):
        read_released(path, "generic", problem="prompt", response="outputs")
    with pytest.raises(DataError, match="name the problem's field"):
        read_released(path, "generic", response="outputs")
    with pytest.raises(DataError, match="line 1: field 'outputs' holds a list of responses: a sample index"):
        read_released(path, "generic", problem="question", response="outputs", sample="id")
    assert "generic" not in DETECTION_ORDER  # never detected: its fields must be named


# ------------------------------------------------------------------ real files of ../shared, read in place


def test_the_real_qwen25_math_file():
    released = read_released(REAL / "qwen25-math_math-cot-100.jsonl")
    rows = released.rows
    assert released.fmt == "qwen" and len(rows) == 800
    assert (released.problems()["n_samples"] == 8).all()
    assert rows["provided_correct"].mean() == pytest.approx(0.91)  # the README's mean@8
    assert rows.groupby("source_id")["provided_correct"].any().sum() == 96  # and pass@8


def test_the_real_justrl_format_files():
    path = REAL / "saturn-r1-distill" / "Saturn-7B__aime24.jsonl"
    released = read_released(path)
    assert released.fmt == "justrl" and len(released.rows) == 30
    assert released.rows["source_id"].tolist()[:2] == ["aime24-0", "aime24-1"]
    assert released.rows["seed"].unique().tolist() == [0]
    assert released.rows["provided_correct"].isna().all()


def test_fixtures_stay_small():
    for path in FIXTURES.rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 100_000, path
