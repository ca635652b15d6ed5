"""Ray Serve scenario, run as a script inside a private network namespace (see
tests/ray_data/test_serve.py): `omniembed serve --ray-serve --replicas 2` (a local Ray) serves the
starter model; the script sends the requests of `exchanges()`, a spread of requests, the malformed
heads of tests/hardening and a 20 MB body through Serve's proxy, then SIGTERMs the command while a
request is in flight, and writes what came back as JSON for the test to compare with a single
server.

python -m tests.ray_data.serve_job MODELS_DIR REPORT_JSON
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from omniembed.ray.serve import REPLICA_HEADER
from tests.hardening.test_http_layer import MALFORMED, raw
from tests.support.media import data_uri, encode
from tests.support.server import free_port
from tests.support.starter_set import load

API_KEY = "serve-test-key"
AUTHORIZED = {"Authorization": f"Bearer {API_KEY}"}
DEPLOYED = "through Ray Serve"  # the command's log line once every replica runs


def exchanges() -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    """name → (method, path, JSON body): sent with the API key, answered alike by both servers."""
    photo = {"type": "image_url", "image_url": {"url": data_uri(encode(load("chelsea")))}}
    broken = {"type": "image_url", "image_url": {"url": data_uri(b"\xff\xd8\xff\xe0 not a JPEG")}}
    texts = ["a photo of a cat", "a cup of coffee", "an astronaut in a space suit"]
    return {
        "texts": ("POST", "/v1/embeddings", {"input": texts}),
        "image": ("POST", "/v1/embeddings", {"input": [photo]}),
        "broken_image": ("POST", "/v1/embeddings", {"input": [broken]}),
        "unknown_model": ("POST", "/v1/embeddings", {"input": "x", "model": "no-such-model"}),
        "cohere_empty": ("POST", "/v2/embed", {"texts": [], "input_type": "search_query"}),
        "health": ("GET", "/health", None),
        "ready": ("GET", "/ready", None),
    }


def answer(response: httpx.Response) -> dict[str, Any]:
    json_body = response.headers.get("content-type", "").startswith("application/json")
    return {
        "status": response.status_code,
        "body": response.json() if json_body else response.text[:2000],
        "replica": response.headers.get(REPLICA_HEADER.decode()),
        "request_ids": response.headers.get_list("x-request-id"),
    }


def probe_limits(http: httpx.Client) -> dict[str, Any]:
    """What comes back where the single server's own HTTP parser answers, and for a 20 MB body."""
    found: dict[str, Any] = {}
    for name, (request, _) in MALFORMED.items():
        try:
            status, headers, body = raw(str(http.base_url).rstrip("/"), request)
            found[name] = {"status": status, "type": headers.get("content-type"), "body": body[:300].decode()}
        except (OSError, AssertionError) as error:
            found[name] = {"error": repr(error)}
    body = json.dumps({"input": "word " * 4_000_000}).encode()  # 20 MB, one over-long text
    started = time.perf_counter()
    response = http.post(
        "/v1/embeddings", content=body, headers={**AUTHORIZED, "content-type": "application/json"}
    )
    found["body_20mb"] = {
        **answer(response),
        "seconds": round(time.perf_counter() - started, 2),
        "bytes": len(body),
    }
    return found


def start_command(models_dir: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "omniembed",
        "serve",
        "--ray-serve",
        "--replicas",
        "2",
        "--replica-cpus",
        "0.5",
    ]
    command += ["--models-dir", models_dir, "--api-key", API_KEY, "--port", str(port), "--log-format", "text"]
    unset = ("OMNIEMBED_MODELS", "OMNIEMBED_MODEL", "EMBEDDING_MODEL_NAME")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    with log.open("wb") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)


def wait_deployed(process: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while DEPLOYED not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"not deployed (exit {process.poll()}):\n{log.read_text(errors='replace')[-5000:]}"
            )
        time.sleep(0.5)


def drain(http: httpx.Client, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """SIGTERM while a request is in flight: it must still be answered, and the command exit 0."""
    texts = [f"entry {index} of the harbour log: " + "ships came and went " * 10 for index in range(200)]
    outcome: dict[str, Any] = {}

    def in_flight() -> None:
        response = http.post("/v1/embeddings", json={"input": texts}, headers=AUTHORIZED)
        outcome.update(status=response.status_code, vectors=len(response.json().get("data", [])))
        outcome["finished"] = time.monotonic()

    sender = threading.Thread(target=in_flight)
    sender.start()
    time.sleep(0.5)  # the request reaches a replica
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    outcome["exit"] = process.wait(timeout=120)
    outcome["stop_seconds"] = round(time.monotonic() - signalled, 2)
    sender.join(timeout=60)
    outcome["after_signal"] = outcome.get("finished", 0) > signalled
    return outcome


def main(models_dir: str, report: str) -> None:
    started = time.perf_counter()
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="omniembed-serve-", suffix=".log")[1])
    process = start_command(models_dir, port, log)
    result: dict[str, Any] = {}
    try:
        wait_deployed(process, log)
        result["deployed_seconds"] = round(time.perf_counter() - started, 2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            for name, (method, path, body) in exchanges().items():
                result[name] = answer(http.request(method, path, json=body, headers=AUTHORIZED))
            result["no_key"] = answer(http.post("/v1/embeddings", json={"input": "a cat"}))
            spread = [
                answer(http.post("/v1/embeddings", json={"input": f"ship {index}"}, headers=AUTHORIZED))
                for index in range(20)
            ]
            result["spread"] = [row["replica"] for row in spread]
            result["spread_statuses"] = sorted({row["status"] for row in spread})
            result["limits"] = probe_limits(http)
            result["drain"] = drain(http, process)
    finally:
        if process.poll() is None:  # a failure above: stop it as a user would, so Ray stops too
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        result["log_tail"] = log.read_text(errors="replace")[-4000:]
        log.unlink()
    result["seconds"] = round(time.perf_counter() - started, 2)
    Path(report).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
