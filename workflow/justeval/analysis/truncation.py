"""The truncation ledger: which samples the length limit cut, and whether each was cut
inside a loop or while it was still going somewhere.

A sample cut by the length limit (``finish_reason == "length"``) is a **loop** when its
text ends in an exact repetition: some period of ``p`` characters, ``1 <= p <= P``, such
that the last ``L`` characters of the text have period ``p`` (each character equals the
one ``p`` places later), with ``L >= R * p`` (at least ``R`` copies' worth) and
``L >= C`` (enough text that it is not a run of dots or digits). Otherwise it is
**open**: still progressing when it was cut. The last copy may be cut anywhere: a text
that stops mid-copy still has the period.

The test is exact and positional, found with the Z-function of the reversed text:
``z[p]``, the length of the longest common prefix of the reversed text and the reversed
text shifted by ``p``, makes the longest suffix with period ``p`` ``p + z[p]`` characters
long. Computing ``z`` for ``p = 1..P`` only costs ``O(P + L)``: a loop is read once, an
open tail in about ``P`` steps; and most texts are let go sooner, by one search for their
last few characters in the ``P`` before them (a loop repeats them). No phrase, language
or tokenizer is assumed. Texts that change as they go (a list counting up, a table whose
rows differ by numbers, a loop whose every copy increments a counter) are not periodic,
so they are open; that is the definition, not a miss.

When several periods qualify, the loop is the one covering the most characters (the
smallest period among equals: the unit written once, not twice).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from justeval.grading.extract import last_boxed
from justeval.io.parquet import DataError

LOOP = "loop"
OPEN = "open"
STOP = "stop"
LENGTH = "length"

SETTING_KEYS = {
    "loop_max_period": "max_period",
    "loop_min_repeats": "min_repeats",
    "loop_min_chars": "min_chars",
}


@dataclass(frozen=True)
class LoopRule:
    """What counts as a loop at the end of a text."""

    max_period: int  # P: the longest period looked for, in characters
    min_repeats: float  # R: the periodic tail is at least R periods long
    min_chars: int  # C: and at least C characters long

    def __post_init__(self) -> None:
        if self.max_period < 1 or self.min_repeats < 2 or self.min_chars < 1:
            raise ValueError(f"loop rule needs max_period >= 1, min_repeats >= 2, min_chars >= 1: {self}")

    @classmethod
    def from_settings(cls, settings: Mapping) -> LoopRule:
        missing = [k for k in SETTING_KEYS if settings.get(k) is None]
        if missing:
            raise ValueError(f"truncation settings lack {', '.join(missing)}")
        return cls(
            max_period=int(settings["loop_max_period"]),
            min_repeats=float(settings["loop_min_repeats"]),
            min_chars=int(settings["loop_min_chars"]),
        )


@dataclass(frozen=True)
class Loop:
    """The periodic tail of a text: ``text[start:]`` has period ``period``."""

    period: int
    chars: int  # length of the periodic tail
    start: int  # where it starts in the text

    @property
    def repeats(self) -> float:
        return self.chars / self.period

    def unit(self, text: str) -> str:
        """The repeated period, once: its first copy in the tail, turned to start on a new
        line where it holds one (any turn of a period is the same loop)."""
        first = text[self.start : self.start + self.period]
        line = re.search(r"\n(?=[^\n])", first)  # the first line that starts inside it
        shift = line.end() if line else 0
        if 0 < shift < self.period and self.start + shift + self.period <= len(text):
            return text[self.start + shift : self.start + shift + self.period]
        return first


def tail_runs(text: str, max_period: int) -> list[int]:
    """``runs[p]``: the length of the longest suffix of ``text`` with period ``p``, for
    ``p = 1..min(max_period, len(text) - 1)`` (``runs[0]`` is 0).

    The Z-function of the reversed text, computed for the first ``max_period`` shifts
    only: each comparison either extends the rightmost match box or ends a shift."""
    s = text[::-1]
    n = len(s)
    top = max(0, min(max_period, n - 1))
    z = [0] * (top + 1)
    left = right = 0  # s[left:right] matches s[0:right-left], right as far as any match went
    for i in range(1, top + 1):
        k = 0
        if i < right:
            known = z[i - left]
            if known < right - i:
                z[i] = known
                continue
            k = right - i
        while i + k < n and s[k] == s[i + k]:
            k += 1
        z[i] = k
        if i + k > right:
            left, right = i, i + k
    return [0] + [p + z[p] for p in range(1, top + 1)]


def find_loop(text: str | None, rule: LoopRule) -> Loop | None:
    """The loop the text ends in, or None (see the module's docstring)."""
    if not text or len(text) < rule.min_chars or not _may_loop(text, rule):
        return None
    runs = tail_runs(text, rule.max_period)
    best: tuple[int, int] | None = None
    for p in range(1, len(runs)):
        length = runs[p]
        if length >= rule.min_chars and length >= rule.min_repeats * p and (best is None or length > best[0]):
            best = (length, p)
    if best is None:
        return None
    length, period = best
    return Loop(period=period, chars=length, start=len(text) - length)


def _may_loop(text: str, rule: LoopRule) -> bool:
    """A quick necessary condition: in a loop the last ``w`` characters occur again ``p``
    characters earlier (the periodic tail is at least ``p + w`` long: ``L >= C >= 2w``
    covers ``p < w``, ``L >= R p >= p + w`` the rest, as ``R >= 2``). One search in C
    spares the Z-function on most texts."""
    w = max(1, min(16, rule.min_chars // 2))
    n = len(text)
    return text.rfind(text[n - w :], max(0, n - w - rule.max_period), n - 1) != -1


def box_repeats(text: str | None) -> int:
    """How many times the response writes its last box, ``\\boxed{<its content>}``,
    exactly (0 without a box)."""
    content = last_boxed(text)
    if content is None:
        return 0
    return max(1, text.count("\\boxed{" + content + "}"))


# ------------------------------------------------------------------ per sample


CLASS_COLUMNS = ["problem_id", "sample_idx", "tail_loop", "period", "loop_chars", "loop_start", "box_repeats"]


def classify(generations: pd.DataFrame, rule: LoopRule) -> pd.DataFrame:
    """Each generation's tail (loop or not, and the loop's period, length and start)
    and how often it writes its last box; one row per (problem_id, sample_idx)."""
    rows = []
    for pid, idx, text in zip(
        generations["problem_id"], generations["sample_idx"], generations["response"], strict=True
    ):
        loop = find_loop(text, rule)
        rows.append(
            {
                "problem_id": pid,
                "sample_idx": int(idx),
                "tail_loop": loop is not None,
                "period": loop.period if loop else None,
                "loop_chars": loop.chars if loop else None,
                "loop_start": loop.start if loop else None,
                "box_repeats": box_repeats(text),
            }
        )
    frame = pd.DataFrame(rows, columns=CLASS_COLUMNS)
    for column in ("period", "loop_chars", "loop_start"):
        frame[column] = frame[column].astype("Int64")
    dup = frame.duplicated(["problem_id", "sample_idx"])
    if dup.any():
        first = frame.loc[dup, ["problem_id", "sample_idx"]].iloc[0].tolist()
        raise DataError(f"generations: sample {first} appears twice")
    return frame


def join(verdicts: pd.DataFrame, classes: pd.DataFrame | None, label: str) -> pd.DataFrame:
    """The verdicts (correct, finish_reason) with each sample's class; without
    generations (``classes`` None) the class columns are missing values."""
    keep = verdicts[["problem_id", "sample_idx", "correct", "finish_reason"]].copy()
    keep["sample_idx"] = keep["sample_idx"].astype(int)
    if classes is None:
        for column in CLASS_COLUMNS[2:]:
            keep[column] = pd.array([None] * len(keep), dtype="boolean" if column == "tail_loop" else "Int64")
        return keep
    merged = keep.merge(classes, on=["problem_id", "sample_idx"], how="left", indicator=True)
    lost = merged["_merge"] == "left_only"
    if lost.any():
        first = merged.loc[lost, ["problem_id", "sample_idx"]].iloc[0].tolist()
        raise DataError(f"{label}: sample {first} has a verdict but no generation")
    merged = merged.drop(columns="_merge")
    merged["tail_loop"] = merged["tail_loop"].astype("boolean")
    return merged


def ledger_row(merged: pd.DataFrame, rule: LoopRule) -> dict:
    """Counts and accuracies (%) of one (model, benchmark, variant); the loop counts are
    missing values when the generations were not given."""
    finish = merged["finish_reason"].astype(object).fillna("").astype(str).to_numpy()
    correct = merged["correct"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    stop, cut = finish == STOP, finish == LENGTH
    other = ~stop & ~cut

    def accuracy(mask: np.ndarray) -> float:
        return 100 * float(correct[mask].mean()) if mask.any() else math.nan

    row = {
        "samples": len(merged),
        "stop": int(stop.sum()),
        "truncated": int(cut.sum()),
        "other_finish": int(other.sum()),
        "loop": None,
        "open": None,
        "loop_not_truncated": None,
        "repeated_box": None,
        "accuracy": accuracy(np.ones(len(merged), dtype=bool)),
        "accuracy_stop": accuracy(stop),
        "accuracy_truncated": accuracy(cut),
        "accuracy_loop": math.nan,
        "accuracy_open": math.nan,
    }
    if len(merged) and merged["tail_loop"].isna().any():
        return row
    tail = merged["tail_loop"].to_numpy(dtype=bool)
    boxes = merged["box_repeats"].to_numpy(dtype=int)
    row.update(
        loop=int((cut & tail).sum()),
        open=int((cut & ~tail).sum()),
        loop_not_truncated=int((~cut & tail).sum()),
        repeated_box=int((~cut & (boxes >= rule.min_repeats)).sum()),
        accuracy_loop=accuracy(cut & tail),
        accuracy_open=accuracy(cut & ~tail),
    )
    return row


LEDGER_COLUMNS = [
    "model", "benchmark", "variant", "samples", "stop", "truncated", "other_finish", "loop", "open",
    "loop_not_truncated", "repeated_box", "accuracy", "accuracy_stop", "accuracy_truncated",
    "accuracy_loop", "accuracy_open",
]  # fmt: skip


def examples(merged: pd.DataFrame, texts: Mapping[tuple[str, int], str], per_class: int) -> list[dict]:
    """The first ``per_class`` truncated samples of each class, in the verdicts' order:
    problem, sample, verdict, and the loop's period, length and unit."""
    out = []
    if merged["tail_loop"].isna().any():
        return out
    cut = merged[merged["finish_reason"] == LENGTH]
    for name, part in ((LOOP, cut[cut["tail_loop"]]), (OPEN, cut[~cut["tail_loop"]])):
        for row in part.head(per_class).itertuples(index=False):
            text = texts[(row.problem_id, int(row.sample_idx))]
            item = {
                "class": name,
                "problem_id": row.problem_id,
                "sample_idx": int(row.sample_idx),
                "correct": bool(row.correct),
                "text": text,
            }
            if name == LOOP:
                loop = Loop(int(row.period), int(row.loop_chars), int(row.loop_start))
                item.update(loop=loop, unit=loop.unit(text))
            out.append(item)
    return out
