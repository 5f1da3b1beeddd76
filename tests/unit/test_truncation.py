"""The truncation ledger: the loop test on planted loops and near-loops (exactly loop or
open), on the 1,572 real long responses of ../shared/real-outputs/saturn-r1-distill
(read one by one to check the class), and the stage's counts, accuracies, order and
escaped examples against counts made here from how the files were built."""

from __future__ import annotations

import argparse
import json
import random

import markdown_it
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED
from justeval.analysis.truncation import LoopRule, box_repeats, find_loop, tail_runs
from justeval.command import add_arguments
from justeval.io.parquet import DataError, write_parquet
from justeval.io.schemas import GENERATIONS, VERDICTS
from justeval.stages import truncation as stage

SATURN = SHARED / "real-outputs" / "saturn-r1-distill"
# the thresholds proposed as the schema's defaults: P characters, R copies, C characters
RULE = LoopRule(max_period=2000, min_repeats=4, min_chars=200)


def saturn(name: str) -> list[str]:
    return [json.loads(line)["response"] for line in (SATURN / f"{name}.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def base() -> str:
    """A real response cut by its 16k-token limit while still working (read whole: it is
    computing a power of a point when it stops), cut again at a paragraph break."""
    text = saturn("DeepSeek-R1-Distill-Qwen-1_5B__aime24")[2]
    return text[: text.rfind("\n\n", 0, 20000) + 2]


def repeated(unit: str, copies: float) -> str:
    """``unit`` written ``copies`` times (the last copy cut where the fraction says)."""
    whole = int(copies)
    return unit * whole + unit[: round((copies - whole) * len(unit))]


# ------------------------------------------------------------------ the Z-function


def direct_runs(text: str, max_period: int) -> list[int]:
    """The longest suffix with period p, by trying every length."""
    n = len(text)
    out = [0]
    for p in range(1, min(max_period, n - 1) + 1):
        length = p
        while length < n and text[n - length - 1] == text[n - length - 1 + p]:
            length += 1
        out.append(length)
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab", max_size=60), st.text(alphabet="abc", min_size=1, max_size=6), st.integers(0, 8)
)
def test_tail_runs_are_the_longest_periodic_suffixes(prefix, unit, copies):
    text = prefix + unit * copies
    for max_period in (1, 3, 7, 100):
        assert tail_runs(text, max_period) == direct_runs(text, max_period)


def direct_loop(text: str, rule: LoopRule) -> tuple[int, int] | None:
    """(period, length) of the loop by the definition: the qualifying period covering most."""
    best = None
    for p, length in enumerate(direct_runs(text, rule.max_period)):
        qualifies = p and length >= rule.min_chars and length >= rule.min_repeats * p
        if qualifies and (best is None or length > best[1]):
            best = (p, length)
    return best


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="ab\n", max_size=40),
    st.text(alphabet="abc\n", min_size=1, max_size=8),
    st.floats(0, 12),
    st.integers(1, 9),
    st.sampled_from([2, 3, 4, 2.5]),
    st.integers(1, 40),
)
def test_find_loop_is_the_definition(prefix, unit, copies, max_period, repeats, chars):
    rule = LoopRule(max_period=max_period, min_repeats=repeats, min_chars=chars)
    text = prefix + repeated(unit, copies)
    loop = find_loop(text, rule)
    expected = direct_loop(text, rule) if len(text) >= chars else None
    assert (None if loop is None else (loop.period, loop.chars)) == expected
    if loop is not None:
        assert loop.start == len(text) - loop.chars


def test_tail_runs_on_long_random_texts():
    rng = random.Random(0)
    for _ in range(50):
        text = "".join(rng.choice("ab ") for _ in range(rng.randint(1, 400)))
        text += rng.choice(["x", "xy ", "ab ab"]) * rng.randint(0, 50)
        assert tail_runs(text, 64) == direct_runs(text, 64)


# ------------------------------------------------------------------ planted loops


def test_the_base_response_is_open(base):
    assert find_loop(base, RULE) is None


UNITS = {
    "a sentence": "Wait, let me double-check the power of point C with respect to the circle.\n\n",
    "a box": "$\\boxed{33856}$\n\n",
    "a single token": "0",
    "a single word token": " the",
}


