"""Engine arguments: the same code path for GPU and CPU hosts."""

from __future__ import annotations

from justeval.engine import engine_kwargs


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
