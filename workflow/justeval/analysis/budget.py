"""The budget curve: the accuracy a shorter ``max_tokens`` would have given, read from one
run at the largest budget.

With a per-request seed, the engine draws each token of a sample with the same random
numbers whatever ``max_tokens`` is, so the sample drawn with budget B is the first B tokens
of the one drawn with a larger budget, as long as the batch it runs in does not change the
numbers (measured on vLLM-CPU in ``tests/pipeline/test_budget_prefix.py``; docs/analyses.md
says what the batch does). At each budget B:

* a sample of at most B completion tokens is the same sample at B: it keeps its verdict;
* a longer one is **cut**: its text is tokenized again with the model's own tokenizer and
  the first B tokens decoded (a character left incomplete at the cut is dropped, as vLLM's
  detokenizer never shows one); the cut text is graded again by the variant's rule grader,
  and where the variant has a verifier, a cut text the rule grader rejects needs the
  verifier's verdict on the cut text (the full text's verdict does not apply).

Re-tokenizing a text need not give back the ids the model generated (a model can emit a
split the tokenizer would not make, or lone bytes of a multi-byte character); the cut is
then a few tokens off. :func:`cut_and_grade` counts, for each sample the length limit cut,
whether its re-tokenized length equals its ``completion_tokens``, so every run says how
often that happened.

This module computes per-sample rows; the stage reads files, loads the tokenizer and the
grader, and turns the rows into mean@N with the metrics' own interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from justeval.io.parquet import DataError

STOP = "stop"
LENGTH = "length"
REPLACEMENT = "\ufffd"  # what decoding shows for a character cut in the middle

# why a budget (or a whole model, benchmark and variant) has no number
NO_TOKEN_COUNTS = "no token counts"
NO_TOKENIZER = "no tokenizer to cut with"
NO_RULE_GRADER = "no rule grader to regrade cut samples (provided verdicts)"

# one row per (sample, budget) of one model, benchmark and grading variant
BUDGET_GRADES = pa.schema(
    [
        ("problem_id", pa.string()),
        ("sample_idx", pa.int32()),
        ("budget", pa.int32()),  # B
        ("completion_tokens", pa.int32()),  # the sample's, as generated
        ("finish_reason", pa.string()),
        ("finished", pa.bool_()),  # completion_tokens <= B and finish_reason stop
        ("cut", pa.bool_()),  # completion_tokens > B: the text was cut and graded again
        ("cut_tokens", pa.int32()),  # re-tokenized tokens kept (null: not cut)
        ("cut_chars", pa.int32()),  # characters of the cut text (null: not cut)
        ("extracted_answer", pa.string()),  # at B
        ("rule_correct", pa.bool_()),  # at B
        ("status", pa.string()),  # at B
        ("needs_verifier", pa.bool_()),  # cut, rejected by the rule grader, the variant has a verifier
        ("verifier_id", pa.string()),  # the row's problem id in the verifier's request files
        ("correct", pa.bool_()),  # at B, before the verifier's verdict on the cut rows it needs
    ]
)

SAMPLE_COLUMNS = [
    "problem_id", "sample_idx", "completion_tokens", "finish_reason", "response", "gold",
    "extracted_answer", "rule_correct", "status", "correct",
]  # fmt: skip


def default_budgets(max_tokens: int, smallest: int = 1024) -> list[int]:
    """Powers of two from ``smallest`` below ``max_tokens``, and ``max_tokens`` itself."""
    out, b = [], smallest
    while b < max_tokens:
        out.append(b)
        b *= 2
    return [*out, int(max_tokens)]


def check_budgets(budgets) -> list[int]:
    """The budgets in increasing order, each a positive integer, no repeats."""
    if not isinstance(budgets, list | tuple) or not budgets:
        raise DataError(
            f"budget settings: `budgets` must be a non-empty list of token counts, not {budgets!r}"
        )
    bad = [b for b in budgets if isinstance(b, bool) or not isinstance(b, int) or b < 1]
    if bad:
        raise DataError(f"budget settings: budgets must be positive integers: {bad}")
    if len(set(budgets)) != len(budgets):
        raise DataError(f"budget settings: a budget is repeated: {sorted(budgets)}")
    return sorted(budgets)


def verifier_id(problem_id: str, budget: int) -> str:
    """A cut row's problem id in the verifier's request files: one per (problem, budget),
    so that (id, sample index) is unique. The budget is the last ``@`` part."""
    return f"{problem_id}@{budget}"


# ---------------------------------------------------------------- cutting


@dataclass(frozen=True)
class Cut:
    text: str
    tokens: int  # re-tokenized tokens the text holds


class Cutter:
    """Cuts texts at a number of tokens of a Hugging Face tokenizer (its ``__call__``
    and ``decode``)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def cut(self, text: str, ids: Sequence[int], budget: int) -> Cut:
        """The text of the first ``budget`` tokens of ``ids`` (``text`` re-tokenized); the
        whole text when it has no more."""
        if len(ids) <= budget:
            return Cut(text, len(ids))
        piece = self.decode(ids[:budget])
        # a multi-byte character split by the cut decodes as U+FFFD: vLLM would not show it
        while piece.endswith(REPLACEMENT) and not text.startswith(piece):
            piece = piece[:-1]
        return Cut(piece, budget)


