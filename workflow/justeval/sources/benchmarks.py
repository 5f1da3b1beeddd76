"""Benchmarks: read a source file in either layout into the canonical table.

Two layouts are recognised (both appear in JustRL's data folder):

verl
    ``prompt`` (a list of chat messages; the problem is ``prompt[0].content``),
    ``reward_model.ground_truth`` (the gold answer, sometimes in ``\\boxed{}``)
    and ``extra_info.index`` (the problem id).
MathArena
    ``problem_idx``, ``problem`` and ``answer``.
Qwen2.5-Math harness outputs
    ``question`` and ``gt`` (and ``idx``): an output file that brings its own
    problems, for grade-only runs.

Sources are Parquet or JSON-lines files, given as a local path or a URL.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from justeval.grading.extract import last_boxed
from justeval.io.hashing import canonical_json, sha256_text
from justeval.io.retry import with_retries
from justeval.io.schemas import BENCHMARK
from justeval.sources.locations import BenchmarkError, is_url

log = logging.getLogger(__name__)

DOWNLOAD_ATTEMPTS = 4


# ---------------------------------------------------------------- reading


def fetch(
    source: str, attempts: int = DOWNLOAD_ATTEMPTS, timeout: float = 60.0, backoff: float = 2.0
) -> bytes:
    """The bytes of a local file or URL (URLs are retried with exponential backoff)."""
    if not is_url(source):
        path = Path(source.removeprefix("file://")).expanduser()
        if not path.is_file():
            raise BenchmarkError(f"{source}: no such file")
        return path.read_bytes()

    def download() -> bytes:
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code not in (408, 429):  # permanent: no retry
                raise BenchmarkError(f"{source}: download failed: {exc}") from None
            raise

    return with_retries(
        download,
        attempts=attempts,
        transient=(OSError,),
        wait=lambda n: backoff**n,
        label=f"download of {source}",
        give_up=lambda exc, n: BenchmarkError(f"{source}: download failed after {n} attempts: {exc}"),
    )


def _read_table(data: bytes, label: str) -> pa.Table:
    name = label.lower().split("?")[0]
    try:
        if name.endswith((".jsonl", ".json")):
            # records end at "\n" only: str.splitlines() also cuts at U+2028, U+0085,
            # form feeds..., which JSON may hold unescaped inside a string
            rows = [json.loads(line) for line in data.decode("utf-8").split("\n") if line.strip()]
            return pa.Table.from_pylist(rows)
        return pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise BenchmarkError(f"{label}: cannot read as Parquet or JSON lines ({exc})") from None


def _layout(columns: list[str], label: str) -> str:
    if "question" in columns and "gt" in columns:
        return "qwen"
    if "example_id" in columns and "response" in columns:
        return "justrl"  # JustRL's output files: a problem's lines are its samples
    if "prompt" in columns or "reward_model" in columns:
        return "verl"
    if "problem" in columns or "problem_idx" in columns:
        return "matharena"
    raise BenchmarkError(
        f"{label}: unknown layout: expected columns 'prompt', 'reward_model' (verl), "
        f"'problem_idx', 'problem', 'answer' (MathArena) or 'example_id', 'prompt', 'answer', "
        f"'response' (JustRL's outputs); found {columns}"
    )


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def _require_columns(columns: list[str], needed: list[str], label: str) -> None:
    for col in needed:
        if col not in columns:
            raise BenchmarkError(f"{label}: missing column '{col}' (layout needs {needed})")


def _verl_rows(records: list[dict], name: str, label: str):
    for row, rec in enumerate(records):
        prompt = rec.get("prompt")
        if prompt is None or len(prompt) == 0 or not isinstance(prompt[0], dict):
            raise BenchmarkError(f"{label}: row {row} column 'prompt': no chat message")
        problem = _text(prompt[0].get("content"))
        reward = rec.get("reward_model")
        if not isinstance(reward, dict) or "ground_truth" not in reward:
            raise BenchmarkError(f"{label}: row {row} column 'reward_model.ground_truth': missing")
        extra = rec.get("extra_info") if isinstance(rec.get("extra_info"), dict) else {}
        pid = _text(extra.get("index")) or f"{name}-{row}"
        yield (
            row,
            pid,
            problem,
            _text(reward.get("ground_truth")),
            "prompt[0].content",
            "reward_model.ground_truth",
        )


def _matharena_rows(records: list[dict], name: str, label: str):
    for row, rec in enumerate(records):
        idx = _text(rec.get("problem_idx"))
        pid = f"{name}-{idx}" if idx is not None else f"{name}-{row}"
        yield row, pid, _text(rec.get("problem")), _text(rec.get("answer")), "problem", "answer"


def _qwen_rows(records: list[dict], name: str, label: str):
    for row, rec in enumerate(records):
        idx = _text(rec.get("idx"))
        pid = f"{name}-{idx}" if idx is not None else f"{name}-{row}"
        yield row, pid, _text(rec.get("question")), _text(rec.get("gt")), "question", "gt"


def _justrl_rows(records: list[dict], name: str, label: str):
    """One problem per distinct example_id (first line first): its prompt and gold must
    be the same on every line of the problem."""
    first: dict[str, tuple[int, str | None, str | None]] = {}
    for row, rec in enumerate(records):
        pid = problem_id_of("justrl", name, row, rec)
        problem, answer = _text(rec.get("prompt")), _text(rec.get("answer"))
        if pid not in first:
            first[pid] = (row, problem, answer)
            yield row, pid, problem, answer, "prompt", "answer"
        elif first[pid][1:] != (problem, answer):
            raise BenchmarkError(
                f"{label}: row {row}: example_id {rec.get('example_id')!r} has another prompt or answer "
                f"than on row {first[pid][0]}"
            )


def problem_id_of(layout: str, name: str, row: int, record: dict) -> str:
    """The problem id a source row gets (used again when importing outputs)."""
    if layout == "justrl":
        example = _text(record.get("example_id"))
        if example is None:
            raise BenchmarkError(f"row {row} column 'example_id': missing")
        return f"{name}-{example}" if example.isdigit() else example
    key = {"verl": None, "matharena": "problem_idx", "qwen": "idx"}[layout]
    if layout == "verl":
        extra = record.get("extra_info") if isinstance(record.get("extra_info"), dict) else {}
        return _text(extra.get("index")) or f"{name}-{row}"
    value = _text(record.get(key))
    return f"{name}-{value}" if value is not None else f"{name}-{row}"


def unwrap_gold(raw: str) -> str:
    """The gold final answer: ``\\boxed{}`` and surrounding ``$`` removed."""
    answer = raw.strip()
    if "\\boxed" in answer or "\\fbox" in answer:
        answer = last_boxed(answer) or ""  # an empty or unclosed box holds no answer
    while len(answer) >= 2 and answer.startswith("$") and answer.endswith("$"):
        answer = answer[1:-1].strip()
    return answer


def canonical_frame(table: pa.Table, name: str, label: str) -> tuple[pd.DataFrame, str]:
    """The canonical rows of a source table, and its layout (raises BenchmarkError)."""
    columns = table.column_names
    layout = _layout(columns, label)
    if layout == "verl":
        _require_columns(columns, ["prompt", "reward_model"], label)
        rows = _verl_rows(table.to_pylist(), name, label)
    elif layout == "qwen":
        rows = _qwen_rows(table.to_pylist(), name, label)
    elif layout == "justrl":
        _require_columns(columns, ["prompt", "answer"], label)
        rows = _justrl_rows(table.to_pylist(), name, label)
    else:
        _require_columns(columns, ["problem", "answer"], label)
        rows = _matharena_rows(table.to_pylist(), name, label)
    out, seen = [], {}
    for row, pid, problem, raw, problem_col, answer_col in rows:
        if problem is None or not problem.strip():
            raise BenchmarkError(f"{label}: row {row} column '{problem_col}': empty problem")
        if raw is None or not raw.strip():
            raise BenchmarkError(f"{label}: row {row} column '{answer_col}': empty answer")
        answer = unwrap_gold(raw)
        if not answer:
            raise BenchmarkError(
                f"{label}: row {row} column '{answer_col}': empty answer after unwrapping {raw!r}"
            )
        if pid in seen:
            raise BenchmarkError(f"{label}: row {row}: problem id {pid!r} repeats row {seen[pid]}")
        seen[pid] = row
        out.append(
            {
                "problem_id": pid,
                "problem": problem.strip(),
                "answer": answer,
                "answer_raw": raw,
                "source_row": row,
            }
        )
    if not out:
        raise BenchmarkError(f"{label}: no problems")
    return pd.DataFrame(out, columns=BENCHMARK.names), layout


def content_hash(frame: pd.DataFrame) -> str:
    """Hash of what the pipeline uses of a benchmark: ids, problems, answers."""
    rows = frame[["problem_id", "problem", "answer"]].to_dict("records")
    return sha256_text(canonical_json(rows))


def prepare(name: str, source: str, limit: int | None, sha256: str | None) -> tuple[pd.DataFrame, dict]:
    """Read ``source`` and return the canonical frame and its metadata."""
    data = fetch(source)
    file_hash = hashlib.sha256(data).hexdigest()
    if sha256 is not None and file_hash != sha256:
        raise BenchmarkError(f"{source}: sha256 is {file_hash}, config expects {sha256} (a different file?)")
    frame, layout = canonical_frame(_read_table(data, source), name, source)
    total = len(frame)
    if limit is not None:
        frame = frame.iloc[:limit].reset_index(drop=True)
    metadata = {
        "benchmark": name,
        "source": source,
        "source_sha256": file_hash,
        "layout": layout,
        "problems_in_source": total,
        "limit": limit,
        "content_sha256": content_hash(frame),
    }
    return frame, metadata


def problem_texts(path: str | Path) -> list[str]:
    """Problem statements of a benchmark file, or the lines of a text file.

    Used to train the tokenizers of tiny test models.
    """
    path = Path(path)
    if path.suffix in (".txt", ".md"):
        return path.read_text(errors="replace").splitlines()
    label = str(path)
    frame, _ = canonical_frame(_read_table(fetch(label), label), path.parent.name, label)
    return frame["problem"].tolist()
