"""ASGI middleware: request ids, metrics, body-size limit while streaming, cancel on disconnect,
HEAD served as GET without a body, and a JSON 500 (with its request id) for unexpected errors.

Written as raw ASGI (not BaseHTTPMiddleware) so the body limit applies to every chunk as it
arrives, before the body is held in memory, and so a client that goes away cancels its handler,
which in turn drops its queued items before they reach a forward pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniembed.api.console import is_console_path
from omniembed.api.errors import error_body, internal_error_body
from omniembed.engine.metrics import Metrics
from omniembed.errors import PayloadTooLargeError
from omniembed.observability import request_id as current_request_id

logger = logging.getLogger("omniembed.access")

# A client's X-Request-Id is echoed and logged, so only a short id of safe characters is kept.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=-]{1,128}")


class RequestLifecycleMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        cohere_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Refusals made here come before routing: these paths answer in Cohere's error shape.
        self.cohere_paths = cohere_paths
        self.metrics = metrics
        # Bounded: route templates (or "unmatched") x methods x statuses, not raw paths.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _client_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)
        try:
            await self._serve(scope, receive, send, request_id)
        finally:
            current_request_id.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            dialect = "cohere" if scope.get("path") in self.cohere_paths else "openai"
            await _reject_too_large(send, request_id, self.max_body_bytes, dialect)
            self._observe(scope, scope, 413, 0.0)
            return
        head = scope.get("method") == "HEAD"
        # HEAD is answered as GET without a body. The app gets a copy: the server reads the
        # method from its own scope to leave the body out on the wire.
        inner: Scope = {**scope, "method": "GET"} if head else scope
        exchange = _Exchange(receive, send, request_id, self.max_body_bytes, head=head)
        started = time.perf_counter()
        # The app runs in this task (one task fewer per request); the watcher cancels it.
        current = asyncio.current_task()
        assert current is not None
        watcher = asyncio.ensure_future(exchange.watch_disconnect(current))
        try:
            await self._call_app(inner, exchange, current)
        finally:
            exchange.app_done = True
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self._observe(scope, inner, exchange.status or 499, time.perf_counter() - started)

    async def _call_app(self, scope: Scope, exchange: _Exchange, current: asyncio.Task[Any]) -> None:
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except asyncio.CancelledError:
            if not exchange.client_gone:
                raise
            current.uncancel()
            logger.info("client disconnected; request %s cancelled", exchange.request_id)
        except Exception:
            # Answered here, inside the request id and the metrics, rather than by Starlette's
            # outermost handler, which sits outside both (no X-Request-Id, counted as 499).
            if exchange.status is not None:
                raise  # the response has begun: the server can only close the connection
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await _send_json(exchange.send, 500, internal_error_body(scope))

    def _observe(self, scope: Scope, inner: Scope, status: int, seconds: float) -> None:
        route = inner.get("route")
        path = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        series = self._series.get((path, method, status))
        if series is None:  # labels() validates and locks on every call: look each series up once
            series = self._series[(path, method, status)] = (
                self.metrics.requests.labels(route=path, method=method, status=str(status)),
                self.metrics.latency.labels(route=path, method=method),
            )
        series[0].inc()
        series[1].observe(seconds)
        if path != "/metrics" and not is_console_path(path):  # what the console shows, not itself
            self.metrics.recent_latency.observe(path, seconds)
        if not logger.isEnabledFor(logging.INFO):
            return
        logger.info(
            "%s %s %d",
            method,
            scope.get("path", ""),
            status,
            extra={
                "status": status,
                "method": method,
                "path": scope.get("path", ""),
                "duration_ms": round(seconds * 1000, 2),
            },
        )


class _Exchange:
    def __init__(self, receive: Receive, send: Send, request_id: str, limit: int, *, head: bool) -> None:
        self._receive = receive
        self._send = send
        self.request_id = request_id
        self.limit = limit
        self.received = 0
        self.body_done = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.status: int | None = None
        self.response_done = False
        self.app_done = False
        self.client_gone = False
        self.head = head

    async def receive(self) -> Message:
        if self.body_done.is_set():
            # After the body, only a disconnect can arrive; the watcher owns the real channel.
            await self.disconnected.wait()
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise PayloadTooLargeError(f"The request body exceeds {self.limit} bytes.", param="body")
            if not message.get("more_body", False):
                self.body_done.set()
        elif message["type"] == "http.disconnect":
            self.body_done.set()
            self.disconnected.set()
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            headers = list(message.get("headers", []))
            headers.append((b"x-request-id", self.request_id.encode("latin-1")))
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body":
            if self.head and message.get("body"):
                message = {**message, "body": b""}
            if not message.get("more_body", False):
                self.response_done = True
        await self._send(message)

    async def watch_disconnect(self, app_task: asyncio.Task[Any]) -> None:
        await self.body_done.wait()
        if self.disconnected.is_set():
            return
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected.set()
            if not self.response_done and not self.app_done:
                self.client_gone = True
                app_task.cancel()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _client_request_id(scope: Scope) -> str | None:
    presented = _header(scope, b"x-request-id")
    return presented if presented and _SAFE_REQUEST_ID.fullmatch(presented) else None


async def _reject_too_large(send: Send, request_id: str, limit: int, dialect: str) -> None:
    message = f"The request body exceeds {limit} bytes."
    body = error_body(dialect, 413, message, "payload_too_large", "body")
    extra = [(b"x-request-id", request_id.encode("latin-1")), (b"connection", b"close")]
    await _send_json(send, 413, body, extra)


async def _send_json(
    send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": data})
