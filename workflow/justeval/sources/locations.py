"""Where a benchmark file comes from (a URL or a local file) and its sha256 pin.

Kept apart from :mod:`justeval.sources.benchmarks` so that the checks that run
when Snakemake reads the Snakefile import neither pandas nor the graders.
"""

from __future__ import annotations

import re
from pathlib import Path

from justeval.io.parquet import DataError


def is_url(source: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", source)) and not source.startswith("file://")


class BenchmarkError(DataError):
    """A benchmark file that cannot be used; names the file, row and column."""


def check_pin(name: str, source: str, sha256: str | None, prepared: str | Path) -> None:
    """Check a benchmark's sha256 pin before any job runs (raises BenchmarkError).

    A pin only checks: it is not part of what the prepared file depends on, so
    adding the right pin reruns nothing. A local source is hashed here; a URL
    source is checked against the hash recorded in the prepared file (or, when
    there is none yet, by prepare_benchmark after the download). Nothing is
    deleted before a wrong pin is reported.
    """
    if sha256 is None:
        return
    where = f"benchmarks: {name}: sha256"
    if not is_url(source):
        from justeval.io.hashing import sha256_file

        actual = sha256_file(source)
        if actual != sha256:
            raise BenchmarkError(f"{where}: {source} has sha256 {actual}, the config pins {sha256}")
        return
    prepared = Path(prepared)
    if prepared.exists():
        from justeval.io.parquet import read_metadata

        actual = read_metadata(prepared).get("source_sha256")
        if actual != sha256:
            raise BenchmarkError(
                f"{where}: {prepared} was prepared from {source} with sha256 {actual}, the config pins "
                f"{sha256}; delete {prepared} to download it again"
            )
