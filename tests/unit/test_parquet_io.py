"""Atomic writes: never half-written, and readable by whom the user's umask says."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from justeval.io.parquet import atomic_path, write_parquet, write_text_atomic
from justeval.stages.plots import pass_at_k_plot


@pytest.fixture
def umask():
    old = os.umask(0o022)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_get_the_umask_permissions(tmp_path, umask, mask, mode):
    umask(mask)
    parquet, text, svg = tmp_path / "a.parquet", tmp_path / "a.md", tmp_path / "p.svg"
    write_parquet(pd.DataFrame({"x": [1]}), parquet)
    write_text_atomic(text, "hello\n")
    metrics = tmp_path / "m.parquet"
    pd.DataFrame([{"model": "m", "benchmark": "B", "variant": "main", "pass@1": 50.0}]).to_parquet(metrics)
    pass_at_k_plot([str(metrics)], "B", [str(svg)], "main")
    for path in (parquet, text, svg):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []
