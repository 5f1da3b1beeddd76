"""What an engine job spent, measured by the job itself: loads, generation time,
tokens, and how full its batch stayed (requests in flight at each engine step).

Written next to the job's Snakemake benchmark file (``*.engine.json`` beside
``*.tsv``) and read by the cost table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


class EngineStats:
    def __init__(self) -> None:
        self.loads = 0
        self.load_seconds = 0.0
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.generation_seconds = 0.0
        self.in_flight: list[int] = []  # requests unfinished at each engine step
        self.finished_at: list[float] = []  # seconds after the batch started
        self._start: float | None = None

    def loaded(self, seconds: float) -> None:
        self.loads += 1
        self.load_seconds += seconds

    def batch_started(self, requests: int) -> None:
        self.requests += requests
        self._start = time.monotonic()

    def step(self, in_flight: int) -> None:
        self.in_flight.append(in_flight)

    def finished(self, prompt_tokens: int | None, completion_tokens: int | None) -> None:
        self.prompt_tokens += prompt_tokens or 0
        self.completion_tokens += completion_tokens or 0
        if self._start is not None:
            self.finished_at.append(time.monotonic() - self._start)

    def batch_done(self) -> None:
        if self._start is not None:
            self.generation_seconds += time.monotonic() - self._start
            self._start = None

    def summary(self) -> dict:
        peak = max(self.in_flight, default=0)
        below = sum(1 for n in self.in_flight if n < peak / 2)
        return {
            "engine_loads": self.loads,
            "load_seconds": round(self.load_seconds, 3),
            "generation_seconds": round(self.generation_seconds, 3),
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens_per_second": round(self.completion_tokens / self.generation_seconds, 3)
            if self.generation_seconds
            else None,
            "steps": len(self.in_flight),
            "peak_in_flight": peak,
            "share_of_steps_below_half_peak": round(below / len(self.in_flight), 4)
            if self.in_flight
            else None,
            "first_to_last_finished_seconds": round(self.finished_at[-1] - self.finished_at[0], 3)
            if self.finished_at
            else None,
        }

    def write(self, path: str | Path, **job) -> None:
        """The summary, with what identifies the job (stage, model, benchmark, ...)."""
        from justeval.io.parquet import write_text_atomic

        write_text_atomic(path, json.dumps({**job, **self.summary()}, indent=2, sort_keys=True) + "\n")
