"""The `overlap` stage: which benchmark problems another benchmark or the user's
training data already holds, and whether leaving them out moves the accuracy.

Problems are compared as sets of token n-grams after a normalisation that
forgets what a copy typically changes (case, whitespace, ``$`` and spacing
macros, ``\\dfrac`` for ``\\frac``, small numbers written as words). Candidate
pairs come from datasketch's MinHash LSH (its logic: the permutation hashes and
the banding); the score of each candidate is then the exact Jaccard similarity
of the two n-gram sets (ours), and a pair counts when it reaches ``threshold``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Annotated

import pandas as pd
import pyarrow.parquet as pq

from justeval.command import Arg, command
from justeval.io.identity import file_identity
from justeval.io.parquet import DataError, read_metadata, read_parquet, write_text_atomic
from justeval.io.schemas import BENCHMARK, VERDICTS
from justeval.metrics.formatting import markdown
from justeval.metrics.scores import per_problem

log = logging.getLogger(__name__)

_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)  # fmt: skip
NUMBER_WORDS = {w: str(i) for i, w in enumerate(_WORDS)}
_SPACING = re.compile(r"\\(?:left|right|displaystyle|textstyle|quad|qquad|[,;:! ])")
_TOKEN = re.compile(r"\\[a-z]+|[a-z]+|\d+(?:\.\d+)?|[^\s\w{}]")


def normalise(text: str) -> list[str]:
    """The tokens a problem is compared by."""
    text = text.lower().replace("$", " ")
    text = re.sub(r"\\[()\[\]]", " ", text)  # \( \) \[ \] delimiters
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = _SPACING.sub(" ", text)
    text = re.sub(r"\\(?:text|mathrm|mbox|operatorname)\s*", " ", text)
    return [NUMBER_WORDS.get(tok, tok) for tok in _TOKEN.findall(text)]


def shingles(text: str, n: int) -> set[str]:
    """The token n-grams of a problem (its tokens, when it has fewer than n)."""
    tokens = normalise(text)
    if len(tokens) < n:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def near_duplicates(
    sets: dict[str, dict[str, str]], *, ngram: int, threshold: float, num_perm: int, queries: list[str]
) -> pd.DataFrame:
    """Pairs (query set's problem, other set's item) with Jaccard ≥ threshold.

    ``sets`` maps a set name to {id: text}; each set in ``queries`` (the
    benchmarks) is compared with every other set, never with itself."""
    from datasketch import MinHash, MinHashLSH

    grams = {
        (name, key): shingles(text, ngram) for name, items in sets.items() for key, text in items.items()
    }
    keys = [k for k, g in grams.items() if g]
    # a lower LSH threshold than the reported one: LSH only proposes, the exact score decides
    lsh = MinHashLSH(threshold=max(0.05, 0.7 * threshold), num_perm=num_perm)
    encoded = [[s.encode("utf-8") for s in sorted(grams[k])] for k in keys]
    hashes = MinHash.bulk(encoded, num_perm=num_perm, seed=1)
    for key, mh in zip(keys, hashes, strict=True):
        lsh.insert(json.dumps(key), mh, check_duplication=False)
    rows = []
    for key, mh in zip(keys, hashes, strict=True):
        name, pid = key
        if name not in queries:
            continue
        for hit in lsh.query(mh):
            other_name, other_id = json.loads(hit)
            if other_name == name:
                continue
            score = jaccard(grams[key], grams[other_name, other_id])
            if score >= threshold:
                rows.append(
                    {
                        "benchmark": name,
                        "problem_id": pid,
                        "other": other_name,
                        "other_id": str(other_id),
                        "score": round(score, 4),
                        "problem": _line(sets[name][pid]),
                        "other_text": _line(sets[other_name][other_id]),
                    }
                )
    columns = ["benchmark", "problem_id", "other", "other_id", "score", "problem", "other_text"]
    frame = pd.DataFrame(rows, columns=columns)
    order = {n: i for i, n in enumerate(sets)}
    return frame.sort_values(
        ["benchmark", "other", "score", "problem_id", "other_id"],
        key=lambda c: c.map(order) if c.name in ("benchmark", "other") else c,
        ascending=[True, True, False, True, True],
        kind="stable",
    ).reset_index(drop=True)


def _line(text: str, width: int = 100) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= width else one[: width - 1] + "…"


def _text_of(value) -> str:
    """A training row's text: a string, or a chat (a list of messages) joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("content", ""))
    if hasattr(value, "__iter__"):
        return "\n".join(_text_of(v) for v in value)
    return "" if value is None else str(value)


def read_training(path: str, column: str, name: str) -> dict[str, str]:
    """{row number: text} of a training file (Parquet or JSON lines)."""
    if path.endswith((".jsonl", ".json")):
        with open(path, encoding="utf-8") as fh:
            frame = pd.DataFrame([json.loads(line) for line in fh if line.strip()])
    else:
        try:
            frame = pq.read_table(path).to_pandas()
        except Exception as exc:  # noqa: BLE001 (pyarrow raises several kinds)
            raise DataError(f"overlap.train {name}: {path}: cannot read as Parquet ({exc})") from None
    if column not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise DataError(f"overlap.train {name}: {path} has no column {column!r} (columns: {columns})")
    return {str(i): _text_of(v) for i, v in enumerate(frame[column])}


