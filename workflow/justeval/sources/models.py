"""Models: resolve hub, local and tiny models into a manifest file.

The manifest (JSON) records where the weights are, which revision they come
from and the SHA-256 of every file. Generation depends on the manifest, not on
the model folder, so a re-download does not invalidate samples.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from justeval.io.hashing import canonical_json, sha256_file, sha256_text
from justeval.io.parquet import write_text_atomic
from justeval.io.retry import with_retries

log = logging.getLogger(__name__)

# Files a model needs to run: weights, configs, tokenizer and chat template.
HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]


class ModelError(RuntimeError):
    """A model that cannot be resolved (not on the hub, not in the cache, ...)."""


def file_hashes(folder: Path, known: dict[str, dict] | None = None) -> dict[str, dict]:
    """SHA-256 and size of every file under ``folder`` (following hub-cache links).

    ``known`` (relative path -> {"sha256", "size", "mtime_ns"}) is trusted for
    files whose size and mtime still match it; only the others are read.
    """
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    known = known or {}
    out = {}
    for i, path in enumerate(files, 1):
        st = path.stat()
        name = str(path.relative_to(folder))
        old = known.get(name)
        if old and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
            digest = old["sha256"]
        else:
            log.info("hashing %d/%d %s (%.1f MB)", i, len(files), path.name, st.st_size / 1e6)
            digest = sha256_file(path)
        out[name] = {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return out


def weights_digest(files: dict[str, dict]) -> str:
    """One hash of a folder's files (names and contents; not their times)."""
    return sha256_text(canonical_json({k: v["sha256"] for k, v in files.items()}))


def folder_fingerprint(folder: Path, cache_file: Path) -> tuple[str | None, list[str]]:
    """The content hash of a local model folder, and the files whose content changed
    since ``cache_file`` recorded them. Only files whose size or mtime changed are
    read again. (None, []) if the folder is gone: the config check reports that."""
    if not folder.is_dir():
        return None, []
    try:
        known = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        known = {}
    files = file_hashes(folder.resolve(), known)
    changed = []
    if files != known:
        if known:
            changed = sorted(
                k
                for k in files.keys() | known.keys()
                if (files.get(k) or {}).get("sha256") != (known.get(k) or {}).get("sha256")
            )
        write_text_atomic(cache_file, json.dumps(files, indent=1, sort_keys=True) + "\n")
    return weights_digest(files), changed


def manifest_for(folder: Path, identity: dict, **extra) -> dict:
    folder = folder.resolve()
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder}: no config.json; not a model folder")
    files = {k: {"sha256": v["sha256"], "size": v["size"]} for k, v in file_hashes(folder).items()}
    if not any(name.endswith((".safetensors", ".bin")) for name in files):
        raise ModelError(f"{folder}: no weight files (*.safetensors or *.bin)")
    return {
        "identity": identity,
        "path": project_relative(folder),
        **extra,
        "files": files,
        "weights_sha256": weights_digest(files),
    }


def project_relative(folder: Path) -> str:
    """A folder inside the working directory as a relative path (a finished run can be
    moved or copied), any other as an absolute one."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder.resolve())


def fetch_hub(repo: str, revision: str, cache_dir: str | None, attempts: int = 4) -> Path:
    """Download (or find in the cache, when HF_HUB_OFFLINE=1) a hub snapshot.

    Transient failures are retried with backoff; huggingface_hub resumes
    partial files. Missing repos, revisions and offline cache misses fail once.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    log.info("resolving %s@%s (cache: %s, offline: %s)", repo, revision, cache_dir or "default", offline)

    def download() -> Path:
        try:
            return Path(
                snapshot_download(
                    repo_id=repo, revision=revision, cache_dir=cache_dir or None, allow_patterns=HUB_PATTERNS
                )
            )
        except LocalEntryNotFoundError:
            where = cache_dir or "the Hugging Face cache"
            raise ModelError(
                f"{repo}@{revision}: not in {where} and downloads are off (HF_HUB_OFFLINE=1) "
                "or the hub is unreachable"
            ) from None
        except RepositoryNotFoundError:
            raise ModelError(
                f"{repo}: no such repository on the hub, or it is private or gated (set HF_TOKEN)"
            ) from None
        except RevisionNotFoundError:
            raise ModelError(f"{repo}: no revision {revision!r} on the hub") from None

    return with_retries(
        download,
        attempts=attempts,
        transient=(HfHubHTTPError, OSError),
        wait=lambda n: 2.0**n,
        label=f"download of {repo}",
        give_up=lambda exc, n: ModelError(f"{repo}@{revision}: download failed {n} times: {exc}"),
    )


def download_model(identity: dict, hub_cache: str | None) -> dict:
    """The manifest of a hub or local model."""
    if "hub" in identity:
        folder = fetch_hub(identity["hub"], identity["revision"], hub_cache)
        # hub snapshots live in snapshots/<commit>/: the resolved revision
        return manifest_for(folder, identity, source="hub", resolved_revision=folder.name)
    if "path" in identity:
        folder = Path(identity["path"]).expanduser()
        if not folder.is_dir():
            raise ModelError(f"{identity['path']}: no such model folder")
        return manifest_for(folder, identity, source="path", resolved_revision=None)
    raise ModelError(f"download_model cannot fetch {identity}; tiny models are built by build_tiny_model")


def write_manifest(manifest: dict, path: str | Path) -> None:
    write_text_atomic(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def load_manifest(path: str | Path) -> dict:
    with open(path) as fh:
        manifest = json.load(fh)
    if not Path(manifest["path"]).is_dir():
        raise ModelError(
            f"{path}: model folder {manifest['path']} is gone; rerun with --forcerun download_model"
        )
    return manifest
