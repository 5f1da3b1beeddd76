"""The model stages: a hub or local model resolved into a manifest (`download_model`),
a tiny test model built (`build_tiny_model`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from justeval.command import Arg, command
from justeval.engine import tiny
from justeval.sources import models
from justeval.sources.benchmarks import problem_texts

log = logging.getLogger(__name__)


@command("download-model", "resolve a hub or local model into a manifest")
def download_model(
    *,
    settings: Annotated[dict, Arg("model identity (JSON)")],
    hub_cache: Annotated[str, Arg("cache folder; 'default': huggingface_hub's own")] = "default",
    manifest: str,
) -> None:
    cache = None if hub_cache in ("", "default") else hub_cache
    models.write_manifest(models.download_model(settings, cache), manifest)


def build_tiny(identity: dict, weights_dir: str | Path) -> dict:
    """Build a tiny model (see :mod:`justeval.engine.tiny`) and return its manifest."""

    spec = identity["tiny"]
    texts: list[str] = []
    for corpus_file in spec.get("corpus", []):
        texts.extend(problem_texts(corpus_file))
    log.info("building tiny %s model from %d corpus texts", spec["kind"], len(texts))
    folder = tiny.build_tiny_model(
        weights_dir, kind=spec["kind"], texts=texts, seed=spec["seed"], text=spec.get("text")
    )
    return models.manifest_for(folder, identity, source="tiny", resolved_revision=None)


@command("build-tiny-model", "build a tiny local model (tests, smoke run)")
def build_tiny_model(
    *,
    settings: Annotated[dict, Arg("the tiny model's recipe (JSON)")],
    weights: Annotated[str, Arg("folder for the weights")],
    manifest: str,
) -> None:
    models.write_manifest(build_tiny(settings, weights), manifest)
