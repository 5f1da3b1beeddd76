"""Engine arguments: the same code path for GPU and CPU hosts."""

from __future__ import annotations

import pytest

from justeval.engine.vllm_engine import engine_kwargs


def test_gpu_defaults():
    kw = engine_kwargs("/m", dtype="auto", max_model_len=None, seed=0, options={}, cpu=False)
    assert kw["gpu_memory_utilization"] == 0.9
    assert kw["enforce_eager"] is False
    assert "enable_chunked_prefill" not in kw and "max_model_len" not in kw


def test_cpu_settings():
    options = {"gpu_memory_utilization": None, "enforce_eager": False, "max_num_seqs": 8, "extra": {}}
    kw = engine_kwargs("/m", dtype="auto", max_model_len=4096, seed=3, options=options, cpu=True)
    assert kw["gpu_memory_utilization"] == 0.2
    assert kw["enable_chunked_prefill"] is False  # seeded chunked prefill crashes the CPU engine
    assert kw["enforce_eager"] is True
    assert (kw["max_num_seqs"], kw["max_model_len"], kw["seed"]) == (8, 4096, 3)


def test_explicit_options_and_extra():
    options = {"gpu_memory_utilization": 0.5, "tensor_parallel_size": 2, "extra": {"swap_space": 8}}
    kw = engine_kwargs("/m", dtype="bfloat16", max_model_len=None, seed=0, options=options, cpu=False)
    assert (kw["gpu_memory_utilization"], kw["tensor_parallel_size"], kw["swap_space"]) == (0.5, 2, 8)
    assert kw["dtype"] == "bfloat16"


@pytest.mark.parametrize(
    ("option", "cpu", "expected"),
    [(None, True, "0"), (None, False, "1"), (False, True, "1"), (True, False, "0")],
)
def test_where_the_engine_core_runs(monkeypatch, option, cpu, expected):
    from justeval.engine.vllm_engine import MULTIPROCESSING_ENV, engine_process_env

    monkeypatch.delenv(MULTIPROCESSING_ENV, raising=False)
    assert engine_process_env({"in_process": option}, cpu=cpu) == {MULTIPROCESSING_ENV: expected}
    monkeypatch.setenv(MULTIPROCESSING_ENV, "1")  # what the user exported wins
    assert engine_process_env({"in_process": option}, cpu=cpu) == {}


def test_a_full_disk_is_said_before_the_engine_starts(tmp_path):
    """A real 1 MB filesystem filled to the brim, when this machine lets us mount one;
    otherwise a threshold above the real free space (the same code path)."""
    import subprocess

    from justeval.engine.vllm_engine import (
        EngineError,
        _is_no_space,
        _no_space_message,
        load_engine,
        low_disk,
    )

    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)]).returncode == 0
    try:
        if mounted:
            (folder / "filler").write_bytes(b"x" * (1 << 20) * 1)
        low = low_disk([str(folder / "cache" / "vllm")], min_free=(64 << 20) if mounted else 1 << 62)
        assert [f for f, _ in low] == [str(folder / "cache" / "vllm")]
        message = _no_space_message(low)
        assert message.startswith(f"no space left on device: {folder / 'cache' / 'vllm'} (")
        if mounted:
            import os

            cwd = os.getcwd()
            os.chdir(folder)
            try:
                with pytest.raises(EngineError, match=f"no space left on device: {folder}"):
                    load_engine("/no/model", dtype="auto", max_model_len=None, seed=0, options={})
            finally:
                os.chdir(cwd)
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)])
    assert _is_no_space(RuntimeError("Engine core initialization failed")) is False
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as inner:
            raise RuntimeError("Engine core initialization failed") from inner
    except RuntimeError as exc:
        assert _is_no_space(exc)


def test_what_decides_a_sample_is_pinned():
    """generate's code is not in its rule's code hash (a refactor of the request path
    must never resample; see justeval/config/code_versions.py), so what it decides is pinned here:
    changing the seed derivation or the prompt construction fails this test instead of
    silently leaving stale samples."""
    import hashlib

    from justeval.engine.vllm_engine import sampling_fields
    from justeval.stages.generate import sample_seed, user_message

    assert [sample_seed(0, i) for i in range(4)] == [238297712, 804451996, 518706488, 1406473740]
    digest = hashlib.sha256(b"justeval-seed:7:31").digest()
    assert sample_seed(7, 31) == int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
    template = "{problem} Please reason step by step, and put your final answer within \\boxed{}."
    assert user_message(template, "  What is 1+1?\n") == (
        "What is 1+1? Please reason step by step, and put your final answer within \\boxed{}."
    )
    fields = sampling_fields({"temperature": 0.7, "top_p": 0.9, "top_k": None, "max_tokens": 64}, 5)
    assert fields["seed"] == 5 and fields["temperature"] == 0.7 and fields["top_p"] == 0.9
    assert fields["max_tokens"] == 64


def test_a_tiny_models_files_get_the_users_permissions(tmp_path):
    """The weights' writer leaves its file 0600; every file of a built model gets what the
    user's umask gives (0644 under 022), as the pipeline's other outputs do."""
    import os

    from justeval.engine.tiny import build_tiny_model

    before = os.umask(0o022)
    try:
        folder = build_tiny_model(tmp_path / "m", "random", ["a b c", "d e f"], seed=0)
    finally:
        os.umask(before)
    modes = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir() if p.is_file()}
    assert "model.safetensors" in modes
    assert set(modes.values()) == {0o644}, modes
