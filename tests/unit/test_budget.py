"""The budget curve checked against numbers worked out by hand.

The files are built by hand with a tiny tokenizer to which four whole tokens are added
(`` step``, ``\\boxed{7}``, ``\\boxed{8}``, `` Done.``): a response written as a list of
those pieces tokenizes to exactly one token per piece, so where a cut at B falls, and
which boxes it keeps, is known from the list alone. Each sample below carries, written
by hand from its pieces, whether it is correct at each budget; the test adds those up
and computes mean@N and its sampling interval with the formula written here, not with
the stage's code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math

import pandas as pd
import pytest

from justeval.analysis.budget import (
    NO_RULE_GRADER,
    NO_TOKEN_COUNTS,
    NO_TOKENIZER,
    Cutter,
    apply_verifier,
    check_budgets,
    default_budgets,
    verifier_id,
)
from justeval.engine.tiny import train_tokenizer
from justeval.io.parquet import DataError, read_metadata, read_parquet, write_parquet
from justeval.io.schemas import BENCHMARK, GENERATIONS, RULE_GRADES, VERDICTS
from justeval.metrics.scores import Spec, score
from justeval.stages.budget import budget_figure, budget_frame, budget_grade, budget_table

S, A, E, D = " step", "\\boxed{7}", "\\boxed{8}", " Done."
BUDGETS = [2, 4, 8, 16, 20]  # default_budgets(20, smallest=2)
N = 4
GOLDS = {"p0": "7", "p1": "8", "p2": "7"}
Z = 1.959963984540054


def sample(pieces, finish, verdict, by_budget, *, rule=None, verifier=None):
    """One sample: its pieces, finish reason, the verdict of the full text (rule status
    and final correctness), and (by hand) whether it is correct at each of BUDGETS
    without and with the verifier's verdicts on its cut texts."""
    return {
        "pieces": pieces,
        "finish": finish,
        "verdict": verdict,
        "by_budget": by_budget,
        "verifier_by_budget": verifier or by_budget,
        "rule": rule,
    }


# p0, gold 7
P0 = [
    # 5 pieces + EOS = 6 tokens, box 7 at index 3: cut at 2 has no box; at 4 the box; kept from 8
    sample([S] * 3 + [A, D], "stop", "match", [0, 1, 1, 1, 1]),
    # box 7 at index 5, box 8 at index 8: no box below 6, 7 at 8, 8 (wrong) from 9 on
    sample([S] * 5 + [A] + [S] * 2 + [E] + [S] * 11, "length", "mismatch", [0, 0, 1, 0, 0]),
    # box 7 at index 10: correct from 11 tokens on
    sample([S] * 10 + [A] + [S] * 9, "length", "match", [0, 0, 0, 1, 1]),
    # 3 pieces + EOS = 4: at 2 the cut still holds box 8 (wrong); kept from 4
    sample([S, E, D], "stop", "mismatch", [0, 0, 0, 0, 0]),
]
# p1, gold 8
P1 = [
    # 2 pieces + EOS = 3 tokens: at 2 the cut is the whole text (box 8, right)
    sample([E, D], "stop", "match", [1, 1, 1, 1, 1]),
    # 18 pieces + EOS = 19, box 8 at index 15: right from 16 (the verifier below accepts
    # the cuts without a box)
    sample([S] * 15 + [E] + [S] * 2, "stop", "match", [0, 0, 0, 1, 1], verifier=[1, 1, 1, 1, 1]),
    # no box: the rule grader rejects it; the verifier accepted the full text (kept at 20)
    sample([S] * 20, "length", "verifier", [0, 0, 0, 0, 1], verifier=[1, 1, 1, 1, 1]),
    # box 7 (wrong) at index 7: the cuts at 2 and 4 have no box
    sample([S] * 7 + [A] + [S] * 12, "length", "mismatch", [0, 0, 0, 0, 0], verifier=[1, 1, 0, 0, 0]),
]
# p2, gold 7
P2 = [
    sample([A] + [S] * 19, "length", "match", [1, 1, 1, 1, 1]),
    *[sample([S] * 20, "length", "no_answer", [0, 0, 0, 0, 0]) for _ in range(3)],
]
RUN = {"p0": P0, "p1": P1, "p2": P2}
# a second model: box 7 first in every sample, 20 tokens, cut by the length limit
OTHER = {
    pid: [sample([A] + [S] * 19, "length", "match" if g == "7" else "mismatch", [int(g == "7")] * 5)] * N
    for pid, g in GOLDS.items()
}


