"""Generation through an OpenAI-compatible server (a vLLM or SGLang server a user runs).

Requests go to ``/v1/chat/completions`` (the server applies the model's chat
template) with the same per-request seed as offline runs, at most
``endpoint_concurrency`` at a time. Each finished sample is handed over at once
(the generate stage journals it), so a killed job resumes where it stopped.

What counts as an answer: a JSON object whose first choice has a string
``content`` and the finish reason ``stop`` or ``length``, the two an offline vLLM
run ends a sample with. Anything else is a failed attempt, retried like a 5xx:
null or missing content, another finish reason (vLLM's ``abort`` and ``error``
mean the server cut the request short, its ``repetition`` and OpenAI's
``content_filter`` and ``tool_calls`` are nothing this pipeline asks for), no
choices, a body that is not JSON. A 429, a 5xx, a timeout or a dropped connection
is retried too; any other HTTP error stops the job with the server's message.

When a job gives up (the numbers are the constants below; :class:`Policy`):

- the server is down: it must answer a first ``GET /models`` within seconds
  ("cannot reach URL: connection refused"), and while requests are outstanding
  it is asked again at each progress line; a server that has not answered for
  ``DOWN_AFTER`` seconds ends the job;
- an attempt takes longer than ``request_timeout`` (or, where that is null,
  ``TIMEOUT_FLOOR + max_tokens / SLOW_TOKENS_PER_S``): it is retried only if
  some other request finished while it waited; if none did, the server is stuck
  and the job ends;
- a request keeps failing: after ``max_retries`` retries, or (the default) once
  ``RETRY_WINDOW`` seconds have passed since its first failure. The error names
  the request (problem and sample), the URL and the last reason.

While requests are outstanding, a progress line goes to the log every
``PROGRESS_EVERY`` seconds: done, in flight, queued, failed attempts, retries and
the oldest request's wait.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import queue
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from justeval.engine.stats import EngineStats
from justeval.engine.vllm_engine import EngineError, sampling_fields, trace_requests
from justeval.io.retry import with_retries

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
COMPLETE_FINISH_REASONS = ("stop", "length")

# the derived defaults (docs/cluster.md, "Served models")
TIMEOUT_FLOOR = 60.0  # seconds of an attempt that are not decoding: connection, queue, prefill
SLOW_TOKENS_PER_S = 16.0  # a slow server's decoding speed for one request among many
RETRY_WINDOW = 300.0  # seconds after a request's first failure during which it is retried
CONNECT_TIMEOUT = 10.0  # seconds to open a connection to the server
PROBE_TIMEOUT = 10.0  # seconds for the server to answer GET /models
REACH_WITHIN = 5.0  # seconds of retries before "cannot reach" at the start
DOWN_AFTER = 120.0  # seconds without an answer to GET /models while requests are outstanding
PROGRESS_EVERY = 30.0  # seconds between progress lines
BACKOFF_CAP = 60.0


class EndpointError(EngineError):
    """The server failed a request for good; the text names the request and why."""


@dataclass(frozen=True)
class Completion:
    """What the generate stage needs of one answer."""

    text: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None


@dataclass(frozen=True)
class Policy:
    """How long an attempt may take and how long a request is retried."""

    timeout: float  # seconds per attempt
    retries: int | None  # retries per request; None: the retry window decides
    window: float | None  # seconds after a request's first failure to retry it in
    concurrency: int
    rule: str = ""  # how the timeout was derived ("" where request_timeout gave it)

    @classmethod
    def from_options(cls, options: dict, max_tokens: int | None) -> Policy:
        """The engine options' ``request_timeout``/``max_retries`` where given (not null),
        else derived: ``TIMEOUT_FLOOR + max_tokens / SLOW_TOKENS_PER_S`` seconds per
        attempt, retries for ``RETRY_WINDOW`` seconds after the first failure."""
        timeout, rule = options.get("request_timeout"), ""
        if timeout is None:
            timeout = derived_timeout(max_tokens)
            rule = f" ({TIMEOUT_FLOOR:.0f} s + {max_tokens or 0} tokens at {SLOW_TOKENS_PER_S:.0f} tokens/s)"
        retries = options.get("max_retries")
        return cls(
            timeout=float(timeout),
            retries=retries,
            window=RETRY_WINDOW if retries is None else None,
            concurrency=options.get("endpoint_concurrency") or 16,
            rule=rule,
        )

    def describe(self) -> str:
        if self.retries is not None:
            retry = f"at most {self.retries} retries per request"
        else:
            retry = f"retries until {self.window:.0f} s after a request's first failure"
        return f"{self.timeout:.0f} s per attempt{self.rule}, {retry}"


def derived_timeout(max_tokens: int | None) -> float:
    """Seconds one attempt may take: a floor plus the token budget at a slow speed."""
    return round(TIMEOUT_FLOOR + (max_tokens or 0) / SLOW_TOKENS_PER_S)


def request_body(model: str, message: str, settings: dict, seed: int) -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": message}],
        **sampling_fields(settings, seed),
    }


# ------------------------------------------------------------------ HTTP


class CannotConnect(OSError):
    """No connection to the server: refused, an unknown host, or no answer to connect."""


def _connect_reason(exc: OSError, within: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError):
        return f"no answer to connect within {within:.0f} s"
    return exc.strerror or str(exc) or type(exc).__name__


def _limited(base: type, connect_timeout: float) -> type:
    """``base`` (an http.client connection class) that connects within ``connect_timeout``
    and then waits for the answer as long as the request's timeout."""

    class Connection(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = self._connect

        @staticmethod
        def _connect(address, timeout, source_address=None):
            within = min(connect_timeout, timeout)
            try:
                sock = socket.create_connection(address, within, source_address)
            except OSError as exc:
                raise CannotConnect(_connect_reason(exc, within)) from exc
            sock.settimeout(timeout)
            return sock

    return Connection


@cache
def _opener(connect_timeout: float) -> urllib.request.OpenerDirector:
    class HTTP(urllib.request.HTTPHandler):
        def do_open(self, http_class, req, **kwargs):
            return super().do_open(_limited(http_class, connect_timeout), req, **kwargs)

    class HTTPS(urllib.request.HTTPSHandler):
        def do_open(self, http_class, req, **kwargs):
            return super().do_open(_limited(http_class, connect_timeout), req, **kwargs)

    return urllib.request.build_opener(HTTP(), HTTPS())


def _headers(api_key: str | None) -> dict:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def post(url: str, body: dict, timeout: float, api_key: str | None) -> bytes:
    """The raw answer to one POST (an HTTPError for a status other than 2xx)."""
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=_headers(api_key), method="POST")
    with _opener(CONNECT_TIMEOUT).open(req, timeout=timeout) as response:
        return response.read()


