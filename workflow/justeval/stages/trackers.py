"""The trackers stage: the run's results, logged to MLflow and/or Weights & Biases.

Optional and off by default (docs/trackers.md). What is logged, the same names in both:

* every cell of the headline table as a metric ``accuracy/<model>/<benchmark>`` (``Avg``
  for the average; a secondary grading variant's cells end in ``/<variant>``), and the
  table itself as ``accuracy``;
* in a sweep run, the series ``eval/<benchmark>`` and ``eval/Avg`` against the training
  step (``eval/<run>/<benchmark>`` when the sweep holds several training runs), and the
  sweep table as ``sweep``;
* each analysis table the run has, as a table named like its file (``budget``, ...).

A tracker that cannot log (package missing, server down, bad credentials, too slow) costs
one warning line in the log and in the receipt, never a failed job: the results are
written before this stage runs and nothing here changes them. Each tracker gets at most
``timeout_s`` seconds (30 by default): its requests' own timeouts are set from it and it
runs in a thread that the stage stops waiting for when the time is up.

The tracker packages are optional extras (``pip install -e ".[mlflow]"`` / ``".[wandb]"``),
imported only when their tracker is enabled.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import pandas as pd

from justeval.command import Arg, command
from justeval.io.parquet import write_text_atomic

log = logging.getLogger(__name__)

TIMEOUT_S = 30.0  # per tracker, unless settings say otherwise
TRACKERS = ("mlflow", "wandb")
EXTRA = {"mlflow": "mlflow", "wandb": "wandb"}
MLFLOW_BATCH = 1000  # MLflow's limit of metrics per log_batch request

# `AIME24 (@32)` and `AIME24 (@32) · <variant>` (metrics/formatting.py column_label), and
# `Avg` / `Avg · <variant>`
CELL = re.compile(r"^(?P<bench>.+?) \(@\d+\)(?: · (?P<variant>.+))?$")
AVG = re.compile(r"^(?P<bench>Avg)(?: · (?P<variant>.+))?$")
BAD_CHARS = re.compile(r"[^\w.\- :]")  # what MLflow allows in a name, besides "/"


# ---------------------------------------------------------------- what is logged


@dataclass
class Payload:
    """Everything a tracker logs, read once from the run's tables."""

    metrics: dict[str, float] = field(default_factory=dict)  # key -> value, in table order
    series: list[tuple[str, int, float]] = field(default_factory=list)  # (key, step, value)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # name -> table
    files: dict[str, Path] = field(default_factory=dict)  # name -> its CSV file
    skipped: list[str] = field(default_factory=list)  # tables that could not be read

    def series_keys(self) -> list[str]:
        return list(dict.fromkeys(key for key, _, _ in self.series))


def _part(text: str) -> str:
    """One component of a metric name: MLflow's characters, no '/', never '.' or '..'."""
    part = BAD_CHARS.sub("_", str(text).strip()).replace("/", "_")
    return "_" if part in ("", ".", "..") else part


def cell_key(model: str, column: str) -> str:
    """The metric name of one cell of the accuracy table."""
    match = CELL.match(column) or AVG.match(column)
    parts = [match["bench"], match["variant"]] if match else [column, None]
    return "/".join(_part(p) for p in ["accuracy", model, *parts] if p is not None)


def accuracy_metrics(table: pd.DataFrame) -> dict[str, float]:
    """Every numeric cell of the accuracy table, by metric name; missing cells are left out."""
    out = {}
    for _, row in table.iterrows():
        for column in table.columns[1:]:
            value = pd.to_numeric(row[column], errors="coerce")
            if pd.notna(value) and math.isfinite(float(value)):
                out[cell_key(row.iloc[0], column)] = float(value)
    return out


def sweep_series(table: pd.DataFrame) -> list[tuple[str, int, float]]:
    """(key, training step, mean@N) of every point of the sweep table (tables.py
    `sweep_frame`: run, step, model, benchmark, mean_at_n, ...), in step order."""
    if table.empty:
        return []
    several = table["run"].nunique() > 1
    points = []
    for row in table.itertuples(index=False):
        value = pd.to_numeric(row.mean_at_n, errors="coerce")
        if pd.isna(value) or pd.isna(row.step):
            continue
        parts = ["eval", row.run, row.benchmark] if several else ["eval", row.benchmark]
        points.append(("/".join(_part(p) for p in parts), int(row.step), float(value)))
    return sorted(points, key=lambda p: p[1])


def _read_csv(path: str, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A table as the run wrote it; only an empty cell is missing (a model named `NA`
    stays a name)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={c: str for c in text_columns})


def read_payload(accuracy: str, sweep: str | None, tables: list[str] | tuple[str, ...]) -> Payload:
    table = _read_csv(accuracy, ("model",))
    payload = Payload(metrics=accuracy_metrics(table))
    payload.tables["accuracy"], payload.files["accuracy"] = table, Path(accuracy)
    if sweep:
        frame = _read_csv(sweep, ("run", "model", "benchmark"))
        payload.series = sweep_series(frame)
        payload.tables["sweep"], payload.files["sweep"] = frame, Path(sweep)
    for path in tables:
        name = Path(path).stem
        if name in payload.tables:
            continue
        try:
            payload.tables[name] = _read_csv(path)
        except (OSError, ValueError) as err:  # an empty or unreadable file: log the rest
            log.warning("trackers: table %s not logged: %s", path, _one_line(err))
            payload.skipped.append(name)
            continue
        payload.files[name] = Path(path)
    return payload


# ---------------------------------------------------------------- running a tracker


class MissingPackage(ImportError):
    """The tracker's package itself is not installed (not one of its own imports)."""


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise MissingPackage(str(err)) from err


def _one_line(err: BaseException, limit: int = 400) -> str:
    """The error on one line, its middle cut when long (the cause is often at the end)."""
    text = " ".join(str(err).split()) or type(err).__name__
    if len(text) > limit:
        text = text[: limit // 2] + " … " + text[-(limit // 2) :]
    return f"{type(err).__name__}: {text}" if type(err).__name__ not in text else text


@contextmanager
def _environ(values: dict[str, str], quiet: tuple[str, ...] = ()) -> Iterator[None]:
    """Environment variables set for the duration (the tracker libraries read them), and
    the libraries' loggers held to errors (their retries and their own warnings: a
    failure is the stage's one warning line)."""
    old = {k: os.environ.get(k) for k in values}
    levels = {name: logging.getLogger(name).level for name in quiet}
    os.environ.update(values)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _check(deadline: float, where: str) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"out of time before {where}")


def _attempt(
    name: str,
    func: Callable[[dict, Payload, dict, float, dict], None],
    config: dict,
    payload: Payload,
    run: dict,
    budget: float,
) -> dict:
    """Run one tracker in a thread for at most ``budget`` seconds; its receipt entry.
    ``progress`` is what the tracker has done so far, read even if it hangs."""
    progress: dict = {}
    outcome: dict[str, BaseException | None] = {}
    deadline = time.monotonic() + budget

    def target():
        try:
            func(config, payload, run, deadline, progress)
            outcome["error"] = None
        except BaseException as err:  # a tracker never fails the job
            outcome["error"] = err

    started = time.monotonic()
    with _environ(_environment(name, budget), quiet=(name, "urllib3", "requests")):
        thread = threading.Thread(target=target, name=f"justeval-{name}", daemon=True)
        thread.start()
        thread.join(budget + 2)  # the tracker's own timeouts fire first, with a better message
    seconds = time.monotonic() - started
    if "error" not in outcome:
        warning = f"{name}: not logged: gave up after {budget:g} s ({progress.get('doing', 'starting')})"
    elif isinstance(outcome["error"], MissingPackage):
        warning = (
            f"{name}: not logged: the package is not installed "
            f'(pip install -e ".[{EXTRA[name]}]"): {_one_line(outcome["error"])}'
        )
    elif outcome["error"] is not None:
        warning = f"{name}: not logged ({progress.get('doing', 'starting')}): {_one_line(outcome['error'])}"
    else:
        warning = None
    logged = warning is None
    if warning:
        log.warning(warning)
    else:
        log.info("%s: logged in %.1f s (%s)", name, seconds, progress.get("url") or progress.get("location"))
    return _entry(
        enabled=True,
        logged=logged,
        run_id=progress.get("run_id"),
        url=progress.get("url"),
        location=progress.get("location"),
        metrics=list(payload.metrics) if logged else [],
        series=payload.series_keys() if logged else [],
        tables=list(payload.files) if logged else [],
        warning=warning,
    )


def _entry(**values) -> dict:
    base = {"enabled": False, "logged": False, "run_id": None, "url": None, "location": None}
    return {**base, "metrics": [], "series": [], "tables": [], "warning": None, **values}


def _environment(name: str, budget: float) -> dict[str, str]:
    """Environment variables that bound the tracker's network time and keep it quiet."""
    if name == "mlflow":
        # one retry, each request at most a third of the budget: a server that does not
        # answer costs at most two requests' timeouts and a one-second backoff
        return {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, int(budget / 3))),
            "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
            "MLFLOW_LOGGING_LEVEL": "ERROR",  # read when mlflow is first imported
        }
    return {"WANDB_SILENT": "true", "WANDB_CONSOLE": "off"}


# ---------------------------------------------------------------- MLflow


def _log_mlflow(config: dict, payload: Payload, run: dict, deadline: float, progress: dict) -> None:
    progress["doing"] = "importing mlflow"
    mlflow = _import("mlflow")
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = config.get("tracking_uri") or mlflow.get_tracking_uri()
    progress.update(location=uri, doing=f"connecting to {uri}")
    client = MlflowClient(tracking_uri=uri)
    name = config.get("experiment") or "justeval"
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        progress["doing"] = f"creating experiment {name}"
        try:
            experiment_id = client.create_experiment(name)
        except MlflowException:  # created meanwhile by another job
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
            experiment_id = experiment.experiment_id
    else:
        experiment_id = experiment.experiment_id
    _check(deadline, "creating the run")
    progress["doing"] = "creating the run"
    tags = {"justeval.config_sha256": run.get("config_sha256") or "", "justeval.run": run.get("name") or ""}
    created = client.create_run(experiment_id, run_name=_run_name(config, run), tags=tags)
    run_id = created.info.run_id
    progress["run_id"] = run_id
    if uri.startswith(("http://", "https://")):
        progress["url"] = f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, 0) for key, value in payload.metrics.items()]
    metrics += [Metric(key, value, now, step) for key, step, value in payload.series]
    for start in range(0, len(metrics), MLFLOW_BATCH):
        _check(deadline, "logging the metrics")
        progress["doing"] = "logging the metrics"
        client.log_batch(run_id, metrics=metrics[start : start + MLFLOW_BATCH], synchronous=True)
    for table, path in payload.files.items():
        _check(deadline, f"logging table {table}")
        progress["doing"] = f"logging table {table}"
        client.log_artifact(run_id, str(path), artifact_path="tables")
        if path.name != f"{table}.csv":  # the artifact is named after the table
            client.log_text(run_id, path.read_text(), f"tables/{table}.csv")
        client.log_table(run_id, data=payload.tables[table], artifact_file=f"tables/{table}.json")
    _check(deadline, "closing the run")
    progress["doing"] = "closing the run"
    client.set_terminated(run_id, "FINISHED")
    progress["doing"] = "done"


def _run_name(config: dict, run: dict) -> str | None:
    return config.get("run_name") or run.get("name") or None


# ---------------------------------------------------------------- Weights & Biases


