"""Model manifests: hub models from an offline cache, local folders, tiny models."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, corpus_texts, make_hub_cache, snakemake_env
from justeval.engine.tiny import build_tiny_model
from justeval.engine.vllm_engine import chat_prompt_ids
from justeval.io.hashing import sha256_file
from justeval.sources.models import ModelError, download_model


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "justeval", *args],
        cwd=ROOT,
        env=env or snakemake_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_hub_model_resolves_offline_from_cache(tmp_path, hub_cache, tiny_models):
    manifest = tmp_path / "m.json"
    settings = json.dumps({"hub": "justeval-test/tiny-random", "revision": "main"})
    proc = _cli(
        "download-model", "--settings", settings, "--hub-cache", str(hub_cache), "--manifest", str(manifest)
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(manifest.read_text())
    commit = (hub_cache / "models--justeval-test--tiny-random" / "refs" / "main").read_text()
    assert data["resolved_revision"] == commit
    assert data["path"].endswith(f"snapshots/{commit}")
    assert data["source"] == "hub"
    assert data["files"]["model.safetensors"]["sha256"] == sha256_file(
        tiny_models["random"] / "model.safetensors"
    )
    assert set(data["files"]) >= {"config.json", "tokenizer.json", "model.safetensors"}


def test_hub_model_missing_from_offline_cache_is_one_clear_line(tmp_path):
    manifest = tmp_path / "m.json"
    settings = json.dumps({"hub": "nobody/nothing", "revision": "main"})
    proc = _cli(
        "download-model", "--settings", settings, "--hub-cache", str(tmp_path), "--manifest", str(manifest)
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("justeval download-model: error: nobody/nothing@main: not in ")
    assert not manifest.exists()


def test_local_model_manifest(tiny_models):
    data = download_model({"path": str(tiny_models["random2"])}, None)
    assert data["source"] == "path" and data["resolved_revision"] is None
    assert len(data["weights_sha256"]) == 64
    with pytest.raises(ModelError, match="no such model folder"):
        download_model({"path": "/no/such/folder"}, None)


def test_pinned_revision_is_resolved(tmp_path, tiny_models):
    cache = tmp_path / "cache"
    commit = make_hub_cache(cache, "org/pinned", tiny_models["random2"], commit="ab" * 20)
    proc = _cli(
        "download-model",
        "--settings",
        json.dumps({"hub": "org/pinned", "revision": commit}),
        "--hub-cache",
        str(cache),
        "--manifest",
        str(tmp_path / "m.json"),
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "m.json").read_text())["resolved_revision"] == commit


def test_tiny_models_are_deterministic_and_qwen2_head_dim_64(tmp_path):
    texts = corpus_texts()
    a = build_tiny_model(tmp_path / "a", "random", texts, seed=0)
    b = build_tiny_model(tmp_path / "b", "random", texts, seed=0)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert sha256_file(a / name) == sha256_file(b / name), name
    config = json.loads((a / "config.json").read_text())
    assert config["model_type"] == "qwen2"
    assert config["hidden_size"] // config["num_attention_heads"] == 64
    assert (a / "model.safetensors").stat().st_size < 5_000_000


def test_always_a_model_answers_a_greedily(tiny_models):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_models["always_a"])
    model = AutoModelForCausalLM.from_pretrained(tiny_models["always_a"])
    (a_id,) = tok.encode("A", add_special_tokens=False)
    for text in ["What is 1+1?", "Grade this: \\boxed{17}", "x" * 300]:
        ids = torch.tensor([chat_prompt_ids(tok, text)])
        with torch.no_grad():
            logits = model(ids).logits[0, -1]
        assert int(logits.argmax()) == a_id
