"""One engine job's life: a GPU slot, the engine loaded on it, and its shutdown."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from justeval.engine.slots import gpu_slot
from justeval.engine.stats import EngineStats
from justeval.engine.vllm_engine import load_engine, shutdown


@contextlib.contextmanager
def engine_session(
    model_path: str,
    *,
    dtype: str,
    max_model_len: int | None,
    seed: int,
    options: dict,
    label: str,
    stats: EngineStats | None = None,
) -> Iterator[tuple[object, object]]:
    """Take a GPU slot, load vLLM on it and yield ``(llm, tokenizer)``; the engine's
    processes are stopped and the slot freed however the block ends. The load's
    duration goes to ``stats``."""
    with gpu_slot(options, label=label):
        start = time.monotonic()
        llm = load_engine(model_path, dtype=dtype, max_model_len=max_model_len, seed=seed, options=options)
        if stats is not None:
            stats.loaded(time.monotonic() - start)
        try:
            yield llm, llm.get_tokenizer()
        finally:
            shutdown(llm)
