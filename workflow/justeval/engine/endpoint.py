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

from justeval.engine.vllm_engine import sampling_fields, trace_requests

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
    for attempt in range(retries + 1):
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
            reason = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError, KeyError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if attempt == retries:
            raise EndpointError(f"{url}: gave up after {retries + 1} attempts ({reason})")
        wait = min(backoff * 2**attempt, 60.0) * (0.5 + random.random())
        log.warning("request failed (%s); retry %d/%d in %.1f s", reason, attempt + 1, retries, wait)
        time.sleep(wait)
    raise AssertionError("unreachable")


def run_requests(
    base_url: str,
    model: str,
    messages: Sequence[str],
    seeds: Sequence[int],
    settings: dict,
    keys: Sequence,
    on_finished: Callable,
    label: str,
    concurrency: int = 16,
    timeout: float = 600.0,
    retries: int = 8,
) -> None:
    """Send every request (``concurrency`` at a time); ``on_finished(key, completion)``
    is called once per request, from one thread at a time."""
    trace_requests(label, keys)
    url = base_url.rstrip("/") + "/chat/completions"
    api_key = os.environ.get("OPENAI_API_KEY")
    lock = threading.Lock()
    log.info("%s: %d requests to %s, %d at a time", label, len(messages), url, concurrency)
    start = time.monotonic()
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
                on_finished(futures[future], completion)
                done += 1
                if done % 50 == 0 or done == len(futures):
                    log.info(
                        "%s: %d/%d finished in %.0f s", label, done, len(futures), time.monotonic() - start
                    )
