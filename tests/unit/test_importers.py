"""Imported outputs: token counts from a tokenizer the user names, offline."""

from __future__ import annotations

import pytest

from conftest import BENCHMARKS, corpus_texts
from justeval.engine.tiny import train_tokenizer
from justeval.io.parquet import DataError, read_parquet, write_parquet
from justeval.io.schemas import BENCHMARK
from justeval.sources.benchmarks import prepare
from justeval.stages.import_generations import count_tokens, import_generations

SATURN = BENCHMARKS.parent / "real-outputs" / "saturn-r1-distill" / "Saturn-7B__aime24.jsonl"


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenizer")
    train_tokenizer(corpus_texts()).save_pretrained(folder)
    return folder


def test_token_counts_come_from_the_named_tokenizer(tmp_path, tokenizer_dir):
    frame, meta = prepare("AIME24", str(SATURN), None, None)
    bench = tmp_path / "AIME24.parquet"
    write_parquet(frame, bench, BENCHMARK, meta)
    out = tmp_path / "shard-0.parquet"
    settings = {"format": "justrl", "tokenizer": str(tokenizer_dir)}
    files = {"imported": str(tmp_path / "imported.parquet"), "report_out": str(tmp_path / "imported.md")}
    import_generations(
        sources=[str(SATURN)],
        output=str(out),
        benchmark=str(bench),
        model="saturn-7b",
        settings=settings,
        **files,
    )
    gens = read_parquet(out)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    expected = [len(tok(r, add_special_tokens=False)["input_ids"]) for r in gens["response"]]
    assert gens["completion_tokens"].tolist() == expected
    assert all(c > 100 for c in expected)  # long R1-style responses
    # without a tokenizer nothing is made up: the counts stay empty
    settings = {**settings, "tokenizer": None}
    import_generations(
        sources=[str(SATURN)],
        output=str(out),
        benchmark=str(bench),
        model="saturn-7b",
        settings=settings,
        **files,
    )
    assert read_parquet(out)["completion_tokens"].isna().all()


def test_an_unloadable_tokenizer_is_one_error(tmp_path):
    with pytest.raises(DataError, match="import.tokenizer: cannot load"):
        count_tokens(["x"], str(tmp_path / "no-such-tokenizer"))
    assert count_tokens(["x"], None) is None