def tokens(s) -> int:
    return len(s["pieces"]) + (s["finish"] == "stop")  # an EOS ends a stopped sample


def expected(run, key="by_budget"):
    """mean@N (%), its sampling SE (%), the finished share (%) and the cut count at each
    budget, from the hand-written columns and the formula."""
    out = {}
    for j, b in enumerate(BUDGETS):
        counts = [sum(s[key][j] for s in samples) for samples in run.values()]
        p = len(counts)
        mean = 100 * sum(c / N for c in counts) / p
        se = 100 * math.sqrt(sum(c * (N - c) / (N * N * (N - 1)) for c in counts)) / p
        flat = [s for samples in run.values() for s in samples]
        finished = 100 * sum(tokens(s) <= b and s["finish"] == "stop" for s in flat) / len(flat)
        cut = sum(tokens(s) > b for s in flat)
        out[b] = (mean, se, finished, cut)
    return out


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenizer")
    tok = train_tokenizer(["The answer is \\boxed{42}. Please reason step by step."], vocab_size=300)
    tok.add_tokens([S, A, E, D])
    tok.save_pretrained(folder)
    return folder


def _manifest(folder, tokenizer_dir) -> str:
    path = folder / "manifest.json"
    path.write_text(json.dumps({"path": str(tokenizer_dir), "identity": {"tiny": "tokenizer"}}))
    return str(path)


def write_run(folder, model: str, run: dict, variant: str = "main", token_counts: bool = True):
    """The benchmark, one generations shard and the variant's verdicts of ``run``."""
    folder.mkdir(parents=True, exist_ok=True)
    bench = folder / "bench.parquet"
    if not bench.exists():
        frame = pd.DataFrame(
            {
                "problem_id": list(GOLDS),
                "problem": [f"Problem {p}." for p in GOLDS],
                "answer": list(GOLDS.values()),
                "answer_raw": [f"\\boxed{{{g}}}" for g in GOLDS.values()],
                "source_row": range(len(GOLDS)),
            }
        )
        write_parquet(frame, bench, BENCHMARK, metadata={"benchmark": "TOY"})
    gens, verdicts = [], []
    for pid, samples in run.items():
        for idx, s in enumerate(samples):
            text = "".join(s["pieces"])
            n_tokens = tokens(s) if token_counts else None
            gens.append(
                {"problem_id": pid, "sample_idx": idx, "seed": idx, "response": text, "prompt_tokens": 5,
                 "completion_tokens": n_tokens, "finish_reason": s["finish"], "model": model,
                 "settings_hash": "h"}
            )  # fmt: skip
            status = {"verifier": "no_answer"}.get(s["verdict"], s["verdict"])
            boxes = [p for p in s["pieces"] if p in (A, E)]
            verdicts.append(
                {"problem_id": pid, "sample_idx": idx, "seed": idx,
                 "extracted_answer": boxes[-1][7] if boxes else None, "rule_correct": status == "match",
                 "status": status, "layer": "string", "sent_to_verifier": status != "match",
                 "verifier_verdict": {"verifier": "A", "match": None}.get(s["verdict"], "B"),
                 "verifier_output": None, "input_truncated": False,
                 "correct": bool(s["by_budget"][-1]), "completion_tokens": n_tokens,
                 "finish_reason": s["finish"], "response_chars": len(text)}
            )  # fmt: skip
    ident = {"model": model, "benchmark": "TOY"}
    (folder / model).mkdir(exist_ok=True)
    gpath = folder / model / "shard-0.parquet"
    vpath = folder / model / f"{variant}.parquet"
    write_parquet(pd.DataFrame(gens), gpath, GENERATIONS, {"identity": ident})
    write_parquet(pd.DataFrame(verdicts), vpath, VERDICTS, {"identity": {**ident, "variant": variant}})
    return str(bench), str(gpath), str(vpath)


