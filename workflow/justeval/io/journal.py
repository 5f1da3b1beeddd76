"""An append-only journal of finished samples, so a killed shard resumes.

Snakemake deletes a job's declared outputs before the job runs, so the journal
lives beside the output under a name Snakemake does not know
(``.shard-3.parquet.journal.jsonl``). Each finished sample is one JSON line,
flushed at once; a line cut short by a kill is dropped on the next start. When
the shard is complete the Parquet file is written atomically and the journal
removed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

SYNC_EVERY = 5.0  # seconds between fsyncs (a killed process loses nothing; a power cut loses this much)


def journal_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f".{output.name}.journal.jsonl")


class Journal:
    def __init__(self, path: str | Path, identity: dict):
        """``identity`` (the shard's settings) is the first line: a journal written
        under other settings is not resumed from, it is started again."""
        self.path = Path(path)
        self.identity = identity
        self.rows: dict[tuple[str, int], dict] = {}
        self._load()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        self.fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (held open while the shard runs)
        if fresh:
            self._write({"journal": identity})
        self.last_sync = time.monotonic()

    def _load(self) -> None:
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        keep = 0  # bytes of complete, parseable lines
        header = None
        for i, line in enumerate(lines):
            if not line:
                if i < len(lines) - 1:
                    keep += 1
                continue
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("journal %s: dropping a line cut short by a kill", self.path)
                break
            if i == len(lines) - 1:  # a final line without newline: written only partly
                log.warning("journal %s: dropping an unterminated last line", self.path)
                break
            keep += len(line) + 1
            if header is None:
                header = record.get("journal")
                if header != self.identity:
                    log.warning("journal %s was written under other settings: starting over", self.path)
                    self.path.unlink()
                    self.rows = {}
                    return
                continue
            self.rows[(record["problem_id"], int(record["sample_idx"]))] = record
        if keep != len(raw):
            with open(self.path, "r+b") as fh:
                fh.truncate(keep)
        if header is None:
            self.path.unlink(missing_ok=True)
        else:
            log.info("journal %s: resuming with %d finished samples", self.path, len(self.rows))

    def _write(self, record: dict) -> None:
        self.fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        self.fh.flush()

    def add(self, record: dict) -> None:
        self.rows[(record["problem_id"], int(record["sample_idx"]))] = record
        self._write(record)
        if time.monotonic() - self.last_sync > SYNC_EVERY:
            os.fsync(self.fh.fileno())
            self.last_sync = time.monotonic()

    def done(self, key: tuple[str, int]) -> bool:
        return key in self.rows

    def close(self) -> None:
        self.fh.close()

    def remove(self) -> None:
        self.fh.close()
        self.path.unlink(missing_ok=True)
