"""``python -m justeval <stage>``: the command behind every pipeline rule.

Each command writes its log (and the output of the engine processes it starts)
to ``--log``; if it fails, one line naming the problem goes to the console.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import traceback
from pathlib import Path

from justeval.command import add_arguments, call
from justeval.io.parquet import DataError

log = logging.getLogger("justeval")


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

# Each command -> the stage module (one per rule file) whose entry function runs it:
# the function named like the command (`rule-grade`: `rule_grade`), marked @command,
# whose signature is the command's options. Only the module of the command being run
# is imported, so a job starts in the time its own stage needs.
COMMANDS = {
    "download-model": "download_model",
    "build-tiny-model": "download_model",
    "prepare-benchmark": "prepare_benchmark",
    "generate": "generate",
    "import-generations": "import_generations",
    "provided-verdicts": "import_generations",
    "rule-grade": "rule_grade",
    "model-grade": "model_grade",
    "aggregate": "aggregate",
    "collect-scores": "aggregate",
    "table": "tables",
    "compare": "tables",
    "sweep-table": "tables",
    "drilldown": "tables",
    "provenance": "tables",
    "plot": "plots",
    "cost": "cost",
    "overlap": "overlap",
    "overlap-accuracy": "overlap",
    "truncation": "truncation",
    "samples-needed": "samples_needed",
    "coverage": "coverage",
    "checkpoint-changes": "checkpoint_changes",
    "budget-grade": "budget",
    "budget-table": "budget",
    "problem-view": "problem_view",
    "results-page": "results_page",
    "log-trackers": "trackers",
}


def entry_point(name: str):
    """The stage function behind command ``name``: ``stages.<module>.<name with _>``."""
    module = importlib.import_module(f"justeval.stages.{COMMANDS[name]}")
    func = getattr(module, name.replace("-", "_"), None)
    if getattr(func, "command_name", None) != name:
        raise LookupError(f"{module.__name__} has no @command({name!r}) function {name.replace('-', '_')}")
    return func


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``only``, just that command's options are built."""
    p = argparse.ArgumentParser(prog="python -m justeval", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name in [only] if only in COMMANDS else COMMANDS:
        func = entry_point(name)
        s = sub.add_parser(name, help=func.command_help, description=func.command_help)
        s.set_defaults(func=func)
        s.add_argument("--log", help="log file (default: the console)")
        add_arguments(s, func)
    return p


EXPECTED_ERRORS = (DataError, OSError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser(argv[0] if argv else None).parse_args(argv)
    with job_log(args.log) as console:
        try:
            call(args.func, args)
        except Exception as exc:
            from justeval.engine.vllm_engine import EngineError
            from justeval.sources.models import ModelError

            expected = isinstance(exc, (*EXPECTED_ERRORS, EngineError, ModelError))
            if args.log or not expected:
                # the traceback goes to the job log; on the console an expected error
                # (bad input, a missing file) is the one line below and nothing else
                log.error("%s failed:\n%s", args.command, traceback.format_exc())
            where = f" (log: {args.log})" if args.log else ""
            kind = "" if expected else f"{type(exc).__name__}: "
            print(f"justeval {args.command}: error: {kind}{exc}{where}", file=console, flush=True)
            return 1
    return 0
