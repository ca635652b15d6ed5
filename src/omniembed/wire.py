"""uvicorn's httptools protocol with a bounded request head and JSON errors on the wire.

Requests the parser refuses never reach the app, so uvicorn answers them itself with a text/plain
400 (or, for a head too large, not at all). This subclass bounds the request target, each header,
all headers together and their count, and answers everything refused before the app in the
service's JSON error shape, with an X-Request-Id, then closes the connection: 414 (target too
long), 431 (headers too large or too many), 501 (unknown method), 505 (HTTP version) and 400 for
any other malformed request (bad or duplicate Content-Length, chunked plus Content-Length,
obs-fold, NUL or control characters in a header...).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("omniembed.access")


@dataclass(frozen=True)
class HeadLimits:
    max_url_bytes: int = 8192
    max_header_bytes: int = 8192  # one header: name + value
    max_header_total_bytes: int = 32768  # every header together
    max_header_count: int = 100


class RefusedError(Exception):
    """Raised from a parser callback to refuse the request with a JSON error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def target_refusal(size: int, limits: HeadLimits) -> RefusedError | None:
    if size > limits.max_url_bytes:
        return RefusedError(414, "uri_too_long", f"The request target exceeds {limits.max_url_bytes} bytes.")
    return None


def header_refusal(size: int, count: int, total: int, limits: HeadLimits) -> RefusedError | None:
    """The refusal of the `count`th header (`size` bytes; `total` with those before it), if any."""
    if size > limits.max_header_bytes:
        largest = limits.max_header_bytes
        return RefusedError(431, "header_too_large", f"A request header exceeds {largest} bytes.")
    if count > limits.max_header_count:
        return RefusedError(431, "too_many_headers", f"More than {limits.max_header_count} request headers.")
    if total > limits.max_header_total_bytes:
        largest = limits.max_header_total_bytes
        return RefusedError(431, "headers_too_large", f"The request headers exceed {largest} bytes.")
    return None


def classify(error: httptools.HttpParserError) -> RefusedError:
    """The answer to a parser error (a callback's own refusal travels as the error's context)."""
    if isinstance(error.__context__, RefusedError):
        return error.__context__
    if isinstance(error, httptools.HttpParserInvalidMethodError):
        return RefusedError(501, "method_not_implemented", "The request method is not supported.")
    reason = str(error).strip().rstrip(".")
    if reason == "Invalid HTTP version":
        return RefusedError(505, "http_version_not_supported", "Only HTTP/1.0 and HTTP/1.1 are supported.")
    if isinstance(error, httptools.HttpParserCallbackError):
        reason = "invalid request target or head"  # e.g. a URL the URL parser rejects
    return RefusedError(400, "malformed_request", f"Malformed HTTP request: {reason}.")


def error_payload(refusal: RefusedError, request_id: str) -> bytes:
    """The full response: status line, headers and the OpenAI-shaped JSON body."""
    kind = "server_error" if refusal.status >= 500 else "invalid_request_error"
    body = orjson.dumps(
        {"error": {"message": refusal.message, "type": kind, "param": None, "code": refusal.code}}
    )
    head = (
        f"HTTP/1.1 {refusal.status} {HTTPStatus(refusal.status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[HeadLimits] = HeadLimits()
    # Called with each status refused here, so /metrics counts what never reached the app.
    on_refused: ClassVar[tuple[Callable[[int], None], ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_received = 0  # raw bytes since the head began: bounds memory before parsing
        self._header_total = 0
        self._header_count = 0

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            self.refuse(classify(error))
            return
        bound = self.limits.max_url_bytes + self.limits.max_header_total_bytes + 4096
        if self._in_head and self._head_received > bound:
            self.refuse(RefusedError(431, "headers_too_large", "The request head is too large."))

    def refuse(self, refusal: RefusedError) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:
                # Its response is on the wire already: another would interleave with it.
                self.transport.close()
                return
            # A malformed body (e.g. a bad chunk) of a request the app is serving: the app reads
            # a disconnect and whatever it sends later is dropped, as after connection loss.
            cycle.disconnected = True
            cycle.message_event.set()
        request_id = uuid.uuid4().hex
        logger.warning(
            "refused before routing: %d %s",
            refusal.status,
            refusal.message,
            extra={"status": refusal.status, "code": refusal.code, "request_id": request_id},
        )
        for count in self.on_refused:
            count(refusal.status)
        self.transport.write(error_payload(refusal, request_id))
        self.transport.close()

    # Parser callbacks -----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._header_total = self._header_count = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        refusal = target_refusal(len(self.url), self.limits)
        if refusal is not None:
            raise refusal

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        self._header_count += 1
        self._header_total += size
        refusal = header_refusal(size, self._header_count, self._header_total, self.limits)
        if refusal is not None:
            raise refusal
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_received = 0
        if self.parser.get_method() == b"CONNECT":  # a proxy's method; its target is no URL
            raise RefusedError(501, "method_not_implemented", "The request method is not supported.")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True


def protocol_class(
    limits: HeadLimits, on_refused: Callable[[int], None] | None = None
) -> type[BoundedHttpToolsProtocol]:
    """A protocol class bound to these limits (uvicorn instantiates it once per connection)."""
    attributes = {"limits": limits, "on_refused": (on_refused,) if on_refused else ()}
    return type("OmniembedHttpProtocol", (BoundedHttpToolsProtocol,), attributes)