def _grade(tmp_path, tokenizer_dir, model="m1", run=RUN, verifier=False, **kwargs):
    bench, gens, verdicts = write_run(tmp_path, model, run, **kwargs)
    out = tmp_path / model / "budget.parquet"
    requests = {}
    if verifier:
        requests = {
            k: str(tmp_path / model / f"cut-{k}.parquet") for k in ("benchmark", "generations", "grades")
        }
    budget_grade(
        benchmark=bench,
        generations=[gens],
        verdicts=verdicts,
        model_manifest=_manifest(tmp_path, tokenizer_dir),
        settings={
            "budgets": BUDGETS,
            "rule_grade": {"grader": "justeval", "timeout": 5},
            "verifier": verifier,
        },
        output=str(out),
        **{f"verifier_{k}": v for k, v in requests.items()},
    )
    return str(out), requests, verdicts


LAYOUT = {"models": ["m1", "m2"], "benchmarks": ["TOY"], "variants": ["main"]}


def test_the_hand_made_run_is_what_it_says(tokenizer_dir):
    """One token per piece, boxes where the lists put them; neither all right nor all wrong."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    for samples in RUN.values():
        for s in samples:
            ids = tok("".join(s["pieces"]), add_special_tokens=False)["input_ids"]
            assert tok.convert_ids_to_tokens(ids) == s["pieces"]
    means = [m for m, *_ in expected(RUN).values()]
    assert means == pytest.approx([100 * 2 / 12, 25.0, 100 * 4 / 12, 100 * 5 / 12, 50.0])
    assert min(means) > 0 and max(means) < 100


def test_the_curve_equals_the_hand_computation(tmp_path, tokenizer_dir):
    out, _, _ = _grade(tmp_path, tokenizer_dir)
    frame = budget_frame([out], [], LAYOUT)
    assert frame["budget"].tolist() == BUDGETS
    want = expected(RUN)
    for row in frame.itertuples():
        mean, se, finished, cut = want[row.budget]
        assert row.mean_at_n == pytest.approx(mean)
        assert row.sampling_se == pytest.approx(se)
        assert (row.sampling_ci_low, row.sampling_ci_high) == pytest.approx((mean - Z * se, mean + Z * se))
        assert row.finished_pct == pytest.approx(finished)
        assert row.cut == cut
        assert row.samples == 12 and row.n_samples == N
        assert row.to_verifier == 0 and row.note == ""
    # by counting: stopped samples of at most B tokens (3, 4, 6 and 19 tokens)
    assert frame["finished_pct"].tolist() == pytest.approx(
        [0, 100 * 2 / 12, 100 * 3 / 12, 100 * 3 / 12, 100 * 4 / 12]
    )
    assert frame["cut"].tolist() == [12, 10, 9, 9, 0]


def test_the_largest_budget_is_mean_at_n_of_the_verdicts(tmp_path, tokenizer_dir):
    out, _, verdicts = _grade(tmp_path, tokenizer_dir)
    frame = budget_frame([out], [], LAYOUT)
    spec = Spec(model="m1", benchmark="TOY", variant="main", problem_ids=list(GOLDS), n_samples=N, ks=[1],
                bootstrap_samples=10, seed=0, label="v")  # fmt: skip
    row = score(read_parquet(verdicts, VERDICTS), spec).row
    last = frame.iloc[-1]
    assert last["budget"] == max(BUDGETS)
    assert last["mean_at_n"] == pytest.approx(row["mean_at_n"]) == pytest.approx(50.0)
    assert last["sampling_se"] == pytest.approx(row["sampling_se"])


def test_each_row_is_cut_where_the_pieces_say(tmp_path, tokenizer_dir):
    out, _, _ = _grade(tmp_path, tokenizer_dir)
    rows = read_parquet(out).set_index(["problem_id", "sample_idx", "budget"])
    # p0 #1 at 8: the first 8 tokens, box 7 the last box
    r = rows.loc[("p0", 1, 8)]
    assert bool(r["cut"]) and r["cut_tokens"] == 8 and r["cut_chars"] == len("".join(P0[1]["pieces"][:8]))
    assert (r["extracted_answer"], r["status"], bool(r["correct"])) == ("7", "match", True)
    # at 16 the box 8 is in: wrong again
    assert rows.loc[("p0", 1, 16), "extracted_answer"] == "8"
    # p1 #0 at 2: 3 tokens with its EOS, 2 of text: cut, and the whole text
    r = rows.loc[("p1", 0, 2)]
    assert bool(r["cut"]) and r["cut_tokens"] == 2 and r["cut_chars"] == len(E + D) and bool(r["correct"])
    # kept samples keep their verdict as it is, the verifier's included
    assert bool(rows.loc[("p1", 2, 20), "correct"]) and not bool(rows.loc[("p1", 2, 20), "rule_correct"])
    meta = read_metadata(out)
    assert meta["retokenized"]["length_samples"] == 8 and meta["retokenized"]["same_length"] == 8
    assert meta["identity"] == {"model": "m1", "benchmark": "TOY", "variant": "main"}


def test_the_verifier_judges_the_cut_texts_through_model_grade(tmp_path, tokenizer_dir):
    """The cut samples the rule grader rejects go to the real model-grade command, whose
    per-row cache (filled here: no engine loads) is keyed by the cut text; its verdicts
    turn the curve into the cascade's."""
    from justeval.stages.model_grade import cache_key, model_grade, response_view

    out, requests, _ = _grade(tmp_path, tokenizer_dir, verifier=True)
    rows = read_parquet(out)
    need = rows[rows["needs_verifier"]]
    # cut and rejected: every cut row that is not a match
    assert len(need) == int((rows["cut"] & ~rows["rule_correct"]).sum()) > 0
    ids = {verifier_id(p, b) for p, b in zip(need["problem_id"], need["budget"], strict=True)}
    assert set(need["verifier_id"]) == ids
    gens = read_parquet(requests["generations"], GENERATIONS)
    assert len(gens) == len(need)
    assert read_parquet(requests["grades"], RULE_GRADES)["status"].ne("match").all()
    # the cut texts, not the full ones
    cut = gens.set_index(["problem_id", "sample_idx"]).loc[(verifier_id("p0", 2), 1), "response"]
    assert cut == "".join(P0[1]["pieces"][:2])

    # a verifier that accepts p1's texts without a box (and nothing else), from the cache
    manifest = tmp_path / "verifier.json"
    manifest.write_text(json.dumps({"path": str(tokenizer_dir), "identity": {"v": 1}}))
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("{question} {gold_answer} {llm_response}")
    digest = hashlib.sha256(prompt.read_bytes()).hexdigest()
    settings = {"enabled": True, "verifier": {"v": 1}, "prompt_sha256": digest, "question": "real",
                "max_tokens": 4, "parse": "exact", "pattern": None, "pattern_labels": {},
                "scope": "leftovers", "response_view": "full", "parse_version": "x"}  # fmt: skip
    verifier = {"identity": {"v": 1}, "resolved_revision": None, "weights_sha256": None}
    cache = tmp_path / "cache"
    from justeval.stages.model_grade import OutputCache

    for g in gens.itertuples():
        pid = g.problem_id.rsplit("@", 1)[0]
        key = cache_key(verifier, settings, f"Problem {pid}.", GOLDS[pid], response_view(g.response, "full"))
        answer = "A" if pid == "p1" and "boxed" not in g.response else "B"
        OutputCache(cache).put(key, {"output": answer, "input_truncated": False})
    judged = tmp_path / "judged.parquet"
    model_grade(
        benchmark=requests["benchmark"], generations=[requests["generations"]], grades=[requests["grades"]],
        variant="main", verifier_manifest=str(manifest), prompt=str(prompt), settings=settings,
        cache_dir=str(cache), output=str(judged), audit_md=str(tmp_path / "a.md"),
        audit_json=str(tmp_path / "a.json"),
    )  # fmt: skip
    assert json.loads((tmp_path / "a.json").read_text())["answered_from_cache"] == len(gens)

    without = budget_frame([out], [], LAYOUT)
    with_verifier = budget_frame([out], [str(judged)], LAYOUT)
    for frame, key in ((without, "by_budget"), (with_verifier, "verifier_by_budget")):
        want = expected(RUN, key)
        assert frame["mean_at_n"].tolist() == pytest.approx([want[b][0] for b in BUDGETS])
        assert frame["sampling_se"].tolist() == pytest.approx([want[b][1] for b in BUDGETS])
    assert with_verifier["mean_at_n"].tolist() == pytest.approx([500 / 12, 50.0, 50.0, 50.0, 50.0])
    assert (with_verifier["judged"] == with_verifier["to_verifier"]).all()
    assert with_verifier["note"].eq("").all()
    # not judged: said, as a lower bound
    assert without["note"].iloc[0].endswith("a lower bound") and without["to_verifier"].iloc[0] > 0


