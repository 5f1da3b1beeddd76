"""The model_grade stage: the verifier model judges the rule grader's rejections.

All leftovers of one (model, benchmark) go to the verifier in one engine call,
greedy. Final correctness is ``rule_correct OR verdict == A``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from . import engine
from .models import load_manifest
from .parquet_io import DataError, read_metadata, read_parquet, write_parquet
from .provenance import versions
from .schemas import BENCHMARK, GENERATIONS, RULE_GRADES, VERDICTS
from .verdicts import final_correct, parse_verdict

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{(question|gold_answer|llm_response)\}")


def fill_prompt(template: str, question: str, gold_answer: str, llm_response: str) -> str:
    """Fill the three placeholders in one pass (inserted text is never rescanned)."""
    values = {"question": question, "gold_answer": gold_answer, "llm_response": llm_response}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def verifier_prompt_ids(
    tokenizer, template: str, question: str, gold: str, response: str, budget: int
) -> tuple[list[int], bool]:
    """Chat-templated prompt ids within ``budget`` tokens, and whether it was cut.

    A response too long for the verifier is cut from the front, so that its
    ending (where the final answer is) survives.
    """
    ids = engine.chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, response))
    if len(ids) <= budget:
        return ids, False
    overhead = len(engine.chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, "")))
    keep = max(budget - overhead - 8, 0)
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    tail = tokenizer.decode(response_ids[len(response_ids) - keep :]) if keep else ""
    ids = engine.chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, tail))
    while len(ids) > budget and tail:  # re-tokenisation may add a few tokens
        tail = tail[len(tail) // 8 + 1 :]
        ids = engine.chat_prompt_ids(tokenizer, fill_prompt(template, question, gold, tail))
    return ids, True


def join_shards(generations: list[str], grades: list[str]) -> pd.DataFrame:
    gens = pd.concat([read_parquet(p, GENERATIONS) for p in generations], ignore_index=True)
    rule = pd.concat([read_parquet(p, RULE_GRADES) for p in grades], ignore_index=True)
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


def run(
    benchmark: str,
    generations: list[str],
    grades: list[str],
    verifier_manifest: str | None,
    prompt_path: str | None,
    settings: dict,
    engine_options: dict,
    output: str,
) -> None:
    bench = read_parquet(benchmark, BENCHMARK).set_index("problem_id")
    frame = join_shards(generations, grades)
    order = {pid: i for i, pid in enumerate(bench.index)}
    frame = frame.sort_values(
        ["problem_id", "sample_idx"], key=lambda c: c.map(order) if c.name == "problem_id" else c
    ).reset_index(drop=True)

    leftovers = frame.index[~frame["rule_correct"]] if settings["enabled"] else frame.index[:0]
    frame["sent_to_verifier"] = False
    frame["verifier_verdict"] = None
    frame["verifier_output"] = None
    frame["input_truncated"] = False
    log.info("%d of %d samples are leftovers for the verifier", len(leftovers), len(frame))

    if len(leftovers):
        if not verifier_manifest:
            raise DataError("model grading is enabled but no verifier manifest was given")
        manifest = load_manifest(verifier_manifest)
        template = Path(prompt_path).read_text()
        llm = engine.load_engine(
            manifest["path"], dtype="auto", max_model_len=None, seed=0, options=engine_options
        )
        try:
            from vllm import SamplingParams

            tokenizer = llm.get_tokenizer()
            budget = llm.llm_engine.model_config.max_model_len - settings["max_tokens"]
            prompts, truncated = [], []
            for i in leftovers:
                row = frame.loc[i]
                question = "" if settings["question"] == "empty" else bench.at[row.problem_id, "problem"]
                ids, cut = verifier_prompt_ids(
                    tokenizer, template, question, bench.at[row.problem_id, "answer"], row.response, budget
                )
                prompts.append(ids)
                truncated.append(cut)
            greedy = SamplingParams(temperature=0.0, max_tokens=settings["max_tokens"])
            outputs = engine.run_requests(
                llm,
                prompts,
                [greedy] * len(prompts),
                label=f"model_grade {Path(output).parent.name}",
                keys=[f"{frame.at[i, 'problem_id']}#{frame.at[i, 'sample_idx']}" for i in leftovers],
            )
        finally:
            engine.shutdown(llm)
        texts = [o.outputs[0].text for o in outputs]
        frame.loc[leftovers, "sent_to_verifier"] = True
        frame.loc[leftovers, "verifier_output"] = texts
        frame.loc[leftovers, "verifier_verdict"] = [parse_verdict(t, settings["parse"]) for t in texts]
        frame.loc[leftovers, "input_truncated"] = truncated

    frame["correct"] = [
        final_correct(r, v) for r, v in zip(frame["rule_correct"], frame["verifier_verdict"], strict=True)
    ]
    counts = frame.loc[leftovers, "verifier_verdict"].value_counts().to_dict()
    log.info(
        "verifier verdicts %s; %d recovered; accuracy %.2f%%",
        counts,
        int((frame["correct"] & ~frame["rule_correct"]).sum()),
        100 * frame["correct"].mean(),
    )
    write_parquet(
        frame,
        output,
        VERDICTS,
        metadata={
            "stage": "model_grade",
            "settings": settings,
            "benchmark": read_metadata(benchmark),
            "versions": versions(),
        },
    )