@dataclass
class CutStats:
    """How re-tokenizing went, for the samples that ran into the length limit."""

    length_samples: int = 0  # finish_reason length, tokenized again
    same_length: int = 0  # of those: re-tokenized length == completion_tokens
    cuts: int = 0
    not_prefix: int = 0  # cuts whose text is not a prefix of the response (normalised)


@dataclass(frozen=True)
class Graded:
    """A cut text's size and its rule verdict; the text itself only where the rule grader
    rejects it (the verifier may need it)."""

    tokens: int
    chars: int
    result: object  # a grading.runner.GradeResult
    text: str | None


GradeFn = Callable[[list[str], list[str]], list]  # (golds, responses) -> GradeResults
CHUNK = 64  # samples tokenized, cut and graded at a time: memory stays that of a chunk


def cut_and_grade(
    samples: pd.DataFrame, budgets: Sequence[int], cutter: Cutter, grade: GradeFn, chunk: int = CHUNK
) -> tuple[dict[tuple[int, int], Graded], CutStats]:
    """``{(row position, budget): Graded}`` for every sample longer than a budget (each
    text tokenized once, its cuts graded by ``grade``, the variant's rule grader), and how
    the re-tokenization went. ``samples`` holds ``completion_tokens``, ``finish_reason``,
    ``response`` and ``gold``."""
    tokens = samples["completion_tokens"].to_numpy()
    finish = samples["finish_reason"].astype(object).to_numpy()
    golds = samples["gold"].tolist()
    smallest = min(budgets)
    rows = [i for i in range(len(samples)) if tokens[i] > smallest]
    stats = CutStats()
    out: dict[tuple[int, int], Graded] = {}
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        texts = [_text(samples["response"].iloc[i]) for i in part]
        cuts: dict[tuple[int, int], Cut] = {}
        for i, text, ids in zip(part, texts, cutter.encode(texts), strict=True):
            if finish[i] == LENGTH:
                stats.length_samples += 1
                stats.same_length += int(len(ids) == int(tokens[i]))
            for budget in budgets:
                if tokens[i] > budget:
                    cut = cutter.cut(text, ids, budget)
                    stats.not_prefix += int(not text.startswith(cut.text))
                    cuts[(i, budget)] = cut
        keys = list(cuts)
        results = grade([golds[i] for i, _ in keys], [cuts[k].text for k in keys]) if keys else []
        for key, result in zip(keys, results, strict=True):
            cut = cuts[key]
            kept = None if result.rule_correct else cut.text
            out[key] = Graded(cut.tokens, len(cut.text), result, kept)
        stats.cuts += len(keys)
    return out, stats


def _text(value) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------- grading at each budget


