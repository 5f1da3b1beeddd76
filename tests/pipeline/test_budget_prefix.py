"""The budget curve's premise, measured on real vLLM-CPU: with a per-request seed, the
sample drawn with max_tokens b is the first b tokens of the sample drawn with 2b.

One engine load (in a child process: vLLM stays out of the pytest worker) runs the same
requests (AIME24 prompts through the chat template, the seeds of sample indices 0-3) of
the tiny random model:

* at b and at 2b, each as one batch: the prefix share (token ids compared);
* b and 2b side by side in ONE batch with requests of other prompts: the batch changes;
* each 2b request alone: the same request in a batch of one;

with the protocol's sampling (temperature 0.7, top_p 0.9) and with top_k 20
(temperature 0.6, top_p 0.95). It also measures what the budget stage's cut does on
these samples: whether re-tokenizing a 2b-sample's text gives back its token ids, and
whether the text of the first b re-tokenized tokens is the b-sample's text.

Run ``pytest -s`` to see the measured shares (also in the test's properties).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pipeline

B = 16
PROBLEMS = 4  # the first AIME24 problems
SAMPLES = 4  # sample indices 0..3
OTHER = (4, 5)  # problems whose requests join the mixed batch
PROMPT = "{problem} Please reason step by step, and put your final answer within \\boxed{}."
CONFIGS = {
    "protocol": {"temperature": 0.7, "top_p": 0.9},
    "top_k": {"temperature": 0.6, "top_p": 0.95, "top_k": 20},
}


def _measure(model: str, out: str) -> None:
    """Run in a child process: one engine, every comparison, the results as JSON."""
    from vllm import SamplingParams

    from conftest import prepared_benchmarks
    from justeval.engine.vllm_engine import chat_prompt_ids, load_engine, run_requests, shutdown
    from justeval.stages.generate import sample_seed, user_message

    problems = prepared_benchmarks()["AIME24"]["problem"].tolist()
    llm = load_engine(model, dtype="auto", max_model_len=None, seed=0, options={})
    tok = llm.get_tokenizer()
    prompt_ids = [chat_prompt_ids(tok, user_message(PROMPT, p)) for p in problems[: max(OTHER) + 1]]
    requests = [(p, i) for i in range(SAMPLES) for p in range(PROBLEMS)]
    results = {}
    try:
        for name, sampling in CONFIGS.items():

            def params(idx: int, max_tokens: int, sampling=sampling):
                return SamplingParams(**sampling, max_tokens=max_tokens, seed=sample_seed(0, idx), logprobs=0)

            def run(keys, budgets, label):
                return run_requests(
                    llm,
                    [prompt_ids[k[-2]] for k in keys],
                    [params(k[-1], m) for k, m in zip(keys, budgets, strict=True)],
                    label=label,
                    keys=keys,
                )

            short = run(requests, [B] * len(requests), f"{name} b")
            long = run(requests, [2 * B] * len(requests), f"{name} 2b")
            mixed_keys = (
                [("b", *r) for r in requests]
                + [("2b", *r) for r in requests]
                + [("other", p, i) for p in OTHER for i in range(2 * SAMPLES)]
            )
            mixed_budgets = [B if k[0] == "b" else 2 * B for k in mixed_keys]
            mixed = dict(zip(mixed_keys, run(mixed_keys, mixed_budgets, f"{name} mixed"), strict=True))
            alone = [run([r], [2 * B], f"{name} alone")[0] for r in requests]

            def record(output) -> dict:
                c = output.outputs[0]
                return {
                    "ids": list(c.token_ids),
                    "text": c.text,
                    "finish": c.finish_reason,
                    "logprobs": [lp[t].logprob for lp, t in zip(c.logprobs, c.token_ids, strict=True)],
                }

            retokenized = [tok(o.outputs[0].text, add_special_tokens=False)["input_ids"] for o in long]
            results[name] = {
                "short": [record(o) for o in short],
                "long": [record(o) for o in long],
                "mixed_short": [record(mixed[("b", *r)]) for r in requests],
                "mixed_long": [record(mixed[("2b", *r)]) for r in requests],
                "alone": [record(o) for o in alone],
                "retokenized": retokenized,
                "round_trip_text": [
                    tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
                    for ids in retokenized
                ],
                "cut_text": [
                    tok.decode(ids[:B], skip_special_tokens=False, clean_up_tokenization_spaces=False)
                    for ids in retokenized
                ],
                "eos": tok.eos_token_id,
            }
    finally:
        shutdown(llm)
    Path(out).write_text(json.dumps(results))


@pytest.fixture(scope="module")
def measured(tiny_models, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("budget-prefix") / "measured.json"
    env = {"VLLM_CPU_KVCACHE_SPACE": "1", "PYTHONHASHSEED": "0"}
    import os

    proc = subprocess.run(
        [sys.executable, __file__, str(tiny_models["random"]), str(out)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    return json.loads(out.read_text())


def _share(flags) -> tuple[int, int]:
    flags = list(flags)
    return sum(flags), len(flags)


def _first_difference(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


@pytest.mark.parametrize("config", list(CONFIGS))
def test_the_b_sample_is_the_first_b_tokens_of_the_2b_sample(measured, config, record_property):
    """Same requests, same batch composition up to step b: exact prefixes, token ids."""
    m = measured[config]
    stopped = sum(len(s["ids"]) < B for s in m["short"])
    holds, total = _share(two["ids"][:B] == s["ids"] for s, two in zip(m["short"], m["long"], strict=True))
    # a sample that stopped before b stopped at the same token in both runs
    for s, two in zip(m["short"], m["long"], strict=True):
        if len(s["ids"]) < B:
            assert two["ids"] == s["ids"] and s["finish"] == two["finish"] == "stop"
    # the runs are not trivial: most samples ran to b and went on past it
    assert sum(len(two["ids"]) > B for two in m["long"]) >= total // 2
    record_property("prefix_share", f"{holds}/{total}")
    print(f"\n[{config}] b={B}: prefix holds for {holds}/{total} samples ({stopped} stopped before b)")
    assert holds == total


@pytest.mark.parametrize("config", list(CONFIGS))
def test_what_the_batch_does(measured, config, record_property):
    """The same request in another batch: side by side with its own 2b twin and other
    prompts, and alone. Reported, not assumed: vLLM-CPU's logits depend on the batch
    at the level of float rounding, which can flip a near tie. Where a sample differs,
    the tokens before the first difference carry the same log-probabilities up to
    rounding (the same distribution, another draw at a near tie)."""
    m = measured[config]
    mixed_short, n = _share(x["ids"] == s["ids"] for x, s in zip(m["mixed_short"], m["short"], strict=True))
    mixed_long, _ = _share(x["ids"] == s["ids"] for x, s in zip(m["mixed_long"], m["long"], strict=True))
    mixed_prefix, _ = _share(
        x["ids"][:B] == s["ids"] for x, s in zip(m["mixed_long"], m["mixed_short"], strict=True)
    )
    alone, _ = _share(a["ids"] == two["ids"] for a, two in zip(m["alone"], m["long"], strict=True))
    worst = 0.0
    diverged = []
    for a, two in zip(m["alone"] + m["mixed_long"], m["long"] * 2, strict=True):
        k = _first_difference(a["ids"], two["ids"])
        if k < min(len(a["ids"]), len(two["ids"])):
            diverged.append(k)
        for x, y in zip(a["logprobs"][:k], two["logprobs"][:k], strict=True):  # the same tokens
            worst = max(worst, abs(x - y))
    record_property("mixed_same", f"{mixed_short}/{n} b, {mixed_long}/{n} 2b, prefix {mixed_prefix}/{n}")
    record_property("alone_same", f"{alone}/{n}")
    print(
        f"\n[{config}] in one batch with their twins and other prompts: {mixed_short}/{n} b-samples and "
        f"{mixed_long}/{n} 2b-samples as in their own batches, prefix {mixed_prefix}/{n}; alone: "
        f"{alone}/{n} as in the batch; first differences at tokens {sorted(diverged)}; largest "
        f"log-probability difference before them {worst:.2e}"
    )
    # vLLM-CPU runs the float32 tiny model in bfloat16 (dtype auto): rounding is ~1e-3
    assert worst < 1e-2  # rounding, not another distribution


def test_what_re_tokenizing_gives_back(measured, record_property):
    """What the budget stage's cut does with these texts: the text survives the round
    trip (text -> ids -> text); the ids need not: a random model emits lone bytes of
    multi-byte characters (U+FFFD in the text, three bytes, three tokens again) and splits
    the tokenizer would not make, and then the first b re-tokenized tokens are not the
    b-sample's text (a shorter prefix of it). Shares reported for the docs."""
    lines = []
    for config, m in measured.items():
        text_same, n = _share(
            r == two["text"] for r, two in zip(m["round_trip_text"], m["long"], strict=True)
        )
        ids_same, _ = _share(
            ids == [t for t in two["ids"] if t != m["eos"]]
            for ids, two in zip(m["retokenized"], m["long"], strict=True)
        )
        more = [len(ids) - len(two["ids"]) for ids, two in zip(m["retokenized"], m["long"], strict=True)]
        cut_same, _ = _share(c == s["text"] for c, s in zip(m["cut_text"], m["short"], strict=True))
        cut_shorter, _ = _share(
            s["text"].startswith(c) and len(c) < len(s["text"])
            for c, s in zip(m["cut_text"], m["short"], strict=True)
        )
        assert text_same == n
        record_property(f"{config}_ids_round_trip", f"{ids_same}/{n}")
        record_property(f"{config}_cut_equals_b_sample", f"{cut_same}/{n}")
        lines.append(
            f"[{config}] text round trip {text_same}/{n}; ids round trip {ids_same}/{n} (re-tokenized: "
            f"{min(more)}..{max(more)} tokens more than generated); the first {B} re-tokenized tokens "
            f"are the b-sample's text for {cut_same}/{n}, a shorter prefix of it for {cut_shorter}/{n}"
        )
    print("\n" + "\n".join(lines))


if __name__ == "__main__":  # the child process of the `measured` fixture
    root = Path(__file__).resolve().parents[2]
    sys.path[:0] = [str(root / "workflow"), str(root / "tests")]
    _measure(sys.argv[1], sys.argv[2])
