"""``python -m justeval <stage>``: the command behind every pipeline rule.

Each command writes its log (and the output of the engine processes it starts)
to ``--log``; if it fails, one line naming the problem goes to the console.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import traceback
from pathlib import Path

from .parquet_io import DataError

log = logging.getLogger("justeval")


def _json(text: str) -> dict:
    return json.loads(text) if text else {}


def _layout(text: str) -> dict:
    """Settings of the cross-model files, with `models` and `benchmarks` back in
    config order (the JSON in params has sorted keys; `order` keeps the order)."""
    settings = _json(text)
    order = settings.pop("order", None)
    if order:
        for key in ("models", "benchmarks"):
            settings[key] = {name: settings[key][name] for name in order[key]}
    return settings


@contextlib.contextmanager
def job_log(path: str | None):
    """Send this process's stdout/stderr (and its children's) to ``path``.

    Yields a stream on the original stderr, for the one-line error message.
    """
    if not path:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        yield sys.stderr
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    console = os.fdopen(os.dup(2), "w", buffering=1)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(path, "w") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        yield console
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


# ------------------------------------------------------------------ commands


def cmd_download_model(args) -> None:
    from .models import download_model, write_manifest

    cache = None if args.hub_cache in ("", "default") else args.hub_cache
    write_manifest(download_model(_json(args.settings), cache), args.manifest)


def cmd_build_tiny_model(args) -> None:
    from .models import build_tiny, write_manifest

    write_manifest(build_tiny(_json(args.settings), args.weights), args.manifest)


def cmd_prepare_benchmark(args) -> None:
    from .benchmarks import prepare
    from .parquet_io import write_parquet
    from .schemas import BENCHMARK

    settings = _json(args.settings)
    pin = None if args.sha256 in (None, "", "none") else args.sha256
    frame, metadata = prepare(args.name, settings["source"], settings.get("limit"), pin)
    write_parquet(frame, args.output, BENCHMARK, metadata)
    log.info("%s: %d problems from %s", args.name, len(frame), settings["source"])


def cmd_generate(args) -> None:
    from .generate import run

    run(
        args.benchmark,
        args.model_manifest,
        args.model,
        args.shard,
        _json(args.settings),
        _json(args.engine_options),
        args.output,
    )


def cmd_rule_grade(args) -> None:
    from .rule_grade import grade_file, run

    if args.benchmark:
        settings = _json(args.settings) or {"grader": args.grader, "timeout": args.timeout}
        run(args.input, args.benchmark, settings, args.output, jobs=args.jobs or 1)
    else:
        grade_file(
            args.input,
            args.output,
            grader=args.grader,
            timeout=args.timeout,
            jobs=args.jobs,
            gold_column=args.gold_column,
            response_column=args.response_column,
        )


def cmd_model_grade(args) -> None:
    from .model_grade import run

    run(
        args.benchmark,
        args.generations,
        args.grades,
        (args.verifier_manifest or [None])[0],
        (args.prompt or [None])[0],
        _json(args.settings),
        _json(args.engine_options),
        args.output,
        args.audit_md,
        args.audit_json,
        cache_dir=args.cache_dir or None,
    )


def cmd_aggregate(args) -> None:
    from .aggregate import run_aggregate

    run_aggregate(
        args.input,
        args.benchmark,
        args.generations,
        args.model,
        args.benchmark_name,
        args.variant,
        _json(args.settings),
        args.output,
        args.details,
    )


def cmd_collect_scores(args) -> None:
    from .aggregate import collect_scores

    collect_scores(args.metrics, args.output)


def cmd_table(args) -> None:
    from .aggregate import run_table

    run_table(args.scores, _layout(args.settings), args.accuracy, args.scores_out)


def cmd_compare(args) -> None:
    from .report import run_compare

    run_compare(args.verdicts, args.metrics, args.published, _layout(args.settings), args.markdown, args.csv)


def cmd_drilldown(args) -> None:
    from .report import run_drilldown

    run_drilldown(args.benchmark, args.verdicts, _json(args.settings), args.parquet, args.markdown)


def cmd_provenance(args) -> None:
    from .report import run_provenance

    run_provenance(args.manifests, args.benchmarks, args.output)


def cmd_plot(args) -> None:
    from . import plots

    settings = _layout(args.settings)
    primary = settings["variants"][0]
    if args.kind == "pass-at-k":
        plots.pass_at_k_plot(args.inputs, args.name, args.outputs, primary)
    elif args.kind == "lengths":
        plots.lengths_plot(args.inputs, args.name, args.outputs)
    else:
        plots.steps_plot(args.inputs, args.name, settings["models"], args.outputs, primary)


def cmd_import_generations(args) -> None:
    from .importers import import_generations

    import_generations(args.input, args.output, args.benchmark, args.model, _json(args.settings))


def cmd_provided_verdicts(args) -> None:
    from .importers import provided_verdicts

    provided_verdicts(args.input, args.output, args.benchmark, args.generations)


def parser() -> argparse.ArgumentParser:
    from .grading.runner import GRADERS

    p = argparse.ArgumentParser(prog="python -m justeval", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, func, help_):
        s = sub.add_parser(name, help=help_)
        s.set_defaults(func=func)
        s.add_argument("--log", help="log file (default: the console)")
        return s

    s = command("download-model", cmd_download_model, "resolve a hub or local model into a manifest")
    s.add_argument("--settings", required=True, help="model identity (JSON)")
    s.add_argument("--hub-cache", default="default", help="cache folder; 'default': huggingface_hub's own")
    s.add_argument("--manifest", required=True)

    s = command("build-tiny-model", cmd_build_tiny_model, "build a tiny local model (tests, smoke run)")
    s.add_argument("--settings", required=True)
    s.add_argument("--weights", required=True, help="folder for the weights")
    s.add_argument("--manifest", required=True)

    s = command("prepare-benchmark", cmd_prepare_benchmark, "canonical Parquet of one benchmark")
    s.add_argument("--name", required=True)
    s.add_argument("--settings", required=True, help='JSON: {"source", "limit", "version"}')
    s.add_argument("--sha256", default="none", help="the source file's expected sha256 ('none': unpinned)")
    s.add_argument("--output", required=True)

    s = command("generate", cmd_generate, "sample one shard with vLLM")
    s.add_argument("--benchmark", required=True)
    s.add_argument("--model-manifest", nargs="?", default="", help="none for endpoint models")
    s.add_argument("--model", required=True, help="model alias")
    s.add_argument("--shard", type=int, required=True)
    s.add_argument("--settings", required=True)
    s.add_argument("--engine-options", default="{}")
    s.add_argument("--output", required=True)

    s = command(
        "rule-grade",
        cmd_rule_grade,
        "grade responses with a rule grader: a pipeline shard (--benchmark) or any Parquet/JSONL file",
    )
    s.add_argument("input", help="Parquet or JSON-lines file")
    s.add_argument("output", help="Parquet or JSON-lines file (by extension)")
    s.add_argument("--benchmark", help="pipeline mode: canonical benchmark file with the gold answers")
    s.add_argument("--settings", default="", help="pipeline mode: grading settings (JSON)")
    s.add_argument("--grader", default="justeval", choices=list(GRADERS))
    s.add_argument("--timeout", type=float, default=5.0, help="seconds per comparison (default 5)")
    s.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    s.add_argument("--gold-column", default="answer")
    s.add_argument("--response-column", default="response", help="a string or a list of strings per row")

    s = command("model-grade", cmd_model_grade, "verifier model on the rule grader's rejections")
    s.add_argument("--benchmark", required=True)
    s.add_argument("--generations", nargs="+", required=True)
    s.add_argument("--grades", nargs="+", required=True)
    s.add_argument("--verifier-manifest", nargs="*")
    s.add_argument("--prompt", nargs="*")
    s.add_argument("--settings", required=True)
    s.add_argument("--engine-options", default="{}")
    s.add_argument("--cache-dir", default="", help="per-row verifier cache folder ('' for none)")
    s.add_argument("--output", required=True)
    s.add_argument("--audit-md", required=True)
    s.add_argument("--audit-json", required=True)

    s = command("aggregate", cmd_aggregate, "metrics of one model, benchmark and grading variant")
    s.add_argument("input", help="verdicts file")
    s.add_argument("output", help="metrics Parquet file (one row)")
    s.add_argument("--details", required=True, help="JSON file: the metrics and per-sample/problem details")
    s.add_argument("--benchmark", required=True)
    s.add_argument("--generations", nargs="+", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--benchmark-name", required=True)
    s.add_argument("--variant", default="main")
    s.add_argument("--settings", required=True)

    s = command("collect-scores", cmd_collect_scores, "the metrics of every variant of a (model, benchmark)")
    s.add_argument("metrics", nargs="+")
    s.add_argument("--output", required=True)

    s = command("table", cmd_table, "the cross-model tables")
    s.add_argument("scores", nargs="+")
    s.add_argument("--settings", required=True)
    s.add_argument("--accuracy", nargs="+", required=True)
    s.add_argument("--scores", dest="scores_out", nargs="+", required=True)

    s = command("compare", cmd_compare, "published figures, paired bootstraps, grading variants")
    s.add_argument("--verdicts", nargs="+", required=True)
    s.add_argument("--metrics", nargs="+", required=True)
    s.add_argument("--published", required=True)
    s.add_argument("--settings", required=True)
    s.add_argument("--markdown", nargs=3, required=True, help="published, paired, variants (.md)")
    s.add_argument("--csv", nargs=3, required=True, help="published, paired, variants (.csv)")

    s = command("drilldown", cmd_drilldown, "per-problem accuracy and answers of every model")
    s.add_argument("--benchmark", required=True)
    s.add_argument("--verdicts", nargs="+", required=True)
    s.add_argument("--settings", required=True, help="JSON: the grader that groups answers")
    s.add_argument("--parquet", required=True)
    s.add_argument("--markdown", required=True)

    s = command("provenance", cmd_provenance, "what the run's numbers trace back to")
    s.add_argument("--manifests", nargs="*", default=[])
    s.add_argument("--benchmarks", nargs="+", required=True)
    s.add_argument("--output", required=True)

    s = command("plot", cmd_plot, "pass@k curves, response lengths, accuracy by step")
    s.add_argument("kind", choices=["pass-at-k", "lengths", "steps"])
    s.add_argument("name", help="benchmark (pass-at-k, steps) or model (lengths)")
    s.add_argument("--inputs", nargs="+", required=True)
    s.add_argument("--settings", required=True)
    s.add_argument("--outputs", nargs="+", required=True)

    s = command("import-generations", cmd_import_generations, "existing outputs in the generation schema")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--benchmark", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--settings", required=True)

    s = command("provided-verdicts", cmd_provided_verdicts, "the verdicts an imported file carries")
    s.add_argument("input")
    s.add_argument("output")
    s.add_argument("--benchmark", required=True)
    s.add_argument("--generations", nargs="+", required=True)
    return p


EXPECTED_ERRORS = (DataError, OSError)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with job_log(args.log) as console:
        try:
            args.func(args)
        except Exception as exc:
            from .config import ConfigError
            from .engine import EngineError
            from .models import ModelError

            expected = isinstance(exc, (*EXPECTED_ERRORS, ConfigError, EngineError, ModelError))
            if args.log or not expected:
                # the traceback goes to the job log; on the console an expected error
                # (bad input, a missing file) is the one line below and nothing else
                log.error("%s failed:\n%s", args.command, traceback.format_exc())
            where = f" (log: {args.log})" if args.log else ""
            kind = "" if expected else f"{type(exc).__name__}: "
            print(f"justeval {args.command}: error: {kind}{exc}{where}", file=console, flush=True)
            return 1
    return 0
