"""Benchmark entries of the config: sources, sample counts, shards and pass@k."""

from __future__ import annotations

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
