"""The generate stage: sample one shard of one benchmark."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command
from justeval.engine import endpoint
from justeval.engine.endpoint import Completion
from justeval.engine.session import engine_session
from justeval.engine.stats import EngineStats
from justeval.engine.vllm_engine import chat_prompt_ids, sampling_fields, stream_requests, too_long_prompts
from justeval.io.hashing import settings_hash
from justeval.io.identity import identity
from justeval.io.journal import Journal, journal_path
from justeval.io.parquet import DataError, read_metadata, read_parquet, sort_like, write_parquet
from justeval.io.schemas import BENCHMARK, GENERATIONS
from justeval.sources.models import load_manifest

log = logging.getLogger(__name__)


def sample_seed(base_seed: int, sample_idx: int) -> int:
    """The seed of sample index ``sample_idx``: a function of the base seed and the index alone."""
    digest = hashlib.sha256(f"justeval-seed:{base_seed}:{sample_idx}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def user_message(template: str, problem: str) -> str:
    """The prompt template with ``{problem}`` replaced by the stripped problem."""
    return template.replace("{problem}", problem.strip())


def sampling_params(settings: dict, seed: int):
    from vllm import SamplingParams

    return SamplingParams(**sampling_fields(settings, seed))


def plan_requests(
    problem_ids: list[str], start: int, stop: int, base_seed: int
) -> list[tuple[str, int, int]]:
    """(problem_id, sample_idx, seed) of every request of a shard, in a fixed order."""
    seeds = {i: sample_seed(base_seed, i) for i in range(start, stop)}
    return [(pid, i, seeds[i]) for i in range(start, stop) for pid in problem_ids]


def _vllm_completion(out) -> Completion:
    completion = out.outputs[0]
    return Completion(
        completion.text,
        completion.finish_reason or "unknown",
        len(out.prompt_token_ids),
        len(completion.token_ids),
    )


def _row(key, seed: int, completion: Completion, model_alias: str, digest: str) -> dict:
    """One generations row (from vLLM or an endpoint)."""
    pid, idx = key
    return {
        "problem_id": pid,
        "sample_idx": idx,
        "seed": seed,
        "response": completion.text,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "finish_reason": completion.finish_reason,
        "model": model_alias,
        "settings_hash": digest,
    }


@command("generate", "sample one shard of one benchmark with vLLM (or an endpoint)")
def generate(
    *,
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    model_manifest: Annotated[str | None, Arg("the model's manifest; none for endpoint models")] = None,
    model: Annotated[str, Arg("model alias")],
    shard: int,
    shard_settings: Annotated[dict, Arg('JSON: {"settings": generation settings, "samples": [start, stop]}')],
    engine_options: Annotated[dict | None, Arg("throughput options (JSON); never change a sample")] = None,
    output: str,
    engine_stats: Annotated[str | None, Arg("where to write what the engine spent (JSON)")] = None,
) -> None:
    engine_options = engine_options or {}
    settings = shard_settings["settings"]
    start, stop = shard_settings["samples"]
    bench = read_parquet(benchmark, BENCHMARK)
    server = engine_options.get("endpoint")
    manifest = load_manifest(model_manifest) if model_manifest else {"identity": settings["model"]}
    digest = settings_hash(settings)
    requests = plan_requests(bench["problem_id"].tolist(), start, stop, settings["base_seed"])
    journal = Journal(
        journal_path(output),
        {"settings": settings, "samples": [start, stop], "weights": manifest.get("weights_sha256")},
    )
    todo = [r for r in requests if not journal.done((r[0], r[1]))]
    bench_meta = read_metadata(benchmark)
    log.info(
        "%s / %s shard %d: samples %d..%d of %d problems = %d requests, %d already in the journal "
        "(settings %s)",
        model,
        bench_meta.get("benchmark", benchmark),
        shard,
        start,
        stop - 1,
        len(bench),
        len(requests),
        len(requests) - len(todo),
        digest,
    )

    label = f"generate {model} shard {shard}"
    stats = EngineStats()
    problems = dict(zip(bench["problem_id"], bench["problem"], strict=True))
    if todo and server:
        seeds = {(pid, idx): seed for pid, idx, seed in todo}
        endpoint.stream_requests(
            server,
            [user_message(settings["prompt"], problems[pid]) for pid, _, _ in todo],
            [seed for _, _, seed in todo],
            settings,
            label=label,
            keys=[(pid, idx) for pid, idx, _ in todo],
            on_finished=lambda key, c: journal.add(_row(key, seeds[key], c, model, digest)),
            options=engine_options,
            stats=stats,
            describe=lambda key: f"problem {key[0]} sample {key[1]}",
        )
    elif todo:
        # a problem whose prompt fills the engine's whole context would fail the shard after
        # the engine loaded: said first, with the model's tokenizer alone
        asked = {pid: user_message(settings["prompt"], problems[pid]) for pid in {pid for pid, _, _ in todo}}
        too_long = too_long_prompts(manifest["path"], asked, settings["max_model_len"])
        if too_long:
            raise DataError(
                f"{bench_meta.get('benchmark', benchmark)}: {len(too_long)} problem(s) longer than the "
                f"model's context ({', '.join(too_long[:5])}{', ...' if len(too_long) > 5 else ''}); "
                "raise generation.max_model_len, or leave them out of the benchmark (limit, or a copy "
                "of its file without them)"
            )
        with engine_session(
            manifest["path"],
            dtype=settings["dtype"],
            max_model_len=settings["max_model_len"],
            seed=settings["base_seed"],
            options=engine_options,
            label=label,
            stats=stats,
        ) as (llm, tokenizer):
            prompt_ids = {
                pid: chat_prompt_ids(tokenizer, user_message(settings["prompt"], text))
                for pid, text in problems.items()
            }
            seeds = {(pid, idx): seed for pid, idx, seed in todo}
            stream_requests(
                llm,
                [prompt_ids[pid] for pid, _, _ in todo],
                [sampling_params(settings, seed) for _, _, seed in todo],
                label=label,
                keys=[(pid, idx) for pid, idx, _ in todo],
                on_finished=lambda key, out: journal.add(
                    _row(key, seeds[key], _vllm_completion(out), model, digest)
                ),
                stats=stats,
            )

    frame = pd.DataFrame([journal.rows[(pid, idx)] for pid, idx, _ in requests])
    frame = sort_like(frame, bench["problem_id"])
    write_parquet(
        frame,
        output,
        GENERATIONS,
        metadata={
            "stage": "generate",
            "identity": identity(model, bench_meta["benchmark"]),
            "model": model,
            "shard": shard,
            "samples": [start, stop],
            "settings": settings,
            "settings_hash": digest,
            "model_manifest": {
                k: manifest.get(k) for k in ("identity", "resolved_revision", "weights_sha256")
            },
            "benchmark": bench_meta,
        },
    )
    journal.remove()
    if engine_stats:
        stats.write(
            engine_stats, stage="generate", model=model, benchmark=bench_meta["benchmark"],
            shard=shard, samples=len(frame),
        )  # fmt: skip
    log.info("wrote %d samples to %s", len(frame), output)
