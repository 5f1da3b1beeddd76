"""Verifier prompts, response views, front truncation, cache keys, the cache and the audit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from justeval.stages.model_grade import (
    OutputCache,
    audit_counts,
    audit_markdown,
    cache_key,
    fill_prompt,
    parse_verdict,
    response_view,
    verifier_prompt_ids,
)

TEMPLATE = "Q: {question}\nGold: {gold_answer}\nCandidate: {llm_response}\nVerdict:"


def test_fill_prompt_single_pass():
    text = fill_prompt(TEMPLATE, "What is {gold_answer}?", "4", "I say {question} \\boxed{4}")
    assert text == "Q: What is {gold_answer}?\nGold: 4\nCandidate: I say {question} \\boxed{4}\nVerdict:"


@pytest.mark.parametrize(
    "view, expected",
    [
        ("full", "<think>a</think> b </think> final \\boxed{1}"),
        ("final", "final \\boxed{1}"),
        ("tail:10", " \\boxed{1}"),
    ],
)
def test_response_views(view, expected):
    response = "<think>a</think> b </think> final \\boxed{1}"
    assert response_view(response, view) == expected


def test_final_view_without_think_is_the_whole_response():
    assert response_view("no reasoning tags \\boxed{2}", "final") == "no reasoning tags \\boxed{2}"
    with pytest.raises(ValueError):
        response_view("x", "middle")


def test_long_response_is_cut_from_the_front(tiny_models):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["always_a"])
    _, cut = verifier_prompt_ids(tok, TEMPLATE, "q", "7", "so \\boxed{7}", budget=500)
    assert not cut
    response = "blah " * 2000 + "the answer is \\boxed{7}"
    ids, cut = verifier_prompt_ids(tok, TEMPLATE, "q", "7", response, budget=300)
    assert cut and len(ids) <= 300
    text = tok.decode(ids)
    assert "\\boxed{7}" in text and "Verdict:" in text  # the ending survives
    assert text.count("blah") < 2000


SETTINGS = {"prompt_sha256": "p" * 64, "response_view": "full", "max_tokens": 8}
VERIFIER = {
    "identity": {"hub": "org/v", "revision": "main"},
    "resolved_revision": "c" * 40,
    "weights_sha256": "w",
}


def test_cache_key_depends_on_everything_that_decides_the_output():
    base = cache_key(VERIFIER, SETTINGS, "q", "7", "r")
    assert base == cache_key(dict(VERIFIER), dict(SETTINGS), "q", "7", "r")
    changed = [
        cache_key({**VERIFIER, "resolved_revision": "d" * 40}, SETTINGS, "q", "7", "r"),
        cache_key({**VERIFIER, "weights_sha256": "x"}, SETTINGS, "q", "7", "r"),
        cache_key(VERIFIER, {**SETTINGS, "prompt_sha256": "q" * 64}, "q", "7", "r"),
        cache_key(VERIFIER, {**SETTINGS, "response_view": "final"}, "q", "7", "r"),
        cache_key(VERIFIER, {**SETTINGS, "max_tokens": 9}, "q", "7", "r"),
        cache_key(VERIFIER, SETTINGS, "", "7", "r"),
        cache_key(VERIFIER, SETTINGS, "q", "8", "r"),
        cache_key(VERIFIER, SETTINGS, "q", "7", "r "),
    ]
    assert len({base, *changed}) == len(changed) + 1
    # the parse mode is applied to cached outputs, it is not part of the key
    assert cache_key(VERIFIER, {**SETTINGS, "parse": "exact"}, "q", "7", "r") == base


def test_output_cache_is_one_atomic_file_per_entry(tmp_path):
    cache = OutputCache(tmp_path / "cache")
    key = cache_key(VERIFIER, SETTINGS, "q", "7", "r")
    assert cache.get(key) is None
    cache.put(key, {"output": "A", "input_truncated": False})
    assert cache.get(key) == {"output": "A", "input_truncated": False}
    assert [p.name for p in (tmp_path / "cache").rglob("*")] == [key[:2], f"{key}.json"]
    cache.path(key).write_text("{truncated")  # a damaged entry is a miss, not a crash
    assert cache.get(key) is None
    assert OutputCache(None).get(key) is None


def test_pattern_parsing_for_word_judges():
    labels = {"correct": "A", "incorrect": "B"}
    pattern = r"(?i)judgement:\s*(correct|incorrect)"
    assert parse_verdict("Reasoning... Judgement: Correct", "pattern", pattern, labels) == "A"
    assert parse_verdict("Judgement: INCORRECT.", "pattern", pattern, labels) == "B"
    assert parse_verdict("no idea", "pattern", pattern, labels) == "unparsed"
    with pytest.raises(ValueError):
        parse_verdict("A", "pattern", None, labels)


def test_audit_counts_and_markdown():
    frame = pd.DataFrame(
        {
            "problem_id": ["p1", "p1", "p2", "p2"],
            "sample_idx": [0, 1, 0, 1],
            "response": ["x \\boxed{7}", "y \\boxed{8}", "z", "w \\boxed{1}"],
            "gold": ["7", "7", "3", "3"],
            "extracted_answer": ["7", "8", None, "1"],
            "status": ["match", "mismatch", "no_answer", "mismatch"],
            "layer": ["string", "number", "extract", "number"],
            "rule_correct": [True, False, False, False],
            "sent_to_verifier": [True, True, True, True],
            "verifier_verdict": ["B", "A", "C", "unparsed"],
            "verifier_output": ["B", "A", "C", "hmm"],
            "input_truncated": [False, False, True, False],
        }
    )
    frame["correct"] = [True, True, False, False]
    audit = audit_counts(frame, cached=1)
    assert audit == {
        "samples": 4,
        "rule_accepted": 1,
        "sent_to_verifier": 4,
        "verifier_correct": 1,
        "verifier_incorrect": 1,
        "verifier_invalid": 1,
        "verifier_unparsed": 1,
        "recovered": 1,
        "rule_accepted_verifier_disagreed": 1,
        "input_truncated": 1,
        "answered_from_cache": 1,
        "accuracy": 50.0,
    }
    md = audit_markdown(frame, audit, {"scope": "all"}, "m / b")
    assert md.startswith("# Verifier audit: m / b\n")
    assert "## Recovered by the verifier (1; the first 1)" in md and "### p1 #1" in md
    assert "## Rule grader accepted, verifier did not (1; the first 1)" in md and "### p1 #0" in md
    assert "y \\boxed{8}" in md
    json.dumps(audit)