@pytest.mark.parametrize("name", list(UNITS))
@pytest.mark.parametrize("copies", [40.0, 300.5])
def test_a_unit_repeated_to_the_end_is_a_loop(base, name, copies):
    unit = UNITS[name]
    if len(unit) * copies < RULE.min_chars:
        copies = RULE.min_chars / len(unit) + 0.5
    text = base + repeated(unit, copies)
    loop = find_loop(text, RULE)
    assert loop is not None
    assert loop.period == len(unit)
    assert len(base) - loop.period < loop.start <= len(base)  # it may take in a chance match before it
    assert loop.chars == len(text) - loop.start
    assert loop.unit(text) in unit * 2  # one copy, perhaps turned


def test_a_long_paragraph_of_about_300_tokens_repeated_is_a_loop(base):
    paragraph = base[5000:6200]  # 1,200 characters of the response's own reasoning, ~300 tokens
    text = base + repeated(paragraph, 5.4)
    loop = find_loop(text, RULE)
    assert loop is not None and loop.period == 1200
    assert len(base) - 1200 < loop.start <= len(base) and loop.chars == len(text) - loop.start
    assert loop.unit(text) in paragraph * 2


def _numbered(n: int) -> str:
    return ", ".join(str(i) for i in range(1, n + 1))


NEAR_LOOPS = {
    "a list counting up": _numbered(600),
    "numbered steps": "".join(f"Step {i}: check n = {i}, no.\n" for i in range(1, 300)),
    "a table whose rows differ by numbers": "| n | n^2 |\n|---|---|\n"
    + "".join(f"| {i} | {i * i} |\n" for i in range(1, 200)),
    "a proof that repeats one formula twice": (
        "By the Pythagorean theorem,\n$$AB^2 + BC^2 = AC^2.$$\nApplying it to triangle ABC once more,\n"
        "$$AB^2 + BC^2 = AC^2.$$\n$$AB^2 + BC^2 = AC^2.$$\n"
    ),
    "a counter inside the repeated sentence": "".join(
        f"Wait, let me check case {i} again. It fails.\n\n" for i in range(1, 120)
    ),
}


@pytest.mark.parametrize("name", list(NEAR_LOOPS))
def test_near_loops_are_open(base, name):
    assert find_loop(base + NEAR_LOOPS[name], RULE) is None


def test_the_thresholds_are_exact(base):
    unit = "\nLet me recompute the product of the two chords once more here."
    assert len(unit) * 4 >= RULE.min_chars and base[-1] != unit[-1]  # the loop cannot start earlier
    four = find_loop(base + unit * 4, RULE)
    assert four is not None and four.chars == 4 * len(unit) and four.repeats == 4  # R copies, at least C
    assert find_loop(base + (unit * 4)[:-1], RULE) is None  # just under R copies
    short = "ab" * 100  # period 2, exactly C characters
    assert find_loop(base + "\n" + short, RULE).chars == 200
    assert find_loop(base + "\n" + short[:-1], RULE) is None  # just under C
    long_unit = base[2000:4000]  # P characters
    assert find_loop(base + long_unit * 4, RULE).period == 2000
    assert find_loop(base + base[2000:4001] * 5, RULE) is None  # a period of P + 1


def test_only_the_end_counts_and_the_unit_is_written_once():
    unit = "Therefore the answer is 7.\n"
    text = "x" * 50 + unit * 20 + "0" * 250  # a long run of zeros after a loop of sentences
    assert find_loop(text, RULE).period == 1  # the zeros end the text: only they are periodic
    assert find_loop("x" * 50 + unit * 20 + "Done.", RULE) is None  # a loop it got out of
    text = "x" * 50 + (unit + "00") * 20
    loop = find_loop(text, RULE)
    assert loop.period == len(unit) + 2 and loop.chars == 20 * (len(unit) + 2)  # not 2 or 4 copies as one


# ------------------------------------------------------------------ real responses

