"""The generate stage: sample one shard of one benchmark."""

from __future__ import annotations

import logging

import pandas as pd

from . import endpoint, engine, slots
from .config import sample_seed
from .hashing import settings_hash
from .journal import Journal, journal_path
from .models import load_manifest
from .parquet_io import read_metadata, read_parquet, write_parquet
from .schemas import BENCHMARK, GENERATIONS

log = logging.getLogger(__name__)


def user_message(template: str, problem: str) -> str:
    """The prompt template with ``{problem}`` replaced by the stripped problem."""
    return template.replace("{problem}", problem.strip())


def sampling_params(settings: dict, seed: int):
    from vllm import SamplingParams

    return SamplingParams(**engine.sampling_fields(settings, seed))


def plan_requests(
    problem_ids: list[str], start: int, stop: int, base_seed: int
) -> list[tuple[str, int, int]]:
    """(problem_id, sample_idx, seed) of every request of a shard, in a fixed order."""
    seeds = {i: sample_seed(base_seed, i) for i in range(start, stop)}
    return [(pid, i, seeds[i]) for i in range(start, stop) for pid in problem_ids]


def _row(key, seed: int, out, model_alias: str, digest: str) -> dict:
    pid, idx = key
    completion = out.outputs[0]
    return {
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


def _endpoint_row(key, seed: int, completion, model_alias: str, digest: str) -> dict:
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
    server = engine_options.get("endpoint")
    manifest = load_manifest(manifest_path) if manifest_path else {"identity": settings["model"]}
    digest = settings_hash(settings)
    requests = plan_requests(bench["problem_id"].tolist(), start, stop, settings["base_seed"])
    journal = Journal(
        journal_path(output),
        {"settings": settings, "samples": [start, stop], "weights": manifest.get("weights_sha256")},
    )
    todo = [r for r in requests if not journal.done((r[0], r[1]))]
    log.info(
        "%s / %s shard %d: samples %d..%d of %d problems = %d requests, %d already in the journal "
        "(settings %s)",
        model_alias,
        read_metadata(benchmark_path).get("benchmark", benchmark_path),
        shard,
        start,
        stop - 1,
        len(bench),
        len(requests),
        len(requests) - len(todo),
        digest,
    )

    label = f"generate {model_alias} shard {shard}"
    problems = dict(zip(bench["problem_id"], bench["problem"], strict=True))
    if todo and server:
        seeds = {(pid, idx): seed for pid, idx, seed in todo}
        endpoint.run_requests(
            server["base_url"],
            server["model"],
            [user_message(settings["prompt"], problems[pid]) for pid, _, _ in todo],
            [seed for _, _, seed in todo],
            settings,
            keys=[(pid, idx) for pid, idx, _ in todo],
            on_finished=lambda key, c: journal.add(_endpoint_row(key, seeds[key], c, model_alias, digest)),
            label=label,
            concurrency=engine_options.get("endpoint_concurrency", 16),
            timeout=engine_options.get("request_timeout", 1800),
            retries=engine_options.get("max_retries", 8),
        )
    elif todo:
        with slots.gpu_slot(engine_options, label=label):
            llm = engine.load_engine(
                manifest["path"],
                dtype=settings["dtype"],
                max_model_len=settings["max_model_len"],
                seed=settings["base_seed"],
                options=engine_options,
            )
            try:
                tokenizer = llm.get_tokenizer()
                prompt_ids = {
                    pid: engine.chat_prompt_ids(tokenizer, user_message(settings["prompt"], text))
                    for pid, text in problems.items()
                }
                seeds = {(pid, idx): seed for pid, idx, seed in todo}
                engine.stream_requests(
                    llm,
                    [prompt_ids[pid] for pid, _, _ in todo],
                    [sampling_params(settings, seed) for _, _, seed in todo],
                    label=label,
                    keys=[(pid, idx) for pid, idx, _ in todo],
                    on_finished=lambda key, out: journal.add(_row(key, seeds[key], out, model_alias, digest)),
                )
            finally:
                engine.shutdown(llm)

    frame = pd.DataFrame([journal.rows[(pid, idx)] for pid, idx, _ in requests])
    order = {pid: i for i, pid in enumerate(bench["problem_id"])}
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
    journal.remove()
    log.info("wrote %d samples to %s", len(frame), output)