def test_the_table_and_the_plot(tmp_path, tokenizer_dir):
    one, _, _ = _grade(tmp_path, tokenizer_dir, "m1")
    two, _, _ = _grade(tmp_path, tokenizer_dir, "m2", run=OTHER)
    md, csv = tmp_path / "budget.md", tmp_path / "budget.csv"
    png, svg = tmp_path / "plots" / "TOY.png", tmp_path / "plots" / "TOY.svg"
    png.parent.mkdir()
    settings = {"models": {"m2": {}, "m1": {}}, "benchmarks": {"TOY": N}, "variants": ["main"],
                "order": {"models": ["m2", "m1"], "benchmarks": ["TOY"]}}  # fmt: skip
    from justeval.command import layout

    budget_table(
        grades=[one, two], settings=layout(json.dumps(settings)), markdown_out=str(md), csv_out=str(csv),
        plots=[str(png), str(svg)],
    )  # fmt: skip
    table = pd.read_csv(csv)
    assert table["model"].tolist() == ["m2"] * 5 + ["m1"] * 5  # the settings' order
    assert table.loc[table["model"] == "m2", "mean_at_n"].tolist() == pytest.approx([100 * 8 / 12] * 5)
    text = md.read_text()
    assert "| m1 " in text and "| 16.67 \\[-6.43, 39.77\\]" in text  # escaped brackets
    assert "- m1 · TOY: 8 of 8" in text  # the 8 samples cut by the length limit re-tokenize exactly
    assert png.stat().st_size > 0 and "budget m1" in svg.read_text()

    fig = budget_figure(budget_frame([one, two], [], LAYOUT), "TOY", "main")
    (ax,) = fig.axes
    lines = {line.get_gid(): line for line in ax.get_lines() if (line.get_gid() or "").startswith("budget ")}
    assert set(lines) == {"budget m1", "budget m2"}
    assert list(lines["budget m1"].get_xdata()) == BUDGETS
    assert list(lines["budget m1"].get_ydata()) == pytest.approx([expected(RUN)[b][0] for b in BUDGETS])
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2


