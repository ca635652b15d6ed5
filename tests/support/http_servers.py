"""Loopback HTTP servers for fetch tests: a canary that must never be contacted, and a stand-in
for a public media host. Bound to 127.0.0.x only; stopped by their context managers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorder:
    connections: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)


class _Canary(socket.socket):
    pass


@contextlib.contextmanager
def canary(host: str = "127.0.0.1") -> Iterator[tuple[int, Recorder]]:
    """A raw TCP listener that only counts connection attempts."""
    recorder = Recorder()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            recorder.connections += 1
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], recorder
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


Handler = Callable[[BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def http_server(respond: Handler, host: str = "127.0.0.2") -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder()

    class RequestHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.requests.append((self.path, self.headers.get("Host", "")))
            respond(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), RequestHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond
