"""The prepare_benchmark stage: one benchmark's canonical Parquet file."""

from __future__ import annotations

import logging
from typing import Annotated

from justeval.command import Arg, command
from justeval.io.parquet import write_parquet
from justeval.io.schemas import BENCHMARK
from justeval.sources.benchmarks import prepare

log = logging.getLogger(__name__)


@command("prepare-benchmark", "canonical Parquet of one benchmark")
def prepare_benchmark(
    *,
    name: Annotated[str, Arg("the benchmark's name")],
    settings: Annotated[dict, Arg('JSON: {"source", "limit", "version"}')],
    sha256: Annotated[str, Arg("the source file's expected sha256 ('none': unpinned)")] = "none",
    output: str,
) -> None:
    pin = None if sha256 in (None, "", "none") else sha256
    frame, metadata = prepare(name, settings["source"], settings.get("limit"), pin)
    write_parquet(frame, output, BENCHMARK, metadata)
    log.info("%s: %d problems from %s", name, len(frame), settings["source"])
