"""The model_grade stage: a verifier model judges the rule grader's rejections.

All rows to judge of one (model, benchmark) go to the verifier in one engine
call, greedy. Every verifier output is cached per row, keyed by everything
that decides it, in a folder outside the stage's declared outputs, so a rerun
(a new rule grader, a new parse mode) asks the engine only for what it has
never seen. Final correctness is ``rule_correct OR verdict == A``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command
from justeval.engine.session import engine_session
from justeval.engine.stats import EngineStats
from justeval.engine.vllm_engine import chat_prompt_ids, run_requests
from justeval.io.hashing import canonical_json, sha256_text
from justeval.io.identity import variant_identity
from justeval.io.parquet import (
    DataError,
    read_metadata,
    read_parquet,
    read_shards,
    sort_like,
    write_parquet,
    write_text_atomic,
)
from justeval.io.schemas import BENCHMARK, GENERATIONS, RULE_GRADES, VERDICTS
from justeval.metrics.formatting import md_block, md_cell, md_code
from justeval.metrics.verifier import verifier_counts
from justeval.sources.models import load_manifest

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{(question|gold_answer|llm_response)\}")
THINK_END = "</think>"
AUDIT_SAMPLES = 20
AUDIT_TAIL = 400


# ---------------------------------------------------------------- verifier replies
# Reading the verifier's output, and the cascade's final verdict.

VERDICT_LETTERS = ("A", "B", "C")
UNPARSED = "unparsed"

_FIRST_LETTER = re.compile(r"^\W*([ABC])(?![A-Za-z0-9])")
_WORDS = re.compile(r"\b(INCORRECT|CORRECT|INVALID)\b")
_WORD_VERDICT = {"CORRECT": "A", "INCORRECT": "B", "INVALID": "C"}


def parse_verdict(
    output: str | None,
    mode: str = "lenient",
    pattern: str | None = None,
    labels: dict[str, str] | None = None,
) -> str:
    """A, B or C from the verifier's text, else ``unparsed``.

    ``exact`` (JustRL's rule): the stripped output must be exactly one letter.
    ``lenient``: the first letter A/B/C standing alone at the start (``A``,
    ``**B**``, ``C: INVALID``), or else the first of the words CORRECT /
    INCORRECT / INVALID. ``pattern``: the first match of a regular expression;
    its first group, lower-cased, is looked up in ``labels`` (for judges such
    as xVerify that answer in words). Anything else is unparsed, never counted
    correct.
    """
    if output is None:
        return UNPARSED
    text = output.strip()
    if mode == "exact":
        return text if text in VERDICT_LETTERS else UNPARSED
    if mode == "pattern":
        if not pattern:
            raise ValueError("parse mode 'pattern' needs a pattern")
        m = re.search(pattern, text)
        if not m:
            return UNPARSED
        found = (m.group(1) if m.groups() else m.group(0)).strip().lower()
        verdict = {k.lower(): v for k, v in (labels or {}).items()}.get(found)
        return verdict if verdict in VERDICT_LETTERS else UNPARSED
    if mode != "lenient":
        raise ValueError(f"unknown verdict parse mode {mode!r}")
    if m := _FIRST_LETTER.match(text):
        return m.group(1)
    if m := _WORDS.search(text.upper()):
        return _WORD_VERDICT[m.group(1)]
    return UNPARSED


def final_correct(rule_correct: bool, verdict: str | None) -> bool:
    """The cascade: correct if the rule grader or the verifier says so."""
    return bool(rule_correct) or verdict == "A"


# ---------------------------------------------------------------- prompts


def fill_prompt(template: str, question: str, gold_answer: str, llm_response: str) -> str:
    """Fill the three placeholders in one pass (inserted text is never rescanned)."""
    values = {"question": question, "gold_answer": gold_answer, "llm_response": llm_response}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def response_view(response: str, view: str) -> str:
    """What the verifier sees of a response: ``full``, ``final`` (after the last
    ``</think>``, else all of it) or ``tail:<chars>``."""
    if view == "full":
        return response
    if view == "final":
        cut = response.rfind(THINK_END)
        return response[cut + len(THINK_END) :].lstrip() if cut != -1 else response
    if view.startswith("tail:"):
        chars = int(view.split(":", 1)[1])
        return response[-chars:] if chars > 0 else response
    raise ValueError(f"unknown response view {view!r}")


def verifier_prompt_ids(
    tokenizer, template: str, question: str, gold: str, response: str, budget: int
) -> tuple[list[int], bool]:
    """Chat-templated prompt ids within ``budget`` tokens, and whether it was cut.

    A response too long for the verifier is cut from the front, so that its
    ending (where the final answer is) survives.
    """
    ids = chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, response))
    if len(ids) <= budget:
        return ids, False
    overhead = len(chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, "")))
    keep = max(budget - overhead - 8, 0)
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    tail = tokenizer.decode(response_ids[len(response_ids) - keep :]) if keep else ""
    ids = chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, tail))
    while len(ids) > budget and tail:  # re-tokenisation may add a few tokens
        tail = tail[len(tail) // 8 + 1 :]
        ids = chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, tail))
    return ids, True


# ---------------------------------------------------------------- cache


def cache_key(verifier: dict, settings: dict, question: str, gold: str, response: str) -> str:
    """Everything that decides one verifier output: the verifier's weights, the
    prompt template, the response view, the output budget and the row's text."""
    return sha256_text(
        canonical_json(
            {
                "verifier": verifier,
                "prompt_sha256": settings["prompt_sha256"],
                "response_view": settings["response_view"],
                "max_tokens": settings["max_tokens"],
                "question": question,
                "gold": gold,
                "response_sha256": hashlib.sha256(response.encode("utf-8")).hexdigest(),
            }
        )
    )


class OutputCache:
    """One small JSON file per verifier output, written atomically (temp file and
    rename), safe on network file systems; no database."""

    def __init__(self, folder: str | Path | None):
        self.folder = Path(folder) if folder else None

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        if self.folder is None:
            return None
        try:
            return json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None  # missing, or unreadable: ask the engine again

    def put(self, key: str, entry: dict) -> None:
        if self.folder is not None:
            write_text_atomic(self.path(key), json.dumps(entry, sort_keys=True))


# ---------------------------------------------------------------- the stage


def join_shards(generations: list[str], grades: list[str]) -> pd.DataFrame:
    gens = read_shards(generations, GENERATIONS)
    rule = read_shards(grades, RULE_GRADES)
    keys = ["problem_id", "sample_idx"]
    for name, frame, paths in (("generations", gens, generations), ("rule grades", rule, grades)):
        dup = frame.duplicated(keys)
        if dup.any():
            first = frame.loc[dup, keys].iloc[0].tolist()
            raise DataError(f"{name} {paths}: sample {first} appears twice")
    merged = gens.merge(rule, on=keys, how="outer", indicator=True, validate="one_to_one")
    unmatched = merged[merged["_merge"] != "both"]
    if len(unmatched):
        raise DataError(
            f"generations and rule grades disagree on sample "
            f"{unmatched[keys].iloc[0].tolist()}; rerun rule_grade"
        )
    return merged.drop(columns="_merge")


def _ask_verifier(
    manifest: dict,
    template: str,
    rows: list[dict],
    settings: dict,
    engine_options: dict,
    label: str,
    stats: EngineStats,
):
    """Outputs of the verifier for ``rows`` (one engine call, on a GPU slot of its
    own, greedy), with truncation flags."""
    from vllm import SamplingParams

    with engine_session(
        manifest["path"],
        dtype="auto",
        max_model_len=None,
        seed=0,
        options=engine_options,
        label=label,
        stats=stats,
    ) as (llm, tokenizer):
        budget = llm.llm_engine.model_config.max_model_len - settings["max_tokens"]
        prompts, truncated = [], []
        for row in rows:
            ids, cut = verifier_prompt_ids(
                tokenizer, template, row["question"], row["gold"], row["view"], budget
            )
            prompts.append(ids)
            truncated.append(cut)
        greedy = SamplingParams(temperature=0.0, max_tokens=settings["max_tokens"])
        outputs = run_requests(
            llm, prompts, [greedy] * len(prompts), label=label, keys=[row["id"] for row in rows], stats=stats
        )
    return [o.outputs[0].text for o in outputs], truncated


@command("model-grade", "the verifier model on the rule grader's rejections of one benchmark")
def model_grade(
    *,
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    generations: Annotated[list[str], Arg("the generation shards")],
    grades: Annotated[list[str], Arg("the rule-grade shards, in the same order")],
    variant: Annotated[str, Arg("the grading variant's name")],
    verifier_manifest: Annotated[str | None, Arg("the verifier's manifest; none when disabled")] = None,
    prompt: Annotated[str | None, Arg("the verifier prompt template; none when disabled")] = None,
    settings: Annotated[dict, Arg("the variant's model-grading settings (JSON)")],
    engine_options: Annotated[dict | None, Arg("throughput options (JSON)")] = None,
    cache_dir: Annotated[str | None, Arg("per-row verifier cache folder (none or '': no cache)")] = None,
    output: str,
    audit_md: str,
    audit_json: str,
    engine_stats: Annotated[str | None, Arg("where to write what the engine spent (JSON)")] = None,
) -> None:
    engine_options = engine_options or {}
    cache_dir = cache_dir or None
    bench = read_parquet(benchmark, BENCHMARK).set_index("problem_id")
    frame = join_shards(generations, grades)
    frame = sort_like(frame, bench.index)
    frame["gold"] = frame["problem_id"].map(bench["answer"])

    if not settings["enabled"]:
        to_judge = frame.index[:0]
    elif settings["scope"] == "all":
        to_judge = frame.index
    else:
        to_judge = frame.index[frame["status"] != "match"]
    frame["sent_to_verifier"] = False
    frame["verifier_verdict"] = None
    frame["verifier_output"] = None
    frame["input_truncated"] = False
    cached = 0
    stats = EngineStats()
    ident = variant_identity(generations[0], variant)
    label = f"model_grade {ident['benchmark']}/{variant}"
    log.info(
        "%d of %d samples go to the verifier (scope %s)", len(to_judge), len(frame), settings.get("scope")
    )

    if len(to_judge):
        if not verifier_manifest or not prompt:
            raise DataError("model grading is enabled but no verifier manifest or prompt was given")
        manifest = load_manifest(verifier_manifest)
        template = Path(prompt).read_text()
        if hashlib.sha256(Path(prompt).read_bytes()).hexdigest() != settings["prompt_sha256"]:
            raise DataError(f"{prompt} changed while the job was planned; run again")
        verifier = {k: manifest.get(k) for k in ("identity", "resolved_revision", "weights_sha256")}
        cache = OutputCache(cache_dir)
        rows = []
        for i in to_judge:
            r = frame.loc[i]
            question = "" if settings["question"] == "empty" else bench.at[r.problem_id, "problem"]
            gold = r.gold
            view = response_view(r.response, settings["response_view"])
            key = cache_key(verifier, settings, question, gold, view)
            rows.append({"index": i, "id": f"{r.problem_id}#{r.sample_idx}", "question": question,
                         "gold": gold, "view": view, "key": key, "hit": cache.get(key)})  # fmt: skip
        misses = [row for row in rows if row["hit"] is None]
        cached = len(rows) - len(misses)
        log.info("verifier cache: %d hits, %d to ask the engine", cached, len(misses))
        if misses:
            texts, truncated = _ask_verifier(
                manifest, template, misses, settings, engine_options, label, stats
            )
            for row, text, cut in zip(misses, texts, truncated, strict=True):
                row["hit"] = {"output": text, "input_truncated": cut}
                cache.put(row["key"], row["hit"])
        index = [row["index"] for row in rows]
        outputs = [row["hit"]["output"] for row in rows]
        frame.loc[index, "sent_to_verifier"] = True
        frame.loc[index, "verifier_output"] = outputs
        frame.loc[index, "input_truncated"] = [bool(row["hit"]["input_truncated"]) for row in rows]
        frame.loc[index, "verifier_verdict"] = [
            parse_verdict(t, settings["parse"], settings.get("pattern"), settings.get("pattern_labels"))
            for t in outputs
        ]

    frame["correct"] = [
        final_correct(r, v) for r, v in zip(frame["rule_correct"], frame["verifier_verdict"], strict=True)
    ]
    frame["response_chars"] = frame["response"].map(lambda r: len(r) if isinstance(r, str) else 0)
    audit = audit_counts(frame, cached)
    log.info("verifier audit: %s", audit)
    metadata = {
        "stage": "model_grade",
        "identity": ident,
        "settings": settings,
        "benchmark": read_metadata(benchmark),
    }
    write_parquet(frame, output, VERDICTS, metadata=metadata)
    write_text_atomic(
        audit_json, json.dumps({**audit, "settings": settings}, indent=2, sort_keys=True) + "\n"
    )
    write_text_atomic(audit_md, audit_markdown(frame, audit, settings, label.split(" ", 1)[1]))
    if engine_stats:
        stats.write(engine_stats, stage="model_grade", **ident, samples=len(frame), sent=len(to_judge))


# ---------------------------------------------------------------- audit


def audit_counts(frame: pd.DataFrame, cached: int) -> dict:
    return {
        "samples": len(frame),
        **verifier_counts(frame),
        "input_truncated": int(frame["input_truncated"].sum()),
        "answered_from_cache": cached,
        "accuracy": 100.0 * float(frame["correct"].mean()) if len(frame) else 0.0,
    }


def _sample_block(row) -> str:
    tail = row.response[-AUDIT_TAIL:] if isinstance(row.response, str) else ""
    output = (row.verifier_output or "").strip()[:200]
    return (
        f"### {md_cell(row.problem_id)} #{row.sample_idx}\n\n"
        f"- gold: {md_code(row.gold)}\n"
        f"- extracted answer: {md_code(row.extracted_answer)} (rule: {row.status}, {row.layer})\n"
        f"- verifier: {row.verifier_verdict} (output: {md_code(output)})\n\n"
        f"Last {AUDIT_TAIL} characters of the response:\n\n{md_block(tail)}"
    )


def audit_markdown(frame: pd.DataFrame, audit: dict, settings: dict, title: str) -> str:
    shown = canonical_json({k: v for k, v in settings.items() if k != "parse_version"})
    lines = [
        f"# Verifier audit: {title}",
        "",
        f"Verifier settings: {md_code(shown)}",
        "",
        "| samples | rule accepted | sent to verifier | recovered (A) | incorrect (B) | invalid (C) "
        "| unparsed | rule accepted, verifier disagreed | input truncated | from cache | accuracy |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {audit['samples']} | {audit['rule_accepted']} | {audit['sent_to_verifier']} "
        f"| {audit['recovered']} "
        f"| {audit['verifier_incorrect']} | {audit['verifier_invalid']} | {audit['verifier_unparsed']} "
        f"| {audit['rule_accepted_verifier_disagreed']} | {audit['input_truncated']} "
        f"| {audit['answered_from_cache']} | {audit['accuracy']:.2f} % |",
        "",
    ]
    recovered = frame[frame["correct"] & ~frame["rule_correct"]]
    lines += [
        f"## Recovered by the verifier ({len(recovered)}; the first {min(len(recovered), AUDIT_SAMPLES)})",
        "",
        "Samples the rule grader rejected and the verifier accepted: check that the verifier is right.",
        "",
    ]
    lines += [_sample_block(row) for row in recovered.head(AUDIT_SAMPLES).itertuples()]
    if settings.get("scope") == "all":
        disagreed = frame[
            frame["sent_to_verifier"] & frame["rule_correct"] & (frame["verifier_verdict"] != "A")
        ]
        lines += [
            "",
            f"## Rule grader accepted, verifier did not ({len(disagreed)}; "
            f"the first {min(len(disagreed), AUDIT_SAMPLES)})",
            "",
        ]
        lines += [_sample_block(row) for row in disagreed.head(AUDIT_SAMPLES).itertuples()]
    return "\n".join(lines).rstrip() + "\n"
