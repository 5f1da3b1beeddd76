"""The ``justrl`` rule grader: JustRL's extraction in front of mathruler's grader.

The differential test checks that the pipeline path (extraction, memo, worker
pool, deadline) gives exactly the verdict of calling mathruler directly; the
property tests pin the extraction rules; the stall test shows the deadline
holds for this grader too.
"""

from __future__ import annotations

import json
import random
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mathruler.grader import grade_answer

from conftest import BENCHMARKS, SHARED, prepared_benchmarks
from justeval.grading.guard import refuses
from justeval.grading.justrl import extract_answer, justrl_equal, unwrap_gold
from justeval.grading.runner import Grader
from justeval.sources.benchmarks import prepare

REAL = SHARED / "real-outputs"


# ---------------------------------------------------------------- pairs


def _benchmark_golds() -> list[str]:
    """Every distinct gold of the nine benchmarks, as prepared and as in the source."""
    golds: dict[str, None] = {}
    for frame in prepared_benchmarks().values():
        golds.update(dict.fromkeys(frame["answer"]))
        golds.update(dict.fromkeys(frame["answer_raw"]))
    return list(golds)


def _real_pairs() -> list[tuple[str, str]]:
    """(gold, response) of the real outputs: Qwen2.5-Math's 800 and the Saturn files."""
    pairs = []
    for line in (REAL / "qwen25-math_math-cot-100.jsonl").read_text().splitlines():
        row = json.loads(line)
        pairs.extend((row["gt"], response) for response in row["code"])
    for path in sorted((REAL / "saturn-r1-distill").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            pairs.append((row["answer"], row["response"]))
    return pairs


_INT = re.compile(r"-?\d+")
_FRAC = re.compile(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}")


def _answers(gold: str) -> list[str]:
    """Rewritten forms of a gold (equivalent ones and near misses) to put in a box."""
    bare = unwrap_gold(gold).strip().strip("$")
    out = [bare, f" {bare} ", f"\\text{{{bare}}}", f"x = {bare}", bare + "+1"]
    if "\\frac" in bare:
        out.append(bare.replace("\\frac", "\\dfrac"))
    if "," in bare or "+" in bare:
        out.append(bare.replace(",", ", ").replace("+", " + "))
    if _INT.fullmatch(bare):
        n = int(bare)
        out += [str(n + 1), str(n - 1), f"{bare}.0", f"\\${bare}", f"{bare}\\text{{ cm}}", f"{bare}^\\circ"]
        out += [f"{bare} \\%", "0" + bare if n >= 0 else bare.replace("-", "-0")]
        if abs(n) >= 1000:
            out += [f"{n:,}", f"{n:,}".replace(",", "{,}"), f"{n:,}".replace(",", "\\,")]
    frac = _FRAC.fullmatch(bare)
    if frac:
        sign, a, b = frac.group(1), int(frac.group(2)), int(frac.group(3))
        out += [f"{sign}{a}/{b}", f"{sign}\\frac{{{b}}}{{{a}}}", f"{sign}\\frac{{{a + 1}}}{{{b}}}"]
        out += [f"{sign}\\frac{{{2 * a}}}{{{2 * b}}}", f"{sign}{a / b:.6g}" if b else "0"]
    return out


def _response(answer: str, rng: random.Random) -> str:
    """A response that gives ``answer`` in one of the shapes models write."""
    shape = rng.choice(["boxed", "boxed", "earlier box", "fbox", "braceless", "unboxed", "truncated"])
    lead = "Reasoning with {braces} and $x^2$ along the way. "
    if shape == "boxed":
        return f"{lead}So the answer is $\\boxed{{{answer}}}$."
    if shape == "earlier box":
        return f"{lead}First \\boxed{{0}}, then on reflection \\[\\boxed{{{answer}}}\\]"
    if shape == "fbox":
        return f"{lead}Answer: \\fbox{{{answer}}}"
    if shape == "braceless":
        return f"{lead}Answer: $\\boxed {answer}$." if rng.random() < 0.7 else f"{lead}\\boxed {answer}"
    if shape == "unboxed":
        return f"{lead}The answer is {answer}."
    return f"{lead}\\boxed{{{answer}}} wait, let me redo it: \\boxed{{{answer[: len(answer) // 2]}"


def _differential_pairs() -> list[tuple[str, str]]:
    rng = random.Random(10)
    pairs = []
    for gold in _benchmark_golds():
        answers = _answers(gold)
        for answer in rng.sample(answers, min(len(answers), 4)):
            pairs.append((gold, _response(answer, rng)))
    return pairs + _real_pairs()


def _direct(gold: str, response: str) -> tuple[bool | None, float]:
    """mathruler's verdict called directly in this process (None: it raised), and its seconds."""
    answer = extract_answer(response)
    if answer is None:
        return False, 0.0
    start = time.perf_counter()
    try:
        verdict = bool(grade_answer(answer, unwrap_gold(gold)))
    except Exception:
        verdict = None
    return verdict, time.perf_counter() - start


# (gold, answer) pairs that mathruler accepts and the universal-answer guard refuses
EXPECTED_OVERRULED: list[tuple[str, str]] = []


def test_pipeline_gives_mathrulers_verdict_on_thousands_of_pairs():
    pairs = _differential_pairs()
    golds, responses = [g for g, _ in pairs], [r for _, r in pairs]
    start = time.perf_counter()
    results = Grader("justrl", timeout=5.0, jobs=2).grade(golds, responses)
    pipeline_seconds = time.perf_counter() - start

    direct: dict[tuple[str, str | None], tuple[bool | None, float]] = {}
    mismatched, overruled = [], []
    for gold, response, result in zip(golds, responses, results, strict=True):
        answer = extract_answer(response)
        assert result.extracted_answer == answer
        key = (gold, answer)
        if key not in direct:
            direct[key] = _direct(gold, response)
        verdict, seconds = direct[key]
        if answer is None:
            expected = {("no_answer", False, "extract")}
        elif refuses(gold, answer):  # the guard in front of every grader
            expected = {("mismatch", False, "universal")}
            if verdict:
                overruled.append((gold, answer))
        elif verdict is None:
            expected = {("error", False, "error")}
        else:
            expected = {("match" if verdict else "mismatch", verdict, "mathruler")}
        if seconds > 1.0:  # near the deadline on a loaded machine: either outcome is the pool's right
            expected.add(("timeout", False, "timeout"))
        if (result.status, result.rule_correct, result.layer) not in expected:
            mismatched.append((gold, answer, result, verdict))
    assert mismatched == []
    # where the guard overrules JustRL's grader, the answer really is not the gold
    assert sorted(set(overruled)) == EXPECTED_OVERRULED
    statuses = {r.status for r in results}
    assert {"match", "mismatch", "no_answer"} <= statuses
    assert len(pairs) > 3000 and len(direct) > 2000
    print(f"{len(pairs)} pairs, {len(direct)} distinct, pipeline {pipeline_seconds:.1f} s")


def test_qwen_labels_agree_but_for_one_explained_pair():
    """The justrl grader against the Qwen2.5-Math harness's own labels (800 responses)."""
    rows = [json.loads(line) for line in (REAL / "qwen25-math_math-cot-100.jsonl").read_text().splitlines()]
    golds, responses, labels, keys = [], [], [], []
    for i, row in enumerate(rows):
        for j, (response, label) in enumerate(zip(row["code"], row["score"], strict=True)):
            golds.append(row["gt"])
            responses.append(response)
            labels.append(bool(label))
            keys.append((i, j))
    results = Grader("justrl", timeout=5.0, jobs=2).grade(golds, responses)
    disagreements = {k for k, r, lab in zip(keys, results, labels, strict=True) if r.rule_correct != lab}
    # gold '10{,}000', answer 10000: mathruler strips the LaTeX thousands separator, the
    # harness compared strings and called it wrong
    assert disagreements == {(72, 7)}


# ---------------------------------------------------------------- extraction rules

_FILLER = st.text(st.sampled_from("abc xyz 0123456789 .,;:=+-()[]\n"), max_size=30)
_PLAIN = st.text(st.sampled_from("abcxyz0123456789 .,+-=()^_"), min_size=1, max_size=12).filter(str.strip)


def _nested(depth: int) -> st.SearchStrategy[str]:
    """Answers with balanced (nested) braces and LaTeX commands, never a box."""
    if depth == 0:
        return _PLAIN
    inner = _nested(depth - 1)
    return st.one_of(
        inner,
        st.builds(lambda a, b: f"\\frac{{{a}}}{{{b}}}", inner, inner),
        st.builds(lambda a: f"\\sqrt{{{a}}}", inner),
        st.builds(lambda a, b: f"{a}^{{{b}}}", inner, inner),
        st.builds(lambda a: f"{{{a}}}", inner),
    )


ANSWER = _nested(3)


@given(st.lists(st.tuples(_FILLER, ANSWER), min_size=1, max_size=5), _FILLER)
def test_the_last_box_wins(boxes, tail):
    text = "".join(f"{filler}\\boxed{{{answer}}}" for filler, answer in boxes) + tail
    assert extract_answer(text) == boxes[-1][1]


@given(st.lists(st.tuples(st.sampled_from(["\\boxed", "\\fbox"]), ANSWER), min_size=1, max_size=6))
def test_fbox_counts_only_when_there_is_no_boxed(boxes):
    text = " and ".join(f"{command}{{{answer}}}" for command, answer in boxes)
    boxed = [answer for command, answer in boxes if command == "\\boxed"]
    assert extract_answer(text) == (boxed[-1] if boxed else boxes[-1][1])


@given(_FILLER, _PLAIN, _FILLER)
def test_the_braceless_form_runs_to_the_next_dollar_or_the_end(lead, answer, tail):
    assert extract_answer(f"{lead}$\\boxed {answer}${tail}") == answer
    assert extract_answer(f"{lead}\\boxed {answer}") == answer
    # a later braced box does not end it: the Hendrycks code takes everything after the last
    # "\boxed " up to a dollar sign
    assert extract_answer(f"{lead}\\boxed {answer} then \\boxed{{7}}") == f"{answer} then \\boxed{{7}}"


@given(ANSWER, _FILLER)
def test_nested_braces_are_kept(answer, lead):
    assert extract_answer(f"{lead}\\boxed{{{answer}}}.") == answer
    assert extract_answer(f"{lead}\\fbox{{{answer}}}.") == answer


@given(st.lists(ANSWER, max_size=3), ANSWER, _FILLER)
def test_an_unclosed_last_box_is_no_answer(earlier, cut, lead):
    text = "".join(f"\\boxed{{{a}}} " for a in earlier) + f"{lead}\\boxed{{{cut}"
    assert extract_answer(text) is None


@given(ANSWER)
def test_boxed_golds_are_unwrapped(answer):
    assert unwrap_gold(f"\\boxed{{{answer}}}") == answer
    assert unwrap_gold(f"$\\boxed{{{answer}}}$") == answer
    assert unwrap_gold(answer) == answer


@settings(max_examples=30, deadline=None)
@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_a_boxed_gold_grades_as_the_bare_gold(gold, answer):
    assert justrl_equal(f"\\boxed{{{gold}}}", str(answer)) == justrl_equal(str(gold), str(answer))
    assert justrl_equal(f"\\boxed{{{gold}}}", str(answer)) == (gold == answer, "mathruler")


@pytest.mark.parametrize(
    "response, answer",
    [
        ("no box at all", None),
        ("", None),
        (None, None),
        ("\\boxed{}", None),  # empty: no answer
        ("\\boxed{  }", None),
        ("\\boxed 5", "5"),  # no dollar: to the end of the text
        ("$\\boxed 5$. Done", "5"),
        ("\\boxed 5. Done", "5. Done"),
        ("\\boxed{3} and later \\boxed 5$", "5"),
        ("\\boxed5 {x}", None),  # the command must be followed by a brace
        ("\\boxed{a \\{b\\} c}", "a \\{b\\} c"),  # escaped braces count as braces
        ("\\boxed{\\frac{1}{2}", None),
        ("\\fbox{3} then \\boxed{4", None),  # the last \boxed is cut off; \fbox is not a fallback
        ("\\boxed{ 12 }", " 12 "),  # as written; mathruler strips it
    ],
)
def test_extraction_examples(response, answer):
    assert extract_answer(response) == answer


# ---------------------------------------------------------------- the deadline


def test_a_stalled_mathruler_comparison_times_out_and_the_job_goes_on():
    """``9**9**9`` has no ``^`` for mathruler's guard to refuse, so sympy evaluates
    9^387420489 exactly (minutes and hundreds of MB); the worker is killed after the budget."""
    grader = Grader("justrl", timeout=1.5, jobs=1)
    start = time.monotonic()
    results = grader.grade(["1", "\\frac{1}{2}", "3"], ["\\boxed{1}", "\\boxed{9**9**9}", "\\boxed{3.0}"])
    elapsed = time.monotonic() - start
    assert [r.status for r in results] == ["match", "timeout", "match"]
    assert [r.layer for r in results] == ["mathruler", "timeout", "mathruler"]
    assert elapsed < 1.5 + 4.0


def test_the_pipeline_gives_justrl_the_gold_as_the_source_writes_it(tmp_path):
    """JustRL's script grades against the raw gold (Olympiad-Bench's are `$...$`, often
    with a name: `$x=5$`); the pipeline's justrl grader reads `answer_raw`, not the
    canonical `answer`, so its verdicts are JustRL's."""
    import pandas as pd
    import pyarrow.parquet as pq

    from justeval.io.parquet import write_parquet
    from justeval.io.schemas import BENCHMARK, GENERATIONS
    from justeval.stages.rule_grade import grade_shard

    frame, meta = prepare("Olympiad-Bench", str(BENCHMARKS / "Olympiad-Bench" / "test.parquet"), None, None)
    bench = tmp_path / "bench.parquet"
    write_parquet(frame, bench, BENCHMARK, meta)
    # each response boxes the canonical gold, as a model that answers right would, the
    # odd ones with a name in front: JustRL's grader, reading a `$...$` gold as written,
    # rejects `x = 2n` for `$2n$`, where against the canonical `2n` it would accept
    responses = [
        f"So the answer is $\\boxed{{{'x = ' if i % 2 else ''}{a}}}$." for i, a in enumerate(frame["answer"])
    ]
    gens = tmp_path / "shard-0.parquet"
    write_parquet(
        pd.DataFrame(
            {"problem_id": frame["problem_id"], "sample_idx": 0, "seed": 0, "response": responses,
             "prompt_tokens": 1, "completion_tokens": 1, "finish_reason": "stop", "model": "m",
             "settings_hash": "0" * 16}
        ),
        gens,
        GENERATIONS,
    )  # fmt: skip
    out = tmp_path / "grades.parquet"
    grade_shard(str(gens), str(bench), {"grader": "justrl", "timeout": 5.0}, str(out), jobs=2)
    got = pq.read_table(out).to_pandas()["rule_correct"].tolist()
    raw = [
        not refuses(r, extract_answer(x)) and grade_answer(extract_answer(x), unwrap_gold(r))
        for x, r in zip(responses, frame["answer_raw"], strict=True)
    ]
    canonical = [grade_answer(extract_answer(x), a) for x, a in zip(responses, frame["answer"], strict=True)]
    assert got == raw
    assert got != canonical  # the raw golds really decide differently somewhere
    assert sum(got) > len(got) // 2