def _log_wandb(config: dict, payload: Payload, run: dict, deadline: float, progress: dict) -> None:
    progress["doing"] = "importing wandb"
    wandb = _import("wandb")

    left = max(1.0, deadline - time.monotonic())
    wanted = {
        "init_timeout": max(1.0, 0.6 * left),
        "finish_timeout": max(1.0, 0.35 * left),
        "finish_timeout_raises": True,
        "silent": True,
        "console": "off",
        "save_code": False,
        "disable_git": True,
        "disable_job_creation": True,
        "x_disable_stats": True,
        "x_save_requirements": False,
    }
    known = getattr(wandb.Settings, "model_fields", wanted)
    settings = wandb.Settings(**{k: v for k, v in wanted.items() if k in known})
    mode = config.get("mode") or "online"
    folder = config.get("dir")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
    progress.update(location=folder, doing=f"starting the {mode} run")
    handle = wandb.init(
        project=config.get("project") or "justeval",
        entity=config.get("entity") or None,
        mode=mode,
        dir=folder or None,
        name=_run_name(config, run),
        config={"justeval_config_sha256": run.get("config_sha256"), "justeval_run": run.get("name")},
        tags=["justeval"],
        settings=settings,
        reinit="create_new",
    )
    progress["run_id"] = handle.id
    actual = getattr(handle.settings, "mode", mode)
    if actual == "disabled" or getattr(handle, "disabled", False):
        handle.finish()
        raise RuntimeError("W&B is disabled in this environment (WANDB_MODE=disabled?)")
    sync_dir = getattr(handle.settings, "sync_dir", None)
    progress["location"] = str(sync_dir) if actual == "offline" and sync_dir else folder
    progress["url"] = handle.url if actual != "offline" else None
    progress["doing"] = "logging the sweep"
    steps: dict[int, dict[str, float]] = {}
    for key, step, value in payload.series:
        steps.setdefault(step, {})[key] = value
    for step in sorted(steps):
        handle.log(steps[step], step=step)
    progress["doing"] = "logging the metrics and tables"
    handle.summary.update(payload.metrics)
    tables = {f"tables/{name}": _wandb_table(wandb, frame) for name, frame in payload.tables.items()}
    if tables:
        handle.log(tables)  # at the last step of the sweep, or step 0
    progress["doing"] = "finishing the run (uploading)" if actual != "offline" else "finishing the run"
    handle.finish()
    progress["doing"] = "done"


def _wandb_table(wandb, frame: pd.DataFrame):
    cells = frame.astype(object).where(frame.notna(), None)
    columns = [str(c) for c in frame.columns]
    return wandb.Table(columns=columns, data=cells.values.tolist(), allow_mixed_types=True)


# ---------------------------------------------------------------- the command

LOGGERS = {"mlflow": _log_mlflow, "wandb": _log_wandb}


def _run_of_this_config() -> dict:
    """The run's name and config hash, from the provenance every job is handed (not a
    param: a config edit that changes no table must not log a new tracker run)."""
    from justeval.io.provenance import record

    sha = record().get("config_sha256") or ""
    return {"config_sha256": sha, "name": f"justeval-{sha[:8]}" if sha else "justeval"}


@command("log-trackers", "log the headline table, sweep curves and analysis tables to MLflow / W&B")
def log_trackers(
    *,
    accuracy: Annotated[str, Arg("the headline table (results/tables/accuracy.csv)")],
    sweep: Annotated[str | None, Arg("the sweep table (results/tables/sweep.csv), in sweep runs")] = None,
    tables: Annotated[list[str], Arg("analysis tables (.csv) to log as tables")] = (),
    settings: Annotated[dict, Arg("the `trackers` settings and the run's name and config hash (JSON)")],
    receipt: Annotated[str, Arg("what was logged, per tracker (.json)")],
) -> None:
    enabled = [name for name in TRACKERS if (settings.get(name) or {}).get("enabled")]
    payload = read_payload(accuracy, sweep, tables) if enabled else Payload()
    run = settings.get("run") or _run_of_this_config()
    budget = float(settings.get("timeout_s") or TIMEOUT_S)
    out = {}
    for name in TRACKERS:
        if name in enabled:
            out[name] = _attempt(name, LOGGERS[name], settings[name], payload, run, budget)
        else:
            out[name] = _entry()
    out["skipped_tables"] = payload.skipped
    write_text_atomic(receipt, json.dumps(out, indent=2, sort_keys=True) + "\n")
