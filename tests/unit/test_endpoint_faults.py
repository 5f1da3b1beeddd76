"""The endpoint client against a fault-injecting server on loopback (no vLLM): a reply
that is not a completion, a server that hangs or freezes, a port nobody listens on.
Each ends in a bounded time with one error line naming the request; good requests
among bad ones still come through."""

from __future__ import annotations

import collections
import http.server
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from conftest import ROOT
from justeval.engine.endpoint import (
    EndpointError,
    Policy,
    complete,
    parse_reply,
    request_body,
    stream_requests,
)
from justeval.io.parquet import write_parquet
from justeval.io.schemas import BENCHMARK

SETTINGS = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 64}


def describe(key) -> str:
    return f"problem {key[0]} sample {key[1]}"


class FaultServer(http.server.ThreadingHTTPServer):
    """Answers POST /v1/chat/completions by the user message: ``good``; ``slow`` (good
    after 0.3 s); ``null`` (content null); ``null-weird`` (content null, finish_reason
    "weird"); ``weird`` (an unknown finish reason); ``abort``; ``empty`` (no choices);
    ``notjson``; ``flaky`` (null the first time, good after); ``hang...`` (no answer
    until the test ends). GET /v1/models answers, or hangs once ``freeze_gets_after`` GETs
    were answered."""

    daemon_threads = True
    block_on_close = False

    def __init__(self):
        self.lock = threading.Lock()
        self.posts: collections.Counter = collections.Counter()
        self.gets = 0
        self.freeze_gets_after: int | None = None
        self.mended = False  # every request answered well
        self.hang_s = 60.0  # how long a hung answer waits (the test's end releases it sooner)
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), FaultHandler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class FaultHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        with self.server.lock:
            self.server.gets += 1
            frozen = (
                self.server.freeze_gets_after is not None and self.server.gets > self.server.freeze_gets_after
            )
        if frozen:
            self.server.release.wait(self.server.hang_s)
            return
        self._send(json.dumps({"object": "list", "data": [{"id": "m"}]}).encode())

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        kind = body["messages"][0]["content"]
        with self.server.lock:
            self.server.posts[kind] += 1
            count = self.server.posts[kind]
        if kind.startswith("hang"):
            self.server.release.wait(self.server.hang_s)
            return
        if kind == "slow":
            time.sleep(0.3)
        if kind == "notjson":
            self._send(b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        content, finish = f"the answer to {kind}", "stop"
        if self.server.mended:
            pass
        elif kind in ("null", "null-weird") or (kind == "flaky" and count == 1):
            content = None
        if kind in ("weird", "null-weird", "abort") and not self.server.mended:
            finish = "weird" if "weird" in kind else "abort"
        choices = [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ]
        reply = {
            "id": "x",
            "object": "chat.completion",
            "choices": [] if kind == "empty" else choices,
            "usage": {"prompt_tokens": 5, "completion_tokens": 7},
        }
        self._send(json.dumps(reply).encode())


@pytest.fixture
def server():
    srv = FaultServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_batch(server_url: str, messages: list[str], options: dict, **kwargs):
    """stream_requests over ``messages`` (keys (p<i>, 0)): (what came through, the error, seconds)."""
    got = {}
    keys = [(f"p{i}", 0) for i in range(len(messages))]
    start = time.monotonic()
    error = None
    try:
        stream_requests(
            {"base_url": server_url, "model": "m"},
            messages,
            [1] * len(messages),
            SETTINGS,
            label="test",
            keys=keys,
            on_finished=got.__setitem__,
            options=options,
            describe=describe,
            **kwargs,
        )
    except EndpointError as exc:
        error = exc
    return got, error, time.monotonic() - start


def one_line(error: BaseException | None) -> str:
    assert error is not None, "the batch should have failed"
    text = str(error)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("null", r"content is null \(finish_reason 'stop'\)"),
        ("null-weird", r"content is null \(finish_reason 'weird'\)"),
        ("weird", r"finish_reason 'weird' is not a finished completion"),
        ("abort", r"finish_reason 'abort' is not a finished completion"),
        ("empty", r"the answer has an empty 'choices' list"),
        ("notjson", r"the answer is not JSON: '<html>"),
    ],
)
def test_a_reply_that_is_not_a_completion_is_retried_then_fails_naming_the_request(server, kind, reason):
    url = server.base_url + "/chat/completions"
    start = time.monotonic()
    with pytest.raises(EndpointError) as err:
        complete(
            url, request_body("m", kind, SETTINGS, 1), timeout=5, retries=2, backoff=0.01,
            name="problem p-7 sample 3",
        )  # fmt: skip
    assert time.monotonic() - start < 3
    text = one_line(err.value)
    assert text.startswith(f"request problem p-7 sample 3 to {url} failed 3 times in ")
    assert re.search(reason, text), text
    assert server.posts[kind] == 3


def test_what_counts_as_a_completion():
    def reply(message: dict, finish: str | None = "stop") -> bytes:
        return json.dumps({"choices": [{"message": message, "finish_reason": finish}]}).encode()

    assert parse_reply(reply({"content": "x"})).text == "x"
    assert parse_reply(reply({"content": ""}, "length")).finish_reason == "length"  # an empty answer is one
    for raw, reason in [
        (reply({"role": "assistant"}), "content is missing"),
        (reply({"content": None}, None), "content is null (finish_reason None)"),
        (reply({"content": "x"}, None), "finish_reason None is not"),
        (reply({"content": "x"}, "content_filter"), "finish_reason 'content_filter' is not"),
        (reply({"content": None, "reasoning_content": "..."}), "serve the model without a reasoning parser"),
        (b'{"error": {"message": "out of memory"}}', "the answer is an error: out of memory"),
        (b'{"id": "x"}', "the answer has no 'choices' list"),
        (b"[1]", "the answer is not a JSON object"),
    ]:
        with pytest.raises(ValueError, match=re.escape(reason)):
            parse_reply(raw)


def test_good_requests_among_bad_ones_come_through_and_the_bad_one_is_named(server):
    options = {"endpoint_concurrency": 3, "max_retries": 1}
    got, error, wall = run_batch(server.base_url, ["good", "null", "good"], options)
    assert wall < 5
    assert set(got) == {("p0", 0), ("p2", 0)} and got[("p0", 0)].text == "the answer to good"
    text = one_line(error)
    assert text.startswith(
        f"request problem p1 sample 0 to {server.base_url}/chat/completions failed 2 times"
    )
    assert text.endswith("last: content is null (finish_reason 'stop')")


def test_a_retry_that_gets_a_completion_comes_through(server, caplog):
    caplog.set_level(logging.INFO, logger="justeval")
    got, error, wall = run_batch(server.base_url, ["flaky", "good"], {"max_retries": None})
    assert error is None and wall < 5
    assert got[("p0", 0)].text == "the answer to flaky" and server.posts["flaky"] == 2
    assert "request problem p0 sample 0 to" in caplog.text and "failed (content is null" in caplog.text


def test_a_request_the_server_never_answers_times_out_and_is_named(server):
    """The slow request finishes while the hung one waits, so the hung one's timeout is
    retried; the second time nothing else finished meanwhile: the server is stuck."""
    options = {"endpoint_concurrency": 2, "request_timeout": 1, "max_retries": 5}
    got, error, wall = run_batch(server.base_url, ["hang", "slow"], options)
    assert wall < 6
    assert set(got) == {("p1", 0)}
    text = one_line(error)
    assert text == (
        f"request problem p0 sample 0 to {server.base_url}/chat/completions: no answer within 1 s, and no "
        "other request finished meanwhile: the server seems stuck (attempt 2; request_timeout sets the limit)"
    )
    assert server.posts["hang"] == 2


def test_a_lone_request_that_times_out_is_not_retried(server):
    got, error, wall = run_batch(server.base_url, ["hang"], {"request_timeout": 1, "max_retries": 5})
    assert wall < 3 and not got
    assert "no answer within 1 s, and no other request finished meanwhile" in one_line(error)
    assert server.posts["hang"] == 1


def test_a_frozen_server_ends_the_job_with_progress_lines_meanwhile(server, caplog):
    caplog.set_level(logging.INFO, logger="justeval")
    server.freeze_gets_after = 1  # it answers the first GET /models, then nothing
    options = {"request_timeout": 60, "max_retries": 3}
    got, error, wall = run_batch(
        server.base_url, ["hang", "hang2"], options, progress_every=0.3, down_after=1.0, probe_timeout=0.3
    )
    assert wall < 5 and not got
    text = one_line(error)
    assert re.fullmatch(
        rf"{server.base_url} does not answer GET /models: no answer within 0.3 s, "
        r"for \d s with requests outstanding",
        text,
    )
    progress = [r.getMessage() for r in caplog.records if "in flight" in r.getMessage()]
    assert progress and re.search(
        r"0/2 done in \d+ s, 2 in flight, 0 queued; 0 failed attempts, 0 retries so far; "
        r"oldest in flight: problem p\d sample 0, \d+ s \(attempt 1\)",
        progress[0],
    ), progress


def test_a_port_nobody_listens_on_fails_within_seconds():
    url = f"http://127.0.0.1:{free_port()}/v1"
    got, error, wall = run_batch(url, ["good"], {"max_retries": None, "request_timeout": None})
    assert wall < 8 and not got
    assert re.fullmatch(
        rf"cannot reach {re.escape(url)}: connection refused \(\d+ tries in \d s\)", one_line(error)
    )


def test_the_derived_timeout_and_retry_window_and_explicit_values_winning():
    derived = Policy.from_options({"request_timeout": None, "max_retries": None}, 31744)
    assert (derived.timeout, derived.retries, derived.window) == (2044, None, 300)
    assert Policy.from_options({}, 4096).timeout == 316
    explicit = Policy.from_options(
        {"request_timeout": 1800, "max_retries": 8, "endpoint_concurrency": 4}, 31744
    )
    assert (explicit.timeout, explicit.retries, explicit.window, explicit.concurrency) == (1800, 8, None, 4)


# ------------------------------------------------------------------ the whole job


def generate_job(tmp_path, base_url: str, problems: list[str], options: dict):
    """``python -m justeval generate`` of one sample of ``problems`` (ids p-<text>) against
    ``base_url``, logging to a file: (exit code, stderr lines, log text, output, seconds)."""
    bench = tmp_path / "bench.parquet"
    frame = pd.DataFrame(
        {
            "problem_id": [f"p-{p}" for p in problems],
            "problem": problems,
            "answer": ["1"] * len(problems),
            "answer_raw": ["1"] * len(problems),
            "source_row": list(range(len(problems))),
        }
    )
    write_parquet(frame, bench, BENCHMARK, metadata={"benchmark": "T"})
    settings = {
        **SETTINGS, "model": "served", "prompt": "{problem}", "base_seed": 0, "top_k": None, "dtype": "auto",
        "max_model_len": None,
    }  # fmt: skip
    output, log = tmp_path / "out" / "shard-0.parquet", tmp_path / "job.log"
    cmd = [
        sys.executable, "-m", "justeval", "generate", "--benchmark", str(bench), "--model", "served",
        "--shard", "0", "--shard-settings", json.dumps({"settings": settings, "samples": [0, 1]}),
        "--engine-options", json.dumps({**options, "endpoint": {"base_url": base_url, "model": "m"}}),
        "--output", str(output), "--log", str(log),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stderr.splitlines(), log.read_text(), output, time.monotonic() - start


def test_a_job_against_a_port_nobody_listens_on_exits_with_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    code, stderr, log, _, wall = generate_job(tmp_path, url, ["good"], {})
    assert code == 1 and wall < 30
    assert len(stderr) == 1, stderr
    assert re.fullmatch(
        rf"justeval generate: error: cannot reach {re.escape(url)}: connection refused "
        rf"\(\d+ tries in \d s\) \(log: .*job\.log\)",
        stderr[0],
    ), stderr
    # the derived policy is logged
    assert "64 s per attempt (60 s + 64 tokens at 16 tokens/s), retries until 300 s after" in log


def test_a_job_with_a_bad_reply_names_the_request_and_keeps_the_good_sample(tmp_path, server):
    code, stderr, log, output, wall = generate_job(
        tmp_path, server.base_url, ["good", "null"], {"max_retries": 1, "endpoint_concurrency": 2}
    )
    assert code == 1 and wall < 30
    assert len(stderr) == 1, stderr
    assert re.fullmatch(
        rf"justeval generate: error: request problem p-null sample 0 to {server.base_url}/chat/completions "
        r"failed 2 times in \d s; last: content is null \(finish_reason 'stop'\) \(log: .*job\.log\)",
        stderr[0],
    ), stderr
    assert "stopping with 1 of 2 requests done (kept)" in log
    journal = output.with_name(f".{output.name}.journal.jsonl")
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["problem_id"] for r in rows if "problem_id" in r] == ["p-good"]
    # the server is mended: the rerun sends only the missing request
    server.posts.clear()
    server.mended = True
    code, stderr, _, output, _ = generate_job(tmp_path, server.base_url, ["good", "null"], {"max_retries": 1})
    assert code == 0, stderr
    assert server.posts == {"null": 1}
    frame = pd.read_parquet(output)
    assert sorted(frame["response"]) == ["the answer to good", "the answer to null"]
    assert set(frame["finish_reason"]) == {"stop"} and not journal.exists()