def summary(pairs: pd.DataFrame, benchmarks: dict[str, dict[str, str]], others: list[str]) -> pd.DataFrame:
    """Per benchmark: its problems, and how many have a near-duplicate in each other set."""
    rows = []
    for bench, items in benchmarks.items():
        row = {"benchmark": bench, "problems": len(items)}
        mine = pairs[pairs["benchmark"] == bench]
        for other in others:
            if other != bench:
                row[other] = int(mine[mine["other"] == other]["problem_id"].nunique())
            else:
                row[other] = None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["benchmark", "problems", *others])
    for other in others:
        frame[other] = frame[other].astype("Int64")
    return frame


def accuracy_without(verdict_paths: list[str], flagged: dict[str, set[str]], settings: dict) -> pd.DataFrame:
    """mean@N per (model, benchmark, grading variant) on every problem and without
    the flagged ones, in config order."""
    rows = []
    for path in verdict_paths:
        ident = file_identity(path)
        frame = read_parquet(path, VERDICTS)
        accuracy = per_problem(frame)
        out = flagged.get(ident["benchmark"], set())
        kept = accuracy[~accuracy.index.isin(out)]
        rows.append(
            {
                "model": ident["model"],
                "benchmark": ident["benchmark"],
                "variant": ident["variant"],
                "problems": len(accuracy),
                "overlapping": int(accuracy.index.isin(out).sum()),
                "mean_at_n": 100 * float(accuracy.mean()),
                "mean_at_n_without": 100 * float(kept.mean()) if len(kept) else float("nan"),
            }
        )
    columns = ["model", "benchmark", "variant", "problems", "overlapping", "mean_at_n", "mean_at_n_without"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["delta"] = frame["mean_at_n_without"] - frame["mean_at_n"]
    order = {
        "model": {m: i for i, m in enumerate(settings["models"])},
        "benchmark": {b: i for i, b in enumerate(flagged)},
        "variant": {v: i for i, v in enumerate(settings["variants"])},
    }
    return frame.sort_values(
        ["model", "benchmark", "variant"], key=lambda c: c.map(order[c.name]), kind="stable"
    ).reset_index(drop=True)


@command("overlap", "near-duplicate problems across benchmarks and training data")
def overlap(
    *,
    benchmarks: Annotated[list[str], Arg("every prepared benchmark (Parquet)")],
    verdicts: Annotated[list[str], Arg("every verdicts file (each model, benchmark and variant)")] = (),
    settings: Annotated[dict, Arg('JSON: {"train", "ngram", "threshold", "num_perm", "models", "variants"}')],
    markdown_out: Annotated[str, Arg(flag="--markdown")],
    csv_out: Annotated[str, Arg("the pairs (.csv)", flag="--csv")],
    summary_out: Annotated[str, Arg("the counts (.csv)", flag="--summary")],
) -> None:
    bench_texts = {}
    for path in benchmarks:
        frame = read_parquet(path, BENCHMARK)
        name = read_metadata(path)["benchmark"]
        bench_texts[name] = dict(zip(frame["problem_id"].astype(str), frame["problem"], strict=True))
    sets = dict(bench_texts)
    for entry in settings["train"]:
        if entry["name"] in sets:
            raise DataError(f"overlap.train: {entry['name']!r} is also a benchmark's name")
        sets[entry["name"]] = read_training(entry["path"], entry["column"], entry["name"])
        log.info("overlap: %s holds %d rows", entry["name"], len(sets[entry["name"]]))
    pairs = near_duplicates(
        sets,
        ngram=settings["ngram"],
        threshold=settings["threshold"],
        num_perm=settings["num_perm"],
        queries=list(bench_texts),
    )
    train_names = [e["name"] for e in settings["train"]]
    counts = summary(pairs, bench_texts, list(sets))
    flagged = {
        b: set(pairs[(pairs["benchmark"] == b) & pairs["other"].isin(train_names)]["problem_id"])
        for b in bench_texts
    }
    accuracy = accuracy_without(list(verdicts), flagged, settings)

    write_text_atomic(csv_out, pairs.to_csv(index=False))
    write_text_atomic(summary_out, counts.to_csv(index=False))
    text = [
        "# Overlap: near-duplicate problems\n",
        f"Problems compared as sets of normalised token {settings['ngram']}-grams; a pair counts at "
        f"Jaccard ≥ {settings['threshold']} (MinHash LSH proposes, the exact score decides). Each cell: "
        "how many of the row benchmark's problems have a near-duplicate in the column's set.\n",
        markdown(counts),
        "## Accuracy without the problems the training data holds\n",
    ]
    if not train_names:
        text.append("No training data is named (`overlap.train`): nothing to leave out.\n")
    elif accuracy.empty:
        text.append("No verdicts yet.\n")
    else:
        text.append(markdown(accuracy))
    text.append(f"## Pairs ({len(pairs)}; the first 200)\n")
    text.append(markdown(pairs.head(200)) if len(pairs) else "None.\n")
    write_text_atomic(markdown_out, "\n".join(text))
    log.info("overlap: %d pairs\n%s", len(pairs), markdown(counts))
