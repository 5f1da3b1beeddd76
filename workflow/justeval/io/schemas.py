"""Column schemas of the Parquet files that flow between the stages.

Every file is written through :func:`justeval.io.parquet.write_parquet`, which
casts to these schemas, so a file on disk always has exactly these columns in
this order. docs/outputs.md documents them for users.
"""

from __future__ import annotations

import pyarrow as pa

# data/benchmarks/<benchmark>.parquet: one row per problem
BENCHMARK = pa.schema(
    [
        ("problem_id", pa.string()),  # unique within the benchmark
        ("problem", pa.string()),  # the problem statement, stripped
        ("answer", pa.string()),  # gold final answer, \boxed{} and $...$ removed
        ("answer_raw", pa.string()),  # the gold answer as the source gives it
        ("source_row", pa.int32()),  # row number in the source file
    ]
)

# results/<model>/<benchmark>/generations/shard-<k>.parquet: one row per sample
GENERATIONS = pa.schema(
    [
        ("problem_id", pa.string()),
        ("sample_idx", pa.int32()),  # 0 .. N-1
        ("seed", pa.int64()),  # per-request seed, derived from (base_seed, sample_idx)
        ("response", pa.string()),  # the generated text
        ("prompt_tokens", pa.int32()),
        ("completion_tokens", pa.int32()),
        ("finish_reason", pa.string()),  # stop | length | abort
        ("model", pa.string()),  # model alias
        ("settings_hash", pa.string()),  # hash of the generation settings
    ]
)

# results/<model>/<benchmark>/rule_grades/shard-<k>.parquet: one row per sample
RULE_GRADES = pa.schema(
    [
        ("problem_id", pa.string()),
        ("sample_idx", pa.int32()),
        ("extracted_answer", pa.string()),  # content of the last \boxed{}; null if none
        ("rule_correct", pa.bool_()),
        ("status", pa.string()),  # match | mismatch | no_answer | timeout | error
        ("layer", pa.string()),  # what decided: extract | string | number | structure | numeric | ...
        ("grader", pa.string()),  # grader name
    ]
)

# results/<model>/<benchmark>/verdicts.parquet: one row per sample, final verdicts
VERDICTS = pa.schema(
    [
        ("problem_id", pa.string()),
        ("sample_idx", pa.int32()),
        ("seed", pa.int64()),
        ("extracted_answer", pa.string()),
        ("rule_correct", pa.bool_()),
        ("status", pa.string()),
        ("layer", pa.string()),
        ("sent_to_verifier", pa.bool_()),
        ("verifier_verdict", pa.string()),  # A | B | C | unparsed; null if not sent
        ("verifier_output", pa.string()),  # raw verifier text; null if not sent
        ("input_truncated", pa.bool_()),  # response cut from the front to fit the verifier
        ("correct", pa.bool_()),  # rule_correct OR verifier_verdict == "A"
        ("completion_tokens", pa.int32()),  # null for imports without a tokenizer
        ("finish_reason", pa.string()),
        ("response_chars", pa.int32()),  # length of the response in characters
    ]
)

# results/<model>/<benchmark>/<variant>/metrics.parquet (one row) and
# results/<model>/<benchmark>/scores.parquet (one row per grading variant).
# Percentages are in %. The pass@k and maj@k columns follow these, one per k.
METRICS_COLUMNS = [
    ("model", pa.string()),
    ("benchmark", pa.string()),
    ("variant", pa.string()),  # grading variant
    ("n_problems", pa.int32()),
    ("n_samples", pa.int32()),  # N, samples per problem
    ("mean_at_n", pa.float64()),  # mean@N accuracy
    ("sampling_se", pa.float64()),  # standard error from the samples, these problems fixed
    ("sampling_ci_low", pa.float64()),  # mean@N -/+ 1.96 sampling_se
    ("sampling_ci_high", pa.float64()),
    ("bootstrap_ci_low", pa.float64()),  # 95 % bootstrap over problems
    ("bootstrap_ci_high", pa.float64()),
    ("n_responses", pa.int32()),
    ("n_correct", pa.int32()),
    ("n_rule_correct", pa.int32()),
    ("n_sent_to_verifier", pa.int32()),
    ("n_verifier_recovered", pa.int32()),
    ("n_verifier_invalid", pa.int32()),  # verdict C
    ("n_verifier_unparsed", pa.int32()),
    ("n_no_answer", pa.int32()),
    ("no_answer_rate", pa.float64()),
    ("n_truncated", pa.int32()),  # finish_reason == length
    ("truncation_rate", pa.float64()),
    ("accuracy_without_truncated", pa.float64()),
    ("solve_none", pa.int32()),  # problems with no correct sample
    ("solve_all", pa.int32()),  # problems with every sample correct
    ("length_unit", pa.string()),  # of the length columns: tokens, or characters when not counted
    ("mean_completion_tokens", pa.float64()),
    ("tokens_correct_mean", pa.float64()),
    ("tokens_correct_median", pa.float64()),
    ("tokens_correct_p90", pa.float64()),
    ("tokens_incorrect_mean", pa.float64()),
    ("tokens_incorrect_median", pa.float64()),
    ("tokens_incorrect_p90", pa.float64()),
    ("distinct_4gram_ratio", pa.float64()),  # distinct / all 4-grams of a problem's responses, averaged
]


def metrics_schema(ks: list[int], majority: bool = True) -> pa.Schema:
    """The metrics schema for a benchmark's k values."""
    extra = [(f"pass@{k}", pa.float64()) for k in ks]
    if majority:
        extra += [(f"maj@{k}", pa.float64()) for k in ks]
    return pa.schema(METRICS_COLUMNS + extra)
