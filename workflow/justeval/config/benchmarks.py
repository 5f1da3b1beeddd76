"""Benchmark entries of the config: sources, sample counts, shards and pass@k."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from justeval.sources.locations import is_url


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    n_samples: int
    shard_size: int
    source: str
    limit: int | None = None
    sha256: str | None = None
    # hash of the rows prepare_benchmark keeps from a local source (set by
    # Plan.fingerprint_benchmarks; None for a URL, or a file prepare_benchmark will refuse)
    rows: str | None = None

    @property
    def n_shards(self) -> int:
        return -(-self.n_samples // self.shard_size)

    def shard_samples(self, shard: int) -> tuple[int, int]:
        """Half-open range of sample indices of a shard.

        Shard s always holds indices [s*shard_size, (s+1)*shard_size), cut at
        N: raising N adds shards and leaves full shards untouched.
        """
        start = shard * self.shard_size
        if not 0 <= start < self.n_samples:
            raise ValueError(f"{self.name}: shard {shard} out of range (N={self.n_samples})")
        return start, min(start + self.shard_size, self.n_samples)

    def is_url(self) -> bool:
        return is_url(self.source)


def resolve_source(template: str, name: str) -> str:
    if "{name}" in template:
        return template.replace("{name}", name)
    if is_url(template):
        return template.rstrip("/") + f"/{name}/test.parquet"
    return str(Path(template) / name / "test.parquet")


def pass_k_values(requested: list[int] | None, n: int) -> list[int]:
    """k values for pass@k: the requested ones up to N, or 1, 2, 4, ... and N."""
    if requested is None:
        ks, k = [], 1
        while k < n:
            ks.append(k)
            k *= 2
        ks.append(n)
        return ks
    return sorted({k for k in requested if k <= n})


def rows_fingerprint(spec: BenchmarkSpec, cache_file: Path, version: str) -> str | None:
    """The hash of every column of the rows prepare_benchmark would write from a local
    source (the first ``limit`` rows), so that a source touched, or changed only in rows
    beyond the limit, reruns nothing. Read again only when the file's size or mtime, the
    limit or the preparing code changed since ``cache_file`` recorded it. None for a URL,
    and for a file that cannot be prepared (prepare_benchmark then says why)."""
    if spec.is_url():
        return None
    stat = os.stat(spec.source)
    key = {"source": spec.source, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "limit": spec.limit,
           "version": version}  # fmt: skip
    try:
        cached = json.loads(cache_file.read_text())
        if cached.get("key") == key:
            return cached["rows"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    from justeval.io.hashing import canonical_json, sha256_text
    from justeval.io.parquet import DataError, write_text_atomic
    from justeval.sources.benchmarks import prepare

    try:
        frame, _ = prepare(spec.name, spec.source, spec.limit, None)
    except DataError:
        return None
    rows = sha256_text(canonical_json(frame.astype(object).to_dict("records")))
    write_text_atomic(cache_file, json.dumps({"key": key, "rows": rows}, indent=1) + "\n")
    return rows
