"""Generation through an OpenAI-compatible server (a vLLM or SGLang server a user runs).

Requests go to ``/v1/chat/completions`` (the server applies the model's chat
template) with the same per-request seed as offline runs, at most
``concurrency`` at a time. A 429, a 5xx, a timeout or a dropped connection is
retried with exponential backoff; any other error stops the job with the
server's message. Each finished sample is handed over at once (the generate
stage journals it), so a killed job resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from justeval.engine.stats import EngineStats
from justeval.engine.vllm_engine import sampling_fields, trace_requests
from justeval.io.retry import with_retries

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class EndpointError(RuntimeError):
    """The server refused a request for good (not worth retrying)."""


@dataclass(frozen=True)
class Completion:
    """What the generate stage needs of one answer."""

    text: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None


def request_body(model: str, message: str, settings: dict, seed: int) -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": message}],
        **sampling_fields(settings, seed),
    }


def post(url: str, body: dict, timeout: float, api_key: str | None) -> dict:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return json.loads(response.read())


def complete(
    url: str,
    body: dict,
    timeout: float,
    retries: int,
    api_key: str | None = None,
    backoff: float = 1.0,
    post_fn: Callable = post,
) -> Completion:
    """One completion, retried on transient failures with exponential backoff."""

    def request() -> Completion:
        try:
            reply = post_fn(url, body, timeout, api_key)
            choice = reply["choices"][0]
            usage = reply.get("usage") or {}
            return Completion(
                choice["message"]["content"] or "",
                choice.get("finish_reason") or "unknown",
                usage.get("prompt_tokens"),
                usage.get("completion_tokens"),
            )
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_STATUS:
                detail = exc.read().decode(errors="replace")[:300]
                raise EndpointError(f"{url}: HTTP {exc.code}: {detail}") from None
            raise _Transient(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError, KeyError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None

    return with_retries(
        request,
        attempts=retries + 1,
        transient=(_Transient,),
        wait=lambda n: min(backoff * 2 ** (n - 1), 60.0) * (0.5 + random.random()),
        label="request",
        give_up=lambda exc, n: EndpointError(f"{url}: gave up after {n} attempts ({exc})"),
    )


class _Transient(Exception):
    """A failure worth another attempt (its text says why)."""


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
) -> None:
    """Send every request to ``server`` (``{"base_url", "model"}``), the engine
    options' ``endpoint_concurrency`` at a time; ``on_finished(key, completion)`` is
    called once per request as it finishes, from one thread at a time (the shape of
    :func:`justeval.engine.vllm_engine.stream_requests`)."""
    concurrency = options["endpoint_concurrency"]
    timeout = options["request_timeout"]
    retries = options["max_retries"]
    model = server["model"]
    trace_requests(label, keys)
    url = server["base_url"].rstrip("/") + "/chat/completions"
    api_key = os.environ.get("OPENAI_API_KEY")
    lock = threading.Lock()
    log.info("%s: %d requests to %s, %d at a time", label, len(messages), url, concurrency)
    start = time.monotonic()
    stats = stats if stats is not None else EngineStats()
    stats.batch_started(len(messages))
    done = 0
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {
            pool.submit(
                complete, url, request_body(model, msg, settings, seed), timeout, retries, api_key
            ): key
            for msg, seed, key in zip(messages, seeds, keys, strict=True)
        }
        for future in as_completed(futures):
            completion = future.result()  # an EndpointError stops the job; finished samples are kept
            with lock:
                stats.finished(completion.prompt_tokens, completion.completion_tokens)
                on_finished(futures[future], completion)
                done += 1
                if done % 50 == 0 or done == len(futures):
                    log.info(
                        "%s: %d/%d finished in %.0f s", label, done, len(futures), time.monotonic() - start
                    )
    stats.batch_done()