def test_imports_without_token_counts_are_said_and_left_out(tmp_path, tokenizer_dir, caplog):
    with caplog.at_level(logging.INFO):
        out, _, _ = _grade(tmp_path, tokenizer_dir, "imp", token_counts=False)
        frame = budget_frame([out], [], {"variants": ["main"]})
    assert read_metadata(out)["note"] == NO_TOKEN_COUNTS and read_parquet(out).empty
    assert frame["note"].tolist() == [NO_TOKEN_COUNTS] and frame["mean_at_n"].isna().all()
    assert sum(NO_TOKEN_COUNTS in r.getMessage() for r in caplog.records if "budget" in r.name) == 2
    fig = budget_figure(frame, "TOY", "main")
    assert not [line for line in fig.axes[0].get_lines() if (line.get_gid() or "").startswith("budget")]


@pytest.mark.parametrize("missing", ["tokenizer", "rule grader"])
def test_what_cannot_be_cut_or_regraded_has_no_number(tmp_path, tokenizer_dir, missing):
    """A served model without a tokenizer, or a `provided` variant without a rule grader:
    only the budgets that cut nothing (here 20, the longest sample) have a number."""
    bench, gens, verdicts = write_run(tmp_path, "ep", RUN)
    out = tmp_path / "ep.parquet"
    rule = None if missing == "rule grader" else {"grader": "justeval", "timeout": 5}
    manifest = _manifest(tmp_path, tokenizer_dir) if missing == "rule grader" else None
    budget_grade(
        benchmark=bench, generations=[gens], verdicts=verdicts, model_manifest=manifest,
        settings={"budgets": BUDGETS, "rule_grade": rule, "verifier": False}, output=str(out),
    )  # fmt: skip
    frame = budget_frame([str(out)], [], {"variants": ["main"]})
    assert frame["budget"].tolist() == BUDGETS
    numbers = frame[frame["mean_at_n"].notna()]
    assert numbers["budget"].tolist() == [20] and numbers["mean_at_n"].iloc[0] == pytest.approx(50.0)
    why = NO_RULE_GRADER if missing == "rule grader" else NO_TOKENIZER
    assert frame.loc[frame["mean_at_n"].isna(), "note"].unique().tolist() == [why]


