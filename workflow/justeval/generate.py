"""The generate stage: sample one shard of one benchmark."""

from __future__ import annotations

import logging

import pandas as pd

from . import engine
from .config import sample_seed
from .hashing import settings_hash
from .models import load_manifest
from .parquet_io import read_metadata, read_parquet, write_parquet
from .schemas import BENCHMARK, GENERATIONS

log = logging.getLogger(__name__)


def user_message(template: str, problem: str) -> str:
    """The prompt template with ``{problem}`` replaced by the stripped problem."""
    return template.replace("{problem}", problem.strip())


def sampling_params(settings: dict, seed: int):
    from vllm import SamplingParams

    kwargs = {
        "temperature": settings["temperature"],
        "top_p": settings["top_p"],
        "max_tokens": settings["max_tokens"],
        "seed": seed,
    }
    if settings.get("top_k") is not None:
        kwargs["top_k"] = settings["top_k"]
    return SamplingParams(**kwargs)


def plan_requests(
    problem_ids: list[str], start: int, stop: int, base_seed: int
) -> list[tuple[str, int, int]]:
    """(problem_id, sample_idx, seed) of every request of a shard, in a fixed order."""
    seeds = {i: sample_seed(base_seed, i) for i in range(start, stop)}
    return [(pid, i, seeds[i]) for i in range(start, stop) for pid in problem_ids]


def run(
    benchmark_path: str,
    manifest_path: str,
    model_alias: str,
    shard: int,
    params: dict,
    engine_options: dict,
    output: str,
) -> None:
    settings = params["settings"]
    start, stop = params["samples"]
    bench = read_parquet(benchmark_path, BENCHMARK)
    manifest = load_manifest(manifest_path)
    digest = settings_hash(settings)
    requests = plan_requests(bench["problem_id"].tolist(), start, stop, settings["base_seed"])
    log.info(
        "%s / %s shard %d: samples %d..%d of %d problems = %d requests (settings %s)",
        model_alias,
        read_metadata(benchmark_path).get("benchmark", benchmark_path),
        shard,
        start,
        stop - 1,
        len(bench),
        len(requests),
        digest,
    )

    llm = engine.load_engine(
        manifest["path"],
        dtype=settings["dtype"],
        max_model_len=settings["max_model_len"],
        seed=settings["base_seed"],
        options=engine_options,
    )
    try:
        tokenizer = llm.get_tokenizer()
        problems = dict(zip(bench["problem_id"], bench["problem"], strict=True))
        prompt_ids = {
            pid: engine.chat_prompt_ids(tokenizer, user_message(settings["prompt"], text))
            for pid, text in problems.items()
        }
        outputs = engine.run_requests(
            llm,
            [prompt_ids[pid] for pid, _, _ in requests],
            [sampling_params(settings, seed) for _, _, seed in requests],
            label=f"generate {model_alias} shard {shard}",
            keys=[f"{pid}#{idx}" for pid, idx, _ in requests],
        )
    finally:
        engine.shutdown(llm)

    rows = []
    for (pid, idx, seed), out in zip(requests, outputs, strict=True):
        completion = out.outputs[0]
        rows.append(
            {
                "problem_id": pid,
                "sample_idx": idx,
                "seed": seed,
                "response": completion.text,
                "prompt_tokens": len(out.prompt_token_ids),
                "completion_tokens": len(completion.token_ids),
                "finish_reason": completion.finish_reason or "unknown",
                "model": model_alias,
                "settings_hash": digest,
            }
        )
    order = {pid: i for i, pid in enumerate(bench["problem_id"])}
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(
        ["problem_id", "sample_idx"], key=lambda col: col.map(order) if col.name == "problem_id" else col
    ).reset_index(drop=True)
    write_parquet(
        frame,
        output,
        GENERATIONS,
        metadata={
            "stage": "generate",
            "model": model_alias,
            "shard": shard,
            "samples": [start, stop],
            "settings": settings,
            "settings_hash": digest,
            "model_manifest": {
                k: manifest.get(k) for k in ("identity", "resolved_revision", "weights_sha256")
            },
            "benchmark": read_metadata(benchmark_path),
        },
    )
    log.info("wrote %d samples to %s", len(frame), output)
