"""Start a real `omniembed serve` process on 127.0.0.1 and wait until it is ready (bounded)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def running_server(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 180, api_key: str | None = None
) -> Iterator[Server]:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="omniembed-server-", suffix=".log")[1])
    command = [sys.executable, "-m", "omniembed", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMNIEMBED_DRAIN_SECONDS": "0",
        **(env or {}),
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=environment)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server, timeout, api_key)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(server: Server, timeout: float, api_key: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.output()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/ready", headers=headers, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"server not ready after {timeout}s:\n{server.output()[-4000:]}")