# Every real response whose text ends in a loop, each read whole:
# - R1-Distill-7B aime25-1: after several nearly equal rounds, "54*54=2916, 2916 *81=236, "
#   114 times, cut mid-number by the 16k limit;
# - R1-Distill-7B math500-41: the answer after </think> turns into a number whose zeros run to
#   the limit ("45000000…");
# - R1-Distill-7B math500-400: after </think>, a 518-character round of "\boxed{3}, \boxed{5},
#   \boxed{7} ... the final answer is: \boxed{3, 5, 7}" 57 times;
# - Saturn-7B aime24-4: five "Wait, maybe the list is [...]. Sum is .. Over. No. I think I've
#   tried everything..." blocks, 968 characters, 53 times over half of the 101k characters.
REAL_LOOPS = {
    ("DeepSeek-R1-Distill-Qwen-7B__aime25", 1): (26, "2916 *81=236"),
    ("DeepSeek-R1-Distill-Qwen-7B__math500", 41): (1, "0"),
    ("DeepSeek-R1-Distill-Qwen-7B__math500", 400): (518, "\\boxed{3, 5, 7}"),
    ("Saturn-7B__aime24", 4): (968, "I think I've tried everything."),
}


@pytest.fixture(scope="module")
def real_loops():
    found = {}
    for path in sorted(SATURN.glob("*.jsonl")):
        for i, text in enumerate(saturn(path.stem)):
            loop = find_loop(text, RULE)
            if loop is not None:
                found[(path.stem, i)] = (loop, text)
    return found