def budget_rows(
    samples: pd.DataFrame,
    budgets: Sequence[int],
    graded: dict[tuple[int, int], Graded],
    verifier: bool,
) -> tuple[pd.DataFrame, list[dict]]:
    """One row per (sample, budget) (:data:`BUDGET_GRADES`), and the cut rows the verifier
    must judge, with their texts.

    ``samples`` holds :data:`SAMPLE_COLUMNS` (the verdicts joined with the responses and
    the gold); ``graded`` every cut of the budgets asked for (:func:`cut_and_grade`): a
    budget whose samples cannot be cut (no tokenizer) or graded (no rule grader) must not
    be asked for."""
    tokens = samples["completion_tokens"].to_numpy()
    finish = samples["finish_reason"].astype(object).to_numpy()
    missing = [(i, b) for b in budgets for i in range(len(samples)) if tokens[i] > b and (i, b) not in graded]
    if missing:
        raise ValueError(f"internal: {len(missing)} cuts missing, e.g. row {missing[0]}")
    rows, requests = [], []
    kept = samples[["extracted_answer", "rule_correct", "status", "correct"]].to_dict("records")
    for budget in budgets:
        for i in range(len(samples)):
            pid, idx = samples["problem_id"].iloc[i], int(samples["sample_idx"].iloc[i])
            row = {
                "problem_id": pid,
                "sample_idx": idx,
                "budget": int(budget),
                "completion_tokens": int(tokens[i]),
                "finish_reason": finish[i],
                "finished": bool(tokens[i] <= budget and finish[i] == STOP),
                "cut": bool(tokens[i] > budget),
                "cut_tokens": None,
                "cut_chars": None,
                "needs_verifier": False,
                "verifier_id": None,
            }
            if not row["cut"]:  # the same sample: its verdict as it is
                k = kept[i]
                row.update(
                    extracted_answer=k["extracted_answer"],
                    rule_correct=bool(k["rule_correct"]),
                    status=k["status"],
                    correct=bool(k["correct"]),
                )
            else:
                g = graded[(i, budget)]
                result = g.result
                row.update(
                    cut_tokens=g.tokens,
                    cut_chars=g.chars,
                    extracted_answer=result.extracted_answer,
                    rule_correct=bool(result.rule_correct),
                    status=result.status,
                    correct=bool(result.rule_correct),
                )
                if verifier and not result.rule_correct:
                    row.update(needs_verifier=True, verifier_id=verifier_id(pid, budget))
                    requests.append({**row, "text": g.text, "layer": result.layer, "position": i})
            rows.append(row)
    frame = pd.DataFrame(rows, columns=BUDGET_GRADES.names)
    for column in ("cut_tokens", "cut_chars"):
        frame[column] = frame[column].astype("Int64")
    return frame, requests


# ---------------------------------------------------------------- the curve


def apply_verifier(rows: pd.DataFrame, verdicts: pd.DataFrame | None, label: str) -> pd.DataFrame:
    """``rows`` with the verifier's verdicts on the cut rows that need one: ``correct``
    becomes the cascade's (rule OR verifier A, as model_grade decides it), and
    ``judged`` says which rows got a verdict. ``verdicts``: model_grade's output on the
    request files (problem_id = :func:`verifier_id`), or None when it was not run."""
    out = rows.copy()
    out["judged"] = False
    if verdicts is None or verdicts.empty:
        return out
    need = out.index[out["needs_verifier"].astype(bool)]
    found = verdicts.set_index(["problem_id", "sample_idx"])
    dup = found.index.duplicated()
    if dup.any():
        raise DataError(f"{label}: verifier verdict {list(found.index[dup][0])} appears twice")
    keys = list(zip(out.loc[need, "verifier_id"], out.loc[need, "sample_idx"].astype(int), strict=True))
    present = [k in found.index for k in keys]
    if not all(present) and any(present):
        first = keys[present.index(False)]
        raise DataError(
            f"{label}: no verifier verdict for cut sample {first}; rerun the budget's model_grade"
        )
    if not any(present):
        if keys:
            raise DataError(
                f"{label}: the verifier's verdicts hold none of the {len(keys)} cut samples it was to judge; "
                "rerun the budget's model_grade"
            )
        return out
    verdict_correct = found.loc[keys, "correct"].astype(bool).to_numpy()
    out.loc[need, "correct"] = out.loc[need, "rule_correct"].astype(bool).to_numpy() | verdict_correct
    out.loc[need, "judged"] = True
    return out


def problem_counts(rows: pd.DataFrame, label: str) -> tuple[dict[int, pd.Series], int]:
    """Correct samples of each problem at each budget (problems in the rows' order), and
    N, which every problem must share."""
    sizes = rows[rows["budget"] == rows["budget"].iloc[0]].groupby("problem_id", sort=False).size()
    if sizes.nunique() != 1:
        odd = sizes[sizes != sizes.mode().iloc[0]]
        raise DataError(
            f"{label}: problem {odd.index[0]!r} has {odd.iloc[0]} samples, the others {sizes.mode().iloc[0]}"
        )
    out = {}
    for budget, part in rows.groupby("budget", sort=True):
        out[int(budget)] = part.groupby("problem_id", sort=False)["correct"].apply(
            lambda c: int(c.astype(bool).sum())
        )
    return out, int(sizes.iloc[0])


def budget_counts(rows: pd.DataFrame) -> dict[str, int]:
    """Samples, samples finished by B, cut, sent to (and judged by) the verifier, at one B."""
    judged = rows["judged"] if "judged" in rows.columns else pd.Series(False, index=rows.index)
    return {
        "samples": len(rows),
        "finished": int(rows["finished"].astype(bool).sum()),
        "cut": int(rows["cut"].astype(bool).sum()),
        "to_verifier": int(rows["needs_verifier"].astype(bool).sum()),
        "judged": int(judged.astype(bool).sum()),
    }