def test_a_character_split_by_the_cut_is_dropped():
    tok = train_tokenizer(["plain ascii text only"], vocab_size=270)
    text = "ab ω cd"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    cutter = Cutter(tok)
    pieces = [cutter.cut(text, ids, b).text for b in range(1, len(ids) + 1)]
    assert all(text.startswith(p) for p in pieces)
    assert "ab " in pieces and pieces.count("ab ") == 2  # before ω and in the middle of its two bytes
    assert pieces[-1] == text


def test_budgets():
    assert default_budgets(31744) == [1024, 2048, 4096, 8192, 16384, 31744]
    assert default_budgets(4096) == [1024, 2048, 4096]
    assert default_budgets(1000) == [1000]
    assert check_budgets([4096, 1024]) == [1024, 4096]
    for bad in ([], [0], [1024, 1024], [1.5], "1024", [True]):
        with pytest.raises(DataError):
            check_budgets(bad)


def test_settings_have_no_python_defaults(tmp_path, tokenizer_dir):
    bench, gens, verdicts = write_run(tmp_path, "m1", RUN)
    with pytest.raises(DataError, match="lack verifier"):
        budget_grade(
            benchmark=bench, generations=[gens], verdicts=verdicts, output=str(tmp_path / "x.parquet"),
            settings={"budgets": BUDGETS, "rule_grade": None},
        )  # fmt: skip


def test_verifier_verdicts_must_cover_what_they_judge(tmp_path, tokenizer_dir):
    out, _, _ = _grade(tmp_path, tokenizer_dir, verifier=True)
    rows = read_parquet(out)
    need = rows[rows["needs_verifier"]]
    partial = pd.DataFrame(
        {
            "problem_id": need["verifier_id"].iloc[:1],
            "sample_idx": need["sample_idx"].iloc[:1],
            "correct": [True],
        }
    )
    with pytest.raises(DataError, match="no verifier verdict"):
        apply_verifier(rows, partial, "x")


def test_the_command_lines_parse():
    """The entry functions' signatures as command lines (how the rules will call them)."""
    import argparse

    from justeval.command import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser, budget_grade)
    args = parser.parse_args(
        ["--benchmark", "b.parquet", "--generations", "s0.parquet", "s1.parquet", "--verdicts", "v.parquet",
         "--model-manifest", "--settings", '{"budgets": [1024], "rule_grade": null, "verifier": false}',
         "--output", "o.parquet"]
    )  # fmt: skip
    assert args.model_manifest is None and args.generations == ["s0.parquet", "s1.parquet"]
    assert args.settings == {"budgets": [1024], "rule_grade": None, "verifier": False}
    parser = argparse.ArgumentParser()
    add_arguments(parser, budget_table)
    args = parser.parse_args(
        ["--grades", "g.parquet", "--verifier-verdicts", "--settings", '{"variants": ["main"]}',
         "--markdown", "t.md", "--csv", "t.csv", "--plots", "p/A.png", "p/A.svg"]
    )  # fmt: skip
    assert args.verifier_verdicts == [] and args.plots == ["p/A.png", "p/A.svg"]
