"""Verifier prompts: placeholders filled once, long responses cut from the front."""

from __future__ import annotations

from justeval.model_grade import fill_prompt, verifier_prompt_ids

TEMPLATE = "Q: {question}\nGold: {gold_answer}\nCandidate: {llm_response}\nVerdict:"


def test_fill_prompt_single_pass():
    text = fill_prompt(TEMPLATE, "What is {gold_answer}?", "4", "I say {question} \\boxed{4}")
    assert text == "Q: What is {gold_answer}?\nGold: 4\nCandidate: I say {question} \\boxed{4}\nVerdict:"


def test_long_response_is_cut_from_the_front(tiny_models):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["always_a"])
    short, cut = verifier_prompt_ids(tok, TEMPLATE, "q", "7", "so \\boxed{7}", budget=500)
    assert not cut
    response = "blah " * 2000 + "the answer is \\boxed{7}"
    ids, cut = verifier_prompt_ids(tok, TEMPLATE, "q", "7", response, budget=300)
    assert cut and len(ids) <= 300
    text = tok.decode(ids)
    assert text.rstrip().endswith("Verdict:<|im_end|>\n<|im_start|>assistant") or "Verdict:" in text
    assert "\\boxed{7}" in text  # the ending survives
    assert text.count("blah") < 2000