def test_real_responses_that_end_in_a_loop(real_loops):
    assert set(real_loops) == set(REAL_LOOPS)
    for key, (period, phrase) in REAL_LOOPS.items():
        loop, text = real_loops[key]
        assert loop.period == period and loop.repeats > 50
        assert phrase in loop.unit(text) * 2
        assert (
            text[loop.start :]
            == (text[loop.start : loop.start + period] * (len(text) // period + 1))[: len(text) - loop.start]
        )


@pytest.mark.parametrize(
    ("name", "line", "what"),
    [
        # loops for 3,000 characters on "44,167, " mid-text, then gets out and works on
        ("Saturn-1_5B__aime24", 16, "escaped a loop"),
        ("DeepSeek-R1-Distill-Qwen-1_5B__amc22_23", 63, "a numbered list counting up"),
        ("Saturn-1_5B__aime24", 29, "trying divisors one by one"),
        ("DeepSeek-R1-Distill-Qwen-1_5B__aime24", 29, "trying digits one by one"),
    ],
)
def test_real_responses_cut_while_progressing_are_open(name, line, what):
    text = saturn(name)[line]
    assert "</think>" not in text  # cut by the limit while thinking
    assert find_loop(text, RULE) is None, what


def test_box_repeats_on_real_responses():
    math = saturn("Saturn-7B__math500")
    assert box_repeats(math[400]) == 12  # it dithers between "3, 5, 7" and three boxes, then stops
    assert box_repeats(math[0]) in (1, 2)
    assert box_repeats("no box here") == 0
    # a loop that is cut inside its box has no last box
    assert box_repeats(saturn("DeepSeek-R1-Distill-Qwen-7B__math500")[400]) == 0


# ------------------------------------------------------------------ the stage


def _verdicts(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    extra = {
        "seed": 0, "extracted_answer": None, "status": "match", "layer": "string",
        "sent_to_verifier": False, "verifier_verdict": None, "verifier_output": None,
        "input_truncated": False, "completion_tokens": None,
    }  # fmt: skip
    for key, value in extra.items():
        frame[key] = value
    frame["rule_correct"] = frame["correct"]
    return frame


HOSTILE = "```\n</code></pre><script>alert(1)</script> | cell | **bold** [x](http://y)\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory, base):
    """Model m1 on benchmark B: 12 problems x 2 samples of real responses, in two shards,
    with planted loops (one with Markdown and HTML in it), open cuts, stops, a stop that
    writes its box five times and an import without a finish reason that ends in a loop;
    graded twice (variants main and lenient). Model m2: verdicts only, no generations."""
    folder = tmp_path_factory.mktemp("truncation")
    real = saturn("DeepSeek-R1-Distill-Qwen-1_5B__aime24")
    plan = []  # (problem, sample, text, finish, is_loop, correct_main, correct_lenient)
    for p in range(12):
        for s in range(2):
            k = 2 * p + s
            text, finish, loop = real[k][:8000] + "\n\n", "length", False
            if k % 6 == 0:
                text, loop = base + repeated(UNITS["a sentence"], 30.3), True
            elif k % 6 == 1:
                text, loop = base + repeated(HOSTILE, 12.5), True
            elif k % 6 == 2:
                text += NEAR_LOOPS["a list counting up"]
            elif k % 6 == 3:
                text, finish = real[k][-3000:] + " The answer is $\\boxed{7}$.", "stop"
            elif k % 6 == 4:
                text, finish = (
                    "So $\\boxed{12}$.\n" * 2 + "Final: $\\boxed{12}$, again $\\boxed{12}$, $\\boxed{12}$.",
                    "stop",
                )
            if k == 23:
                text, finish, loop = base + repeated(UNITS["a box"], 50.2), None, True
            correct = k % 3 == 0 or k % 5 == 2
            plan.append((f"B-{p}", s, text, finish, loop, correct, correct or k % 4 == 1))
    gens = pd.DataFrame(
        {
            "problem_id": [r[0] for r in plan], "sample_idx": [r[1] for r in plan], "seed": 0,
            "response": [r[2] for r in plan], "prompt_tokens": 10, "completion_tokens": 100,
            "finish_reason": [r[3] for r in plan], "model": "m1", "settings_hash": "h",
        }
    )  # fmt: skip
    shards = []
    for k, part in enumerate((gens.iloc[:10], gens.iloc[10:])):
        path = folder / "m1" / "B" / "generations" / f"shard-{k}.parquet"
        write_parquet(part, path, GENERATIONS, {"identity": {"model": "m1", "benchmark": "B"}})
        shards.append(str(path))
    verdicts = []
    for variant, col in (("main", 5), ("lenient", 6)):
        frame = _verdicts(
            [
                {"problem_id": r[0], "sample_idx": r[1], "correct": r[col], "finish_reason": r[3],
                 "response_chars": len(r[2])}
                for r in plan
            ]
        )  # fmt: skip
        path = folder / "m1" / "B" / variant / "verdicts.parquet"
        write_parquet(
            frame, path, VERDICTS, {"identity": {"model": "m1", "benchmark": "B", "variant": variant}}
        )
        verdicts.append(str(path))
    other = _verdicts(
        [{"problem_id": f"B-{p}", "sample_idx": 0, "correct": p % 2 == 0,
          "finish_reason": "length" if p < 3 else "stop", "response_chars": 10} for p in range(12)]
    )  # fmt: skip
    path = folder / "m2" / "B" / "main" / "verdicts.parquet"
    write_parquet(other, path, VERDICTS, {"identity": {"model": "m2", "benchmark": "B", "variant": "main"}})
    verdicts.append(str(path))
    settings = {
        "loop_max_period": RULE.max_period, "loop_min_repeats": RULE.min_repeats,
        "loop_min_chars": RULE.min_chars, "truncation_examples": 2,
        "models": ["m2", "m1"], "benchmarks": ["B"], "variants": ["main", "lenient"],
    }  # fmt: skip
    md, csv = folder / "t.md", folder / "t.csv"
    stage.truncation(
        verdicts=verdicts[::-1], generations=shards, settings=settings, markdown_out=str(md), csv_out=str(csv)
    )
    return {"plan": plan, "csv": pd.read_csv(csv), "md": md.read_text(), "settings": settings}


def _expected(plan: list[tuple], col: int) -> dict:
    def pct(rows):
        return 100 * sum(r[col] for r in rows) / len(rows) if rows else float("nan")

    cut = [r for r in plan if r[3] == "length"]
    return {
        "samples": len(plan),
        "stop": sum(r[3] == "stop" for r in plan),
        "truncated": len(cut),
        "other_finish": sum(r[3] not in ("stop", "length") for r in plan),
        "loop": sum(r[4] for r in cut),
        "open": sum(not r[4] for r in cut),
        "loop_not_truncated": sum(r[4] for r in plan if r[3] != "length"),
        # the stops that write \boxed{12} five times, and the unfinished import looping on a box
        "repeated_box": sum(
            max(r[2].count("\\boxed{12}"), r[2].count("\\boxed{33856}")) >= 4
            for r in plan
            if r[3] != "length"
        ),
        "accuracy": pct(plan),
        "accuracy_stop": pct([r for r in plan if r[3] == "stop"]),
        "accuracy_truncated": pct(cut),
        "accuracy_loop": pct([r for r in cut if r[4]]),
        "accuracy_open": pct([r for r in cut if not r[4]]),
    }


def test_the_ledger_counts_what_was_built(built):
    table = built["csv"]
    assert list(zip(table["model"], table["variant"], strict=True)) == [
        ("m2", "main"), ("m1", "main"), ("m1", "lenient")
    ]  # fmt: skip
    for variant, col in (("main", 5), ("lenient", 6)):
        row = table[(table["model"] == "m1") & (table["variant"] == variant)].iloc[0]
        expected = _expected(built["plan"], col)
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, abs=1e-4, nan_ok=True), (variant, key)
    m1 = table[table["model"] == "m1"].iloc[0]
    assert (m1["truncated"], m1["loop"], m1["open"], m1["loop_not_truncated"], m1["repeated_box"]) == (
        15, 8, 7, 1, 5
    )  # fmt: skip
    assert 0 < m1["accuracy_loop"] < 100 and 0 < m1["accuracy_open"] < 100


def test_without_generations_the_loop_counts_are_missing(built):
    m2 = built["csv"][built["csv"]["model"] == "m2"].iloc[0]
    assert (m2["samples"], m2["truncated"], m2["stop"]) == (12, 3, 9)
    assert m2["accuracy_truncated"] == pytest.approx(100 * 2 / 3)
    assert pd.isna(m2["loop"]) and pd.isna(m2["open"]) and pd.isna(m2["accuracy_loop"])


def test_the_examples_show_each_loop_once_and_escape_everything(built):
    page = built["md"]
    assert "at most 2,000 characters" in page and "at least 4 times over at least 200 characters" in page
    assert page.count("**loop**: problem") == 2 and page.count("**open**: problem") == 2
    assert "repeat a period of 76 characters" in page  # the sentence
    assert "repeat a period of 75 characters" in page  # the hostile unit
    parser = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table")
    html = parser.render(page)
    assert "<script>" not in html and "<strong>bold</strong>" not in html and 'href="http://y"' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text, inside a code block
    tokens = parser.parse(page)
    assert [t.type for t in tokens].count("table_open") == 1  # the ledger, one table
    fences = [t.content for t in tokens if t.type == "fence"]
    # the period once (turned to start on a line): the backticks inside do not close the block
    periods = [f for f in fences if len(f) == len(HOSTILE) + 1 and f[:-1] in HOSTILE * 2]
    assert len(periods) == 1 and "```" in periods[0] and periods[0].startswith(("```", "</code>"))
    assert all(fence.count(HOSTILE.strip()) <= 7 for fence in fences)  # the tails: 600 characters


def test_the_command_line_options():
    options = argparse.ArgumentParser()
    add_arguments(options, stage.truncation)
    line = "--verdicts a b --generations g --settings {} --markdown m --csv c"
    args = options.parse_args(line.split())
    assert (args.verdicts, args.generations, args.settings, args.markdown_out, args.csv_out) == (
        ["a", "b"], ["g"], {}, "m", "c"
    )  # fmt: skip


def test_a_verdict_without_its_generation_is_an_error(built, tmp_path):
    gens = pd.DataFrame(
        {"problem_id": ["B-0"], "sample_idx": [0], "seed": 0, "response": ["x"], "prompt_tokens": 1,
         "completion_tokens": 1, "finish_reason": ["stop"], "model": "m", "settings_hash": "h"}
    )  # fmt: skip
    gpath = tmp_path / "g.parquet"
    write_parquet(gens, gpath, GENERATIONS, {"identity": {"model": "m", "benchmark": "B"}})
    verdicts = _verdicts(
        [{"problem_id": f"B-{i}", "sample_idx": 0, "correct": True, "finish_reason": "stop",
          "response_chars": 1} for i in range(2)]
    )  # fmt: skip
    vpath = tmp_path / "v.parquet"
    write_parquet(
        verdicts, vpath, VERDICTS, {"identity": {"model": "m", "benchmark": "B", "variant": "main"}}
    )
    with pytest.raises(DataError, match="has a verdict but no generation"):
        stage.truncation(
            verdicts=[str(vpath)], generations=[str(gpath)], settings=built["settings"],
            markdown_out=str(tmp_path / "t.md"), csv_out=str(tmp_path / "t.csv"),
        )  # fmt: skip


def test_the_rule_needs_its_settings():
    with pytest.raises(ValueError, match="loop_min_chars"):
        LoopRule.from_settings({"loop_max_period": 10, "loop_min_repeats": 4})
