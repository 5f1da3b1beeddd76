"""Generate-stage benchmark: one streamed batch against JustRL's per-seed loop.

    python tests/benchmarks/generate_benchmark.py [--problems 30] [--seeds 8]

JustRL's generation script loads the model with enforce_eager=True and calls
``llm.chat`` once per seed, in sequence, each call holding every problem. This
project's generate stage sends every (problem, seed) request of a shard in one
batch and streams results out as they finish. Both run here on the same engine
(one load, enforce_eager=True), the same tiny model, prompts, seeds and token
budgets. A random tiny model rarely stops on its own, so each request gets its
own max_tokens from a skewed distribution (most short, a long tail), as real
reasoning traces have: in a per-seed call the longest request keeps the batch
running while the rest of the device idles. Prints completion tokens per second
of both and their ratio. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

BENCHMARK = ROOT.parent / "shared" / "benchmarks" / "AIME24" / "test.parquet"


def budget(rng: random.Random) -> int:
    """Most answers short, one in six long: a skewed, long-tailed mix of lengths."""
    return rng.randint(256, 768) if rng.random() < 1 / 6 else rng.randint(16, 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from vllm import SamplingParams

    from justeval.engine import vllm_engine as engine
    from justeval.engine.tiny import build_tiny_model
    from justeval.sources.benchmarks import prepare
    from justeval.stages.generate import sample_seed, user_message

    frame, _ = prepare("AIME24", str(BENCHMARK), args.problems, None)
    prompt = "{problem} Please reason step by step, and put your final answer within \\boxed{}."
    messages = [user_message(prompt, p) for p in frame["problem"]]
    rng = random.Random(0)
    seeds = [sample_seed(0, i) for i in range(args.seeds)]
    # an independent budget per request
    max_tokens = {(p, s): budget(rng) for p in range(len(messages)) for s in range(args.seeds)}

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny", "random", frame["problem"].tolist(), seed=0)
        llm = engine.load_engine(
            str(model), dtype="auto", max_model_len=2048, seed=0,
            options={"enforce_eager": True, "max_num_seqs": 256},
        )  # fmt: skip
        tokenizer = llm.get_tokenizer()
        prompt_ids = [engine.chat_prompt_ids(tokenizer, m) for m in messages]

        def params(p: int, s: int) -> SamplingParams:
            return SamplingParams(temperature=0.7, top_p=0.9, max_tokens=max_tokens[(p, s)], seed=seeds[s])

        def per_seed_loop() -> int:
            tokens = 0
            for s in range(args.seeds):  # JustRL: one llm.chat call per seed, in sequence
                outs = llm.chat(
                    [[{"role": "user", "content": m}] for m in messages],
                    [params(p, s) for p in range(len(messages))],
                    use_tqdm=False,
                )
                tokens += sum(len(o.outputs[0].token_ids) for o in outs)
            return tokens

        def one_batch() -> int:
            got = []
            keys = [(p, s) for s in range(args.seeds) for p in range(len(messages))]
            engine.stream_requests(
                llm,
                [prompt_ids[p] for p, _ in keys],
                [params(p, s) for p, s in keys],
                label="benchmark",
                keys=keys,
                on_finished=lambda key, out: got.append(len(out.outputs[0].token_ids)),
            )
            return sum(got)

        results = {"JustRL-style per-seed loop": [], "justeval one streamed batch": []}
        for _ in range(args.repeats):  # alternate, so warm-up and drift hit both alike
            for name, fn in (
                ("JustRL-style per-seed loop", per_seed_loop),
                ("justeval one streamed batch", one_batch),
            ):
                start = time.perf_counter()
                tokens = fn()
                results[name].append((tokens, time.perf_counter() - start))
        engine.shutdown(llm)

    total = sum(max_tokens.values())
    print(
        f"{len(messages)} problems x {args.seeds} seeds = {len(max_tokens)} requests; "
        f"max_tokens per request: {min(max_tokens.values())}..{max(max_tokens.values())}, "
        f"{total} in all; {args.repeats} alternating repeats"
    )
    rates = {}
    for name, runs in results.items():
        best = max(t / s for t, s in runs)
        rates[name] = best
        detail = ", ".join(f"{t} tokens in {s:.2f} s" for t, s in runs)
        print(f"{name:30s} best {best:9.1f} completion tokens/s ({detail})")
    ratio = rates["justeval one streamed batch"] / rates["JustRL-style per-seed loop"]
    print(f"ratio (one batch / per-seed loop): {ratio:.2f}x")


if __name__ == "__main__":
    main()