def probe(base_url: str, api_key: str | None, timeout: float = PROBE_TIMEOUT) -> tuple[str, str] | None:
    """None if the server answers ``GET <base_url>/models`` at all (any status counts:
    the question is whether it is there), else (why not, kind) as :func:`_failure` gives."""
    url = base_url.rstrip("/") + "/models"
    req = urllib.request.Request(url, headers=_headers(api_key), method="GET")
    try:
        with _opener(min(CONNECT_TIMEOUT, timeout)).open(req, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError:
        return None
    except (OSError, http.client.HTTPException) as exc:
        return _failure(exc, timeout)
    return None


def _failure(exc: BaseException, timeout: float) -> tuple[str, str]:
    """(why, kind) of a failed HTTP exchange; kind is "connect", "timeout" or "other"."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else OSError(str(exc.reason))
    if isinstance(exc, CannotConnect):
        return str(exc), "connect"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s", "timeout"
    if isinstance(exc, (ConnectionError, http.client.RemoteDisconnected)):
        return f"connection dropped ({type(exc).__name__})", "other"
    if isinstance(exc, http.client.HTTPException):
        return f"broken answer ({type(exc).__name__})", "other"
    return f"{type(exc).__name__}: {exc}", "other"


# ------------------------------------------------------------------ replies


class BadReply(ValueError):
    """An answer that is not a completion (the text says what is wrong)."""


def _detail(exc: urllib.error.HTTPError) -> str:
    """The server's message in an error answer: its JSON ``message``, else the text, on one line."""
    try:
        raw = exc.read()
    except (OSError, http.client.HTTPException):
        return ""
    try:
        answer = json.loads(raw)
        error = answer.get("error", answer) if isinstance(answer, dict) else answer
        message = error.get("message", error) if isinstance(error, dict) else error
        text = message if isinstance(message, str) else json.dumps(message)
    except ValueError:
        text = raw.decode(errors="replace")
    return " ".join(text.split())[:300]


def _snippet(raw: bytes) -> str:
    text = raw[:80].decode(errors="replace").replace("\n", " ")
    return repr(text + ("..." if len(raw) > 80 else ""))


def parse_reply(raw: bytes) -> Completion:
    """The completion in a ``/chat/completions`` answer, or :class:`BadReply`."""
    try:
        reply = json.loads(raw)
    except ValueError:
        raise BadReply(f"the answer is not JSON: {_snippet(raw)}") from None
    if not isinstance(reply, dict):
        raise BadReply(f"the answer is not a JSON object: {_snippet(raw)}")
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices:
        error = reply.get("error")
        if error:
            message = error.get("message", error) if isinstance(error, dict) else error
            raise BadReply(f"the answer is an error: {str(message)[:200]}")
        what = "an empty 'choices' list" if choices == [] else "no 'choices' list"
        raise BadReply(f"the answer has {what}")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    finish = choice.get("finish_reason")
    if not isinstance(message, dict):
        raise BadReply(f"the answer's choice has no message (finish_reason {finish!r})")
    content = message.get("content")
    if not isinstance(content, str):
        what = "null" if content is None else type(content).__name__
        what = what if "content" in message else "missing"
        hint = ""
        if message.get("reasoning_content") or message.get("reasoning"):
            hint = "; the text went to 'reasoning_content': serve the model without a reasoning parser"
        raise BadReply(f"content is {what} (finish_reason {finish!r}){hint}")
    if finish not in COMPLETE_FINISH_REASONS:
        raise BadReply(f"finish_reason {finish!r} is not a finished completion (only stop and length are)")
    usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
    return Completion(content, finish, usage.get("prompt_tokens"), usage.get("completion_tokens"))


# ------------------------------------------------------------------ one request


class _Transient(Exception):
    """A failed attempt worth another one (its text says why)."""


class _Stopped(Exception):
    """The job is stopping: no further attempts."""


class Tracker:
    """What the requests of one batch are doing, for progress lines and for telling a
    stuck server (nothing finishes) from a slow request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[object, tuple[float, int]] = {}  # name -> (first sent, attempt)
        self.failed_attempts = 0
        self.retries = 0
        self.last_error: tuple[float, str] | None = None
        self.last_finished = float("-inf")  # monotonic time of the last completion

    def attempt(self, name, n: int) -> None:
        with self.lock:
            first = self.running.get(name, (time.monotonic(), 0))[0]
            self.running[name] = (first, n)
            self.retries += n > 1

    def failed(self, why: str) -> None:
        with self.lock:
            self.failed_attempts += 1
            self.last_error = (time.monotonic(), why)

    def finished(self, name) -> None:
        with self.lock:
            self.running.pop(name, None)
            self.last_finished = time.monotonic()

    def dropped(self, name) -> None:
        with self.lock:
            self.running.pop(name, None)

    def oldest(self) -> tuple[object, float, int] | None:
        with self.lock:
            if not self.running:
                return None
            name, (first, n) = min(self.running.items(), key=lambda item: item[1][0])
            return name, time.monotonic() - first, n


def complete(
    url: str,
    body: dict,
    timeout: float,
    retries: int | None,
    api_key: str | None = None,
    backoff: float = 1.0,
    post_fn: Callable = post,
    *,
    window: float | None = None,
    name: object = None,
    tracker: Tracker | None = None,
    stop: threading.Event | None = None,
) -> Completion:
    """One completion, retried on transient failures with exponential backoff: at most
    ``retries`` times, or (``retries`` None) for ``window`` seconds after the first
    failure. With a ``tracker`` (a batch), a timed-out attempt is retried only if another
    request finished while it waited."""
    what = f"request {name} to {url}" if name is not None else f"request to {url}"
    window = RETRY_WINDOW if retries is None and window is None else window
    started = time.monotonic()
    n = 0

    def attempt() -> Completion:
        nonlocal n
        if stop is not None and stop.is_set():
            raise _Stopped
        n += 1
        sent = time.monotonic()
        if tracker is not None:
            tracker.attempt(name, n)
        try:
            return parse_reply(post_fn(url, body, timeout, api_key))
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code not in RETRY_STATUS:
                raise EndpointError(f"{what}: HTTP {exc.code}: {detail}") from None
            why = f"HTTP {exc.code}" + (f": {detail[:100]}" if detail else "")
        except BadReply as exc:
            why = str(exc)
        except (OSError, http.client.HTTPException) as exc:
            why, kind = _failure(exc, timeout)
            if kind == "timeout" and tracker is not None and tracker.last_finished < sent:
                tracker.failed(why)
                raise EndpointError(
                    f"{what}: {why}, and no other request finished meanwhile: the server seems stuck "
                    f"(attempt {n}; request_timeout sets the limit)"
                ) from None
        if tracker is not None:
            tracker.failed(why)
        raise _Transient(why)

    try:
        return with_retries(
            attempt,
            attempts=None if retries is None else retries + 1,
            budget=None if retries is not None else window,
            transient=(_Transient,),
            wait=lambda k: min(backoff * 2 ** (k - 1), BACKOFF_CAP) * (0.5 + random.random()),
            label=what,
            give_up=lambda exc, k: EndpointError(
                f"{what} failed {k} time{'s' * (k > 1)} in {time.monotonic() - started:.0f} s; last: {exc}"
            ),
            sleep=stop.wait if stop is not None else time.sleep,
        )
    finally:
        if tracker is not None:
            tracker.dropped(name)


# ------------------------------------------------------------------ a batch


def check_reachable(base_url: str, api_key: str | None, within: float = REACH_WITHIN) -> None:
    """Raise :class:`EndpointError` ("cannot reach URL: connection refused") unless the
    server answers ``GET /models`` within a few short tries."""
    start = time.monotonic()
    wait, tries = 0.5, 0
    while True:
        tries += 1
        failure = probe(base_url, api_key, timeout=min(PROBE_TIMEOUT, max(within, 1.0)))
        if failure is None:
            return
        why, kind = failure
        elapsed = time.monotonic() - start
        if elapsed + wait > within:
            what = (
                f"cannot reach {base_url}" if kind == "connect" else f"{base_url} does not answer GET /models"
            )
            raise EndpointError(f"{what}: {why} ({tries} tr{'ies' if tries > 1 else 'y'} in {elapsed:.0f} s)")
        log.warning("cannot reach %s yet (%s); trying again in %.1f s", base_url, why, wait)
        time.sleep(wait)
        wait *= 2


def stream_requests(
    server: dict,
    messages: Sequence[str],
    seeds: Sequence[int],
    settings: dict,
    *,
    label: str,
    keys: Sequence,
    on_finished: Callable,
    options: dict,
    stats: EngineStats | None = None,
    describe: Callable[[object], str] = str,
    progress_every: float = PROGRESS_EVERY,
    down_after: float = DOWN_AFTER,
    probe_timeout: float = PROBE_TIMEOUT,
) -> None:
    """Send every request to ``server`` (``{"base_url", "model"}``), the engine options'
    ``endpoint_concurrency`` at a time (see :class:`Policy` for the timing options);
    ``on_finished(key, completion)`` is called once per request as it finishes, from
    this thread (the shape of :func:`justeval.engine.vllm_engine.stream_requests`).
    ``describe(key)`` names a request in log lines and errors. The first request that
    fails for good raises :class:`EndpointError`, after the completions that arrived
    before it have been handed over; requests still in flight are abandoned."""
    policy = Policy.from_options(options, settings.get("max_tokens"))
    model = server["model"]
    base_url = server["base_url"].rstrip("/")
    url = base_url + "/chat/completions"
    api_key = os.environ.get("OPENAI_API_KEY")
    trace_requests(label, keys)
    total = len(messages)
    log.info(
        "%s: %d requests to %s, %d at a time; %s", label, total, url, policy.concurrency, policy.describe()
    )
    if not total:
        return
    check_reachable(base_url, api_key)

    bodies = [request_body(model, msg, settings, seed) for msg, seed in zip(messages, seeds, strict=True)]
    names = [describe(key) for key in keys]
    if len(set(names)) != len(names):
        names = [f"{name} (#{i})" for i, name in enumerate(names)]
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(total):
        todo.put(i)
    results: queue.SimpleQueue = queue.SimpleQueue()
    tracker = Tracker()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                completion = complete(
                    url, bodies[i], policy.timeout, policy.retries, api_key, window=policy.window,
                    name=names[i], tracker=tracker, stop=stop,
                )  # fmt: skip
            except _Stopped:
                return
            except BaseException as exc:  # handed to the main thread, which stops the job
                results.put((i, None, exc))
                return
            tracker.finished(names[i])
            results.put((i, completion, None))

    # daemon threads: a job that fails does not wait for its hung requests to time out
    workers = [
        threading.Thread(target=work, name=f"endpoint-{n}", daemon=True)
        for n in range(min(policy.concurrency, total))
    ]
    for worker in workers:
        worker.start()

    stats = stats if stats is not None else EngineStats()
    stats.batch_started(total)
    start = time.monotonic()
    next_progress = start + progress_every
    unanswered_since: float | None = None
    done = 0

    def hand_over(i: int, completion: Completion) -> None:
        nonlocal done
        stats.finished(completion.prompt_tokens, completion.completion_tokens)
        on_finished(keys[i], completion)
        done += 1
        if done % 50 == 0 or done == total:
            log.info("%s: %d/%d finished in %.0f s", label, done, total, time.monotonic() - start)

    def fail(exc: BaseException) -> None:
        stop.set()
        while True:  # what arrived before the failure is kept
            try:
                i, completion, _ = results.get_nowait()
            except queue.Empty:
                break
            if completion is not None:
                hand_over(i, completion)
        log.error(
            "%s: stopping with %d of %d requests done (kept); %d in flight abandoned: %s",
            label, done, total, len(tracker.running), exc,
        )  # fmt: skip
        raise exc

    while done < total:
        try:
            i, completion, exc = results.get(timeout=max(0.0, next_progress - time.monotonic()))
        except queue.Empty:
            pass
        else:
            if exc is not None:
                fail(exc)
            hand_over(i, completion)
        now = time.monotonic()
        if now < next_progress or done == total:
            continue
        next_progress = now + progress_every
        log.info("%s: %s", label, _progress(tracker, done, total, now - start))
        failure = probe(base_url, api_key, probe_timeout)
        if failure is None:
            unanswered_since = None
            continue
        why, kind = failure
        unanswered_since = unanswered_since if unanswered_since is not None else now
        silent = time.monotonic() - unanswered_since
        what = f"cannot reach {base_url}" if kind == "connect" else f"{base_url} does not answer GET /models"
        if silent >= down_after:
            fail(EndpointError(f"{what}: {why}, for {silent:.0f} s with requests outstanding"))
        log.warning("%s: %s: %s", label, what, why)
    stats.batch_done()


def _progress(tracker: Tracker, done: int, total: int, elapsed: float) -> str:
    with tracker.lock:
        in_flight = len(tracker.running)
        failed, retries, last_error = tracker.failed_attempts, tracker.retries, tracker.last_error
    line = (
        f"{done}/{total} done in {elapsed:.0f} s, {in_flight} in flight, {total - done - in_flight} queued; "
        f"{failed} failed attempts, {retries} retries so far"
    )
    oldest = tracker.oldest()
    if oldest is not None:
        name, waited, n = oldest
        line += f"; oldest in flight: {name}, {waited:.0f} s (attempt {n})"
    if last_error is not None:
        line += f"; last failure {time.monotonic() - last_error[0]:.0f} s ago: {last_error[1]}"
    return line
