"""A problem longer than the model's context is said before any engine loads: it failed
the whole shard after the engine had loaded. Checked on a tiny model's real tokenizer,
and as a whole `python -m justeval generate` process."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT
from justeval.engine.tiny import build_tiny_model
from justeval.engine.vllm_engine import chat_prompt_ids, context_length, too_long_prompts
from justeval.io.parquet import write_parquet
from justeval.io.schemas import BENCHMARK
from justeval.sources.models import manifest_for, write_manifest


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny") / "m", "random", ["one two three", "x y z"], seed=0
    )


def test_the_context_is_the_configs_or_the_models(model):
    assert context_length(str(model), 512) == 512
    assert (
        context_length(str(model), None)
        == json.loads((model / "config.json").read_text())["max_position_embeddings"]
    )


def test_prompts_that_fill_the_context_are_named_with_their_length(model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    short, long = "What is 1+1?", "two " * 400
    n_long = len(chat_prompt_ids(tokenizer, long))
    assert too_long_prompts(str(model), {"p1": short, "p2": long}, max_model_len=n_long + 1) == []
    assert too_long_prompts(str(model), {"p1": short, "p2": long}, max_model_len=n_long) == [
        f"p2 ({n_long:,} tokens)"
    ]


def test_a_shard_with_a_too_long_problem_fails_before_the_engine_loads(model, tmp_path):
    bench = tmp_path / "LONG.parquet"
    frame = pd.DataFrame(
        {
            "problem_id": ["LONG-0", "LONG-1"],
            "problem": ["What is 1+1?", "Count: " + "one two three " * 200],
            "answer": ["2", "3"],
            "answer_raw": ["2", "3"],
            "source_row": [0, 1],
        }
    )
    write_parquet(frame, bench, BENCHMARK, {"benchmark": "LONG"})
    manifest = tmp_path / "manifest.json"
    write_manifest(manifest_for(model, {"tiny": {}}, source="tiny"), manifest)
    settings = {
        "model": {"tiny": {}}, "prompt": "{problem}", "temperature": 0.7, "top_p": 0.9, "top_k": None,
        "max_tokens": 8, "base_seed": 0, "dtype": "auto", "max_model_len": 256,
    }  # fmt: skip
    out = tmp_path / "shard-0.parquet"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "justeval", "generate", "--benchmark", str(bench), "--model-manifest",
         str(manifest), "--model", "tiny", "--shard", "0", "--shard-settings",
         json.dumps({"settings": settings, "samples": [0, 1]}), "--output", str(out),
         "--log", str(tmp_path / "log.txt")],
        env={"PYTHONPATH": str(ROOT / "workflow"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith(
        "justeval generate: error: LONG: 1 problem(s) longer than the model's context (LONG-1 ("
    )
    assert "raise generation.max_model_len" in line
    log = (tmp_path / "log.txt").read_text()
    assert "Initializing" not in log and "vllm" not in log.lower()  # no engine was started
    assert elapsed < 60 and not out.exists()
