"""Stable hashes of settings, files and source trees."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def settings_hash(obj: Any, length: int = 16) -> str:
    """Short hash of a JSON-serialisable settings object."""
    return sha256_text(canonical_json(obj))[:length]


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def source_hash(*paths: str | Path, length: int = 16) -> str:
    """Hash of the Python sources under the given files or folders.

    Used as a code version in rule params, so that editing a grader reruns
    grading while touching the file (or editing unrelated code) does not.
    """
    digest = hashlib.sha256()
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    for f in files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:length]
