"""Model entries of the config: aliases, sources, and what identifies the weights."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from justeval.config.schema import ConfigError

RESERVED_ALIASES = frozenset({"models", "logs", "runtime", "tables", "cache"})


MODEL_SOURCES = ("hub", "path", "tiny", "import", "endpoint")
# import formats that carry their own verdicts (for the `provided` grading variant)
FORMATS_WITH_VERDICTS = ("qwen",)


@dataclass(frozen=True)
class ModelSpec:
    """One model entry, resolved: its alias and where its weights come from."""

    alias: str
    source: str  # hub | path | tiny | import
    hub: str | None = None
    revision: str | None = None
    path: str | None = None
    tiny: dict | None = None
    generation: dict | None = None
    imported: dict | None = None  # {"format": ..., "files": {benchmark: path}}
    endpoint: dict | None = None  # {"base_url": ..., "model": ...}
    step: int | None = None  # training step of a checkpoint (plots)
    run: str | None = None  # training run a checkpoint belongs to (plots)
    published: str | None = None  # row of the published JustRL tables to compare with
    # content hash of a local folder's files, set by Plan.fingerprint_local_models
    weights: str | None = None

    def identity(self) -> dict:
        """What identifies the weights; part of every generation setting."""
        if self.source == "hub":
            return {"hub": self.hub, "revision": self.revision}
        if self.source == "path":
            return {"path": self.path, "weights_sha256": self.weights}
        if self.source == "import":
            return {"import": self.imported}
        if self.source == "endpoint":
            # the served model and the label of its weights; not the URL (a location)
            return {"endpoint": self.endpoint["model"], "revision": self.revision}
        return {"tiny": self.tiny}

    @property
    def local_weights(self) -> bool:
        """Whether the pipeline loads this model's weights itself (it has a manifest)."""
        return self.source in ("hub", "path", "tiny")

    @property
    def generates(self) -> bool:
        """Whether the pipeline samples this model (imports bring their samples)."""
        return self.source != "import"


def _default_alias(entry: dict) -> str | None:
    if "hub" in entry:
        return entry["hub"].rsplit("/", 1)[-1]
    if "path" in entry:
        return Path(entry["path"]).name or None
    if "import" in entry:
        files = list(entry["import"].get("files", {}).values())
        return Path(files[0]).stem if files else None
    if "endpoint" in entry:
        return entry["endpoint"]["model"].rsplit("/", 1)[-1]
    return None


def model_spec(entry: dict, where: str) -> ModelSpec:
    given = [k for k in MODEL_SOURCES if k in entry]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise ConfigError(
            f"config error: {where}: give exactly one of 'hub', 'path', 'tiny', 'import' or 'endpoint' "
            f"(got {what})"
        )
    source = given[0]
    alias = entry.get("name") or _default_alias(entry)
    if not alias or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", alias):
        raise ConfigError(f"config error: {where}.name: cannot derive a path-safe alias; set 'name'")
    if alias in RESERVED_ALIASES:
        raise ConfigError(
            f"config error: {where}.name: {alias!r} is reserved for results/{alias}/; pick another name"
        )
    if source not in ("hub", "endpoint") and "revision" in entry:
        raise ConfigError(f"config error: {where}.revision: only hub and endpoint models have a revision")
    if source == "path":
        path = Path(entry["path"]).expanduser()
        if not path.is_dir():
            raise ConfigError(f"config error: {where}.path: no such folder: {entry['path']}")
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"config error: {where}.path: {entry['path']} holds no config.json (not a model folder)"
            )
    tiny = None
    if source == "tiny":
        tiny = {"kind": "random", "seed": 0, "corpus": [], **entry["tiny"]}
        tiny["corpus"] = [str(c) for c in tiny["corpus"]]
    imported = None
    if source == "import":
        imported = {"format": entry["import"]["format"], "files": dict(entry["import"]["files"])}
        if entry["import"].get("tokenizer"):
            imported["tokenizer"] = entry["import"]["tokenizer"]
        for bench, path in imported["files"].items():
            if not Path(path).expanduser().is_file():
                raise ConfigError(f"config error: {where}.import.files.{bench}: no such file: {path}")
        if entry.get("generation"):
            raise ConfigError(f"config error: {where}.generation: an imported model is not sampled")
    return ModelSpec(
        alias=alias,
        source=source,
        hub=entry.get("hub"),
        revision=entry.get("revision", "main") if source == "hub" else entry.get("revision"),
        path=str(Path(entry["path"]).expanduser()) if source == "path" else None,
        tiny=tiny,
        generation=dict(entry.get("generation") or {}),
        imported=imported,
        endpoint=dict(entry["endpoint"]) if source == "endpoint" else None,
        step=entry.get("step"),
        run=entry.get("run"),
        published=entry.get("published"),
    )
