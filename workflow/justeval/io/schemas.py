"""Column schemas of the Parquet files that flow between the stages.

Every file is written through :func:`justeval.io.parquet.write_parquet`, which
casts to these schemas, so a file on disk always has exactly these columns in
this order. docs/outputs.md documents them for users.

The schema of the metrics files (metrics.parquet, scores.parquet) is not here: it is
derived from the metric declarations, :func:`justeval.metrics.scores.metrics_schema`.
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

# results/<model>/<benchmark>/imported.parquet: an imported sample's origin and the
# verdict and answer the file itself carries (the `provided` variant's)
IMPORTED = pa.schema(
    [
        ("problem_id", pa.string()),
        ("sample_idx", pa.int32()),
        ("source_file", pa.string()),  # the released file
        ("source_row", pa.int64()),  # its record (0-based) in that file
        ("source_id", pa.string()),  # the file's own problem id, as written; null if none
        ("provided_correct", pa.bool_()),  # the file's own verdict; null if it has none
        ("provided_answer", pa.string()),  # the file's own extracted answer; null if none
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
