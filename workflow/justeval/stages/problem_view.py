"""The problem_view stage: one (model, benchmark) cell of the results page, problem by problem.

A folder ``results/page/<model>/<benchmark>/``: ``index.html`` lists the benchmark's
problems with their gold, per-problem accuracy and the distinct extracted answers
with counts; a click loads ``p/NNNN.js``, the problem's statement and every sample
(response with its math rendered, the final ``\\boxed`` highlighted, long responses
folded), with the grader's layer and the verifier's verdict. One file per problem
keeps the page light: a browser reads only the problems a person opens.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command
from justeval.io.parquet import DataError, read_parquet, read_shards
from justeval.io.schemas import BENCHMARK, GENERATIONS, VERDICTS
from justeval.page.html import document, esc, write_directory
from justeval.page.math import segments

log = logging.getLogger(__name__)

NO_ANSWER = "(no answer)"


def _maybe(value):
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def answer_counts(frame: pd.DataFrame) -> list[dict]:
    """Distinct extracted answers, most frequent first: answer, count, and whether
    the samples that gave it were graded correct (all, none or some)."""
    counts: Counter = Counter()
    right: Counter = Counter()
    for answer, correct in zip(frame["extracted_answer"], frame["correct"], strict=True):
        key = answer if isinstance(answer, str) else NO_ANSWER
        counts[key] += 1
        right[key] += bool(correct)
    out = []
    for answer, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        verdict = "correct" if right[answer] == n else "incorrect" if right[answer] == 0 else "mixed"
        out.append({"answer": answer, "count": n, "graded": verdict})
    return out


def problem_file(index: int, problem: pd.Series, samples: pd.DataFrame) -> str:
    """The script a browser loads when the problem is opened."""
    length_unit = "tokens" if samples["completion_tokens"].notna().all() else "characters"
    data = {
        "index": index,
        "problem_id": problem["problem_id"],
        "statement": segments(problem["problem"]),
        "gold": segments(f"${problem['answer']}$") if problem["answer"] else [["t", ""]],
        "samples": [
            {
                "sample_idx": int(s.sample_idx),
                "seed": _maybe(s.seed),
                "correct": bool(s.correct),
                "extracted_answer": _maybe(s.extracted_answer),
                "layer": s.layer,
                "status": s.status,
                "verifier_verdict": _maybe(s.verifier_verdict),
                "finish_reason": _maybe(s.finish_reason),
                "length_unit": length_unit,
                "length": int(s.completion_tokens) if length_unit == "tokens" else len(s.response),
                "chars": len(s.response),
                "response": segments(s.response),
            }
            for s in samples.itertuples()
        ],
    }
    return "justevalProblem(" + json.dumps(data, ensure_ascii=False, separators=(",", ":")) + ");\n"


def summary_row(index: int, problem: pd.Series, samples: pd.DataFrame) -> str:
    answers = "; ".join(
        f'<span class="{"ok" if a["graded"] == "correct" else "bad" if a["graded"] == "incorrect" else ""}">'
        f"{esc(a['answer'])}</span> ×{a['count']}"
        for a in answer_counts(samples)
    )
    if len(samples):
        accuracy = 100 * float(samples["correct"].mean())
        shown = f'<td class="num" data-value="{accuracy!r}">{accuracy:.2f}</td>'
    else:  # an import that does not cover this problem
        shown = '<td class="num" data-value="">–</td>'
        answers = "(not in the imported file)"
    return (
        f'<tr class="problem" data-index="{index}" data-file="p/{index:04d}.js" '
        f'data-problem-id="{esc(problem["problem_id"])}" data-samples="{len(samples)}">'
        f"<td>{index}</td><td>{esc(problem['problem_id'])}</td><td><code>{esc(problem['answer'])}</code></td>"
        f"{shown}"
        f'<td class="num" data-value="{len(samples)}">{len(samples)}</td>'
        f'<td class="answers" data-value="">{answers}</td></tr>'
    )


def view_files(
    bench: pd.DataFrame, verdicts: pd.DataFrame, generations: pd.DataFrame, settings: dict
) -> dict[str, str]:
    """Every file of the view, by its path in the folder."""
    keys = ["problem_id", "sample_idx"]
    responses = generations[[*keys, "response"]]
    joined = verdicts.merge(responses, on=keys, how="left", validate="one_to_one")
    missing = joined["response"].isna()
    if missing.any():
        row = joined[missing].iloc[0]
        raise DataError(
            f"verdicts of {settings['model']} on {settings['benchmark']}: sample {row['problem_id']} "
            f"#{row['sample_idx']} has no response in the generations"
        )
    by_problem = dict(tuple(joined.sort_values(keys, kind="stable").groupby("problem_id", sort=False)))
    files, rows = {}, []
    empty = joined.iloc[0:0]
    for index, problem in enumerate(bench.itertuples(index=False)):
        problem = pd.Series(problem._asdict())
        samples = by_problem.get(problem["problem_id"], empty)
        files[f"p/{index:04d}.js"] = problem_file(index, problem, samples)
        rows.append(summary_row(index, problem, samples))
    title = f"{settings['model']} on {settings['benchmark']}"
    # mean@N: each problem weighs the same (an import may hold more samples of some)
    accuracy = (
        100 * float(joined.groupby("problem_id")["correct"].mean().mean()) if len(joined) else float("nan")
    )
    covered = joined["problem_id"].nunique()
    problems = f"{len(bench)} problems" if covered == len(bench) else f"{covered} of {len(bench)} problems"
    body = (
        '<p class="meta"><a href="../../../index.html">← results</a></p>'
        f"<h1>{esc(title)}</h1>"
        f'<p class="meta">{problems}, {len(joined)} samples, grading variant '
        f"<code>{esc(settings['variant'])}</code>; mean@N {accuracy:.2f} %. A click on a problem "
        "shows its statement and every sample.</p>"
        '<table class="sortable" id="problems"><thead><tr><th>#</th><th>problem</th><th>gold</th>'
        "<th>accuracy (%)</th><th>samples</th><th>distinct extracted answers (green: graded correct)</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<div id="detail"></div>'
    )
    files["index.html"] = document(title, body, scripts=["tables.js", "view.js"])
    return files


@command("problem-view", "one (model, benchmark) cell of the results page, problem by problem")
def problem_view(
    *,
    benchmark: Annotated[str, Arg("the prepared benchmark (Parquet)")],
    generations: Annotated[list[str], Arg("the pair's generation shards")],
    verdicts: Annotated[str, Arg("the primary variant's verdicts")],
    settings: Annotated[dict, Arg("JSON: model, benchmark, variant")],
    output: Annotated[str, Arg("the view's folder")],
) -> None:
    bench = read_parquet(benchmark, BENCHMARK)
    gens = read_shards(generations, GENERATIONS)
    verd = read_parquet(verdicts, VERDICTS)
    files = view_files(bench, verd, gens, settings)
    write_directory(output, files)
    size = sum(len(t.encode()) for t in files.values())
    log.info(
        "problem view of %s on %s: %d files, %.1f MB",
        settings["model"],
        settings["benchmark"],
        len(files),
        size / 1e6,
    )
