"""The config schema file (``workflow/schemas/config.schema.yaml``): the one home of
every configuration default.

The pipeline fills a config's defaults from it when Snakemake reads the workflow
(:mod:`justeval.config.schema`); code that runs outside the pipeline (the standalone
``rule-grade`` command, the grading API) reads the same defaults here instead of
restating them.
"""

from __future__ import annotations

import functools
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


@functools.lru_cache(maxsize=4)
def load_schema(schema_path: str | Path = SCHEMA_PATH) -> dict:
    """The schema, read once per process (nothing changes it)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: 10x faster
    with open(schema_path) as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 (a safe loader)


def schema_default(section: str, key: str):
    """The default of the top-level section's key, e.g. ``("rule_grade", "timeout")``."""
    return load_schema()["properties"][section]["properties"][key]["default"]
