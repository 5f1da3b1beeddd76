"""Model entries of the config: aliases, sources, and what identifies the weights."""

from __future__ import annotations

import glob
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from justeval.config.schema import ConfigError

RESERVED_ALIASES = frozenset({"models", "logs", "runtime", "tables", "cache"})


MODEL_SOURCES = ("hub", "path", "tiny", "import", "endpoint")
# import formats whose files carry their own verdicts (for the `provided` grading
# variant; a file that turns out to hold none is an error of that variant's job)
FORMATS_WITH_VERDICTS = (
    "qwen",
    "lighteval",
    "skythought",
    "nemo_skills",
    "lm_eval",
    "opencompass",
    "verl",
    "matharena",
)


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


WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
# verl's FSDP trainer checkpoint: one shard of the weights per rank, not loadable as is
SHARDED_CHECKPOINT = re.compile(r"model_world_size_\d+_rank_\d+\.pt")
# a weight file of a sharded save: model-00001-of-00004.safetensors
WEIGHT_SHARD = re.compile(r"(.+)-(\d+)-of-(\d+)\.(safetensors|bin)")


def _sharded_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.pt") if SHARDED_CHECKPOINT.fullmatch(p.name))


def safetensors_mismatch(path: Path) -> str | None:
    """Why a ``.safetensors`` file's size is not the one its header gives (None when
    it is). The format: an 8-byte little-endian header length, a JSON header giving
    each tensor's ``data_offsets`` [begin, end) in the bytes after the header; a
    file being written is shorter than the last offset says."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return f"{path.name} holds {size} bytes, not even its header length"
        n = int.from_bytes(head, "little")
        if 8 + n > size:
            return f"{path.name} holds {size} bytes, less than its {n}-byte header"
        try:
            header = json.loads(fh.read(n))
            end = max(
                (int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return f"{path.name} has no safetensors header"
    if 8 + n + end > size:
        return f"{path.name} holds {size} of its {8 + n + end} bytes"
    if 8 + n + end < size:
        return f"{path.name} holds {size} bytes, more than the {8 + n + end} its header gives"
    return None


def unfinished_weights(folder: Path) -> str | None:
    """Why a folder's weights are not all written yet (None when they are): a
    shard of ``-of-N`` missing, a file an index names missing, a ``.safetensors``
    file shorter than its header says."""
    names = {p.name for p in folder.iterdir()}
    shards: dict[tuple[str, str, int], int] = {}
    for name in names:
        m = WEIGHT_SHARD.fullmatch(name)
        if m:
            key = (m.group(1), m.group(4), int(m.group(3)))
            shards[key] = shards.get(key, 0) + 1
    for (prefix, ext, total), present in sorted(shards.items()):
        if present < total:
            return f"{present} of the {total} {prefix}-*-of-{total:05d}.{ext} shards are there"
    for index in sorted(n for n in names if n.endswith(".index.json")):
        try:
            files = set(json.loads((folder / index).read_text())["weight_map"].values())
        except (ValueError, KeyError, TypeError, AttributeError):
            return f"{index} is not a weight index (yet)"
        missing = sorted(files - names)
        if missing:
            return f"{index} names {missing[0]}, which is not there"
    for name in sorted(n for n in names if n.endswith(".safetensors")):
        short = safetensors_mismatch(folder / name)
        if short:
            return short
    return None


def _last_change(folder: Path, where: str) -> float:
    """When the folder or a file in it last changed. A file that cannot be looked at (a
    symbolic link that loops or leads nowhere) is one config error naming it."""

    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError as exc:
            raise ConfigError(
                f"config error: {where}: {path}: cannot be read ({exc.strerror}); "
                "a symbolic link that loops or leads nowhere?"
            ) from None

    return max([mtime(folder), *(mtime(p) for p in folder.iterdir())])


def check_weights_folder(folder: Path, where: str) -> None:
    """A folder vLLM can load: a config.json and weight files, all written."""
    _check_loadable(folder, where)
    unfinished = unfinished_weights(folder)
    if unfinished:
        raise ConfigError(f"config error: {where}: {folder}: its weights are incomplete: {unfinished}")


def _check_loadable(folder: Path, where: str) -> None:
    """A config.json and weight files. A trainer's sharded checkpoint (beside the
    folder or in it) is said as such, with how to merge it."""
    has_weights = any(any(folder.glob(pattern)) for pattern in WEIGHT_FILES)
    for place in () if has_weights else (folder, folder.parent):
        shards = _sharded_files(place)
        if shards:
            raise ConfigError(
                f"config error: {where}: {folder} holds no Hugging Face weights, and {place} holds a "
                f"sharded trainer checkpoint ({shards[0]}, ... {len(shards)} files). Merge it first, "
                f"e.g. with verl: python -m verl.model_merger merge --backend fsdp "
                f"--local_dir {place} --target_dir {place}/huggingface"
            )
    if not (folder / "config.json").is_file():
        raise ConfigError(f"config error: {where}: {folder} holds no config.json (not a model folder)")
    try:
        json.loads((folder / "config.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            f"config error: {where}: {folder / 'config.json'} is not valid JSON ({exc}); "
            "cut short while being written?"
        ) from None
    if not has_weights:
        raise ConfigError(
            f"config error: {where}: {folder} holds a config.json but no weights (*.safetensors or *.bin)"
        )


def sweep_checkpoints(entry: dict, where: str) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint a sweep entry finds now, by step."""
    sweep = entry["sweep"]
    pattern = str(Path(sweep["glob"]).expanduser())
    step_re = sweep["step"]
    try:
        step_pattern = re.compile(step_re)
    except re.error as exc:
        raise ConfigError(f"config error: {where}.sweep.step: not a regex ({exc})") from None
    if step_pattern.groups < 1:
        raise ConfigError(f"config error: {where}.sweep.step: {step_re!r} needs a group around the step")
    found: dict[int, Path] = {}
    for match in sorted(glob.glob(pattern)):
        folder = Path(match)
        if folder.is_symlink() and not folder.exists():
            raise ConfigError(
                f"config error: {where}.sweep.glob: {folder} is a symbolic link that loops or leads nowhere"
            )
        if not folder.is_dir():
            continue
        hit = step_pattern.search(str(folder))
        if not hit or not hit.group(1).isdigit():
            raise ConfigError(
                f"config error: {where}.sweep.step: {step_re!r} finds no step number in {folder}"
            )
        step = int(hit.group(1))
        if step in found:
            raise ConfigError(
                f"config error: {where}.sweep: step {step} is both {found[step]} and {folder}; "
                "narrow `glob` or `step`"
            )
        found[step] = folder
    if not found:
        raise ConfigError(f"config error: {where}.sweep.glob: no folder matches {sweep['glob']!r} yet")
    keep = sorted(found)
    if sweep.get("every"):
        keep = [s for s in keep if s % sweep["every"] == 0]
    if sweep.get("steps"):
        keep = [s for s in keep if s in set(sweep["steps"])]
    if not keep:
        raise ConfigError(
            f"config error: {where}.sweep: none of the steps found ({', '.join(map(str, sorted(found)))}) "
            "is kept by `every` / `steps`"
        )
    return [(s, found[s]) for s in keep]


def expand_sweeps(entries: list[dict], key: str = "models") -> tuple[list[tuple[str, dict]], list[str]]:
    """(where, entry) for every model: a sweep entry becomes one path entry per
    checkpoint, aliased ``<name>-step<step>`` with its step and run; and a line for
    each checkpoint left for a later call because it is still being written (a file
    changed under ``settle_seconds`` ago, or weights not all there)."""
    now = time.time()
    out, waiting = [], []
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        if "sweep" not in entry:
            out.append((where, entry))
            continue
        other = [k for k in MODEL_SOURCES if k in entry]
        if other:
            raise ConfigError(f"config error: {where}: a sweep entry takes no {other[0]!r}")
        for k in ("step", "revision"):
            if k in entry:
                raise ConfigError(f"config error: {where}.{k}: a sweep finds each checkpoint's {k} itself")
        if not entry.get("name"):
            raise ConfigError(
                f"config error: {where}.name: a sweep needs a name (aliases are <name>-step<N>)"
            )
        run = entry["sweep"].get("run") or entry["name"]
        settle = entry["sweep"]["settle_seconds"]
        kept = 0
        for step, folder in sweep_checkpoints(entry, where):
            age = now - _last_change(folder, f"{where}.sweep, step {step}")
            if age < settle:
                reason = f"changed {max(age, 0):.0f} s ago (sweep.settle_seconds: {settle})"
            else:
                _check_loadable(folder, f"{where}.sweep, step {step}")
                reason = unfinished_weights(folder)
            if reason:
                waiting.append(f"{where}.sweep, step {step}: {folder} is still being written? {reason}")
                continue
            expanded = {k: v for k, v in entry.items() if k != "sweep"}
            expanded.update(name=f"{entry['name']}-step{step}", path=str(folder), step=step, run=run)
            out.append((f"{where}.sweep (step {step})", expanded))
            kept += 1
        if not kept:
            raise ConfigError(
                f"config error: {where}.sweep: no checkpoint is finished yet "
                f"(step {step}: {folder}: {reason})"
            )
    return out, waiting


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
        check_weights_folder(path, f"{where}.path")
    tiny = None
    if source == "tiny":
        tiny = {"kind": "random", "seed": 0, "corpus": [], **entry["tiny"]}
        tiny["corpus"] = [str(c) for c in tiny["corpus"]]
    imported = None
    if source == "import":
        imported = _imported(entry["import"], f"{where}.import")
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


def _imported(section: dict, where: str) -> dict:
    """An import's files (a list per benchmark, each checked), its format (``auto``
    resolved now, from the first file's fields, so that params name the real one) and
    its reader options."""
    from justeval.io.parquet import DataError
    from justeval.sources.released.registry import detect

    files = {}
    for bench, paths in section["files"].items():
        paths = [paths] if isinstance(paths, str) else list(paths)
        for path in paths:
            if not Path(path).expanduser().is_file():
                raise ConfigError(f"config error: {where}.files.{bench}: no such file: {path}")
        files[bench] = [str(Path(p).expanduser()) for p in paths]
    fmt = section.get("format", "auto")
    if fmt == "auto":
        found = {}
        for bench, paths in files.items():
            try:
                found[bench] = detect(paths[0])
            except DataError as exc:
                raise ConfigError(f"config error: {where}.files.{bench}: {exc}") from None
        if len(set(found.values())) > 1:
            raise ConfigError(
                f"config error: {where}.files: files of different formats {found}: name `format`"
            )
        fmt = next(iter(found.values()))
    out = {"format": fmt, "files": files, "options": dict(section.get("options") or {})}
    if section.get("tokenizer"):
        out["tokenizer"] = section["tokenizer"]
    return out
