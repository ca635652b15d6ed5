"""The one place where domain errors become HTTP responses.

Status codes depend only on the error type; the body shape depends on the dialect of the route
that failed (OpenAI `{"error": {...}}`, Cohere `{"message": ...}`), read from the route's tags.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from omniembed.api.responses import ORJSONResponse
from omniembed.errors import (
    AuthenticationError,
    CapabilityError,
    ConflictError,
    InvalidInputError,
    ModelNotFoundError,
    NotFoundError,
    NotReadyError,
    OmniEmbedError,
    OverloadedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

logger = logging.getLogger(__name__)

# Most specific first.
_STATUS: tuple[tuple[type[OmniEmbedError], int], ...] = (
    (UnsupportedMediaTypeError, 415),
    (CapabilityError, 400),
    (InvalidInputError, 400),
    (PayloadTooLargeError, 413),
    (ModelNotFoundError, 404),
    (NotFoundError, 404),
    (ConflictError, 409),
    (AuthenticationError, 401),
    (OverloadedError, 429),
    (NotReadyError, 503),
)

_OPENAI_TYPES = {
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "service_unavailable",
    500: "server_error",
}


def status_of(error: OmniEmbedError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def dialect_of(request: Request) -> str:
    route = request.scope.get("route")
    tags = getattr(route, "tags", None) or []
    return "cohere" if "cohere" in tags else "openai"


def error_body(dialect: str, status: int, message: str, code: str, param: str | None) -> dict[str, Any]:
    if dialect == "cohere":
        return {"message": message, "code": code}
    kind = _OPENAI_TYPES.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(
    request: Request,
    status: int,
    message: str,
    code: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> ORJSONResponse:
    body = error_body(dialect_of(request), status, message, code, param)
    return ORJSONResponse(body, status_code=status, headers=headers)


async def _domain_error(request: Request, error: Exception) -> ORJSONResponse:
    assert isinstance(error, OmniEmbedError)
    status = status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, OverloadedError):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, NotReadyError):
        headers["Retry-After"] = "1"
    elif isinstance(error, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500:
        logger.error("%s: %s", type(error).__name__, error.message)
    return error_response(request, status, error.message, error.code, error.param, headers)


def _location(loc: tuple[Any, ...]) -> str:
    # Only the first element says where (body, query string, path): a field may be named `query`.
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in ("body", "query", "path") else loc)]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


def _describe(problem: Mapping[str, Any]) -> str:
    """The problem's message; an unknown field is named as such and a value outside a fixed set
    is echoed (shortened), as OpenAI does, so a typo is visible in the answer."""
    kind = problem.get("type")
    if kind == "extra_forbidden":
        return "unknown parameter (not supported here; leave it out)"
    message = str(problem.get("msg"))
    value = problem.get("input")
    if kind in ("literal_error", "enum") and isinstance(value, str | int | float | bool):
        shown = repr(value)
        return f"{message} (got {shown if len(shown) <= 80 else shown[:77] + '...'})"
    return message


async def _validation_error(request: Request, error: Exception) -> ORJSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    param = _location(tuple(first.get("loc", ())))
    message = "; ".join(f"{_location(tuple(p.get('loc', ())))}: {_describe(p)}" for p in problems[:5])
    return error_response(request, 400, message or "Invalid request.", "invalid_request", param)


async def _http_error(request: Request, error: Exception) -> ORJSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    headers = dict(error.headers) if error.headers else None
    return error_response(request, error.status_code, str(error.detail), code, headers=headers)


async def _unexpected(request: Request, error: Exception) -> ORJSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "Internal server error.", "internal_error")


def internal_error_body(scope: Mapping[str, Any]) -> dict[str, Any]:
    """The 500 body for an error no handler answered, in the dialect of the route (if matched)."""
    tags = getattr(scope.get("route"), "tags", None) or []
    dialect = "cohere" if "cohere" in tags else "openai"
    return error_body(dialect, 500, "Internal server error.", "internal_error", None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OmniEmbedError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class _OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    """Error body of every route except Cohere's."""

    error: _OpenAIErrorDetail


class CohereErrorBody(BaseModel):
    """Error body of `/v2/embed`."""

    message: str
    code: str | None = None


_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Missing or invalid API key",
    404: "Unknown model or path",
    405: "Method not allowed",
    409: "Conflict",
    413: "Body, item, image or video over a limit, or a request larger than the model's queue "
    "(max_queue_items) or an image needing more than the decode memory budget: never admissible",
    415: "Unsupported Content-Type or media format",
    429: "Queue full or decode memory busy; retry after Retry-After seconds",
    500: "Internal error",
    503: "Starting or draining",
}
# Answered by the HTTP server before routing (`omniembed.wire`), in the OpenAI shape on every route.
# (It also answers 501 to an unknown method and 505 to an unknown HTTP version: no operation's.)
_BEFORE_ROUTING = {
    414: "Request target (path and query) over max_url_bytes; answered before routing",
    431: "A header, all headers or their count over the head limits; answered before routing",
}


def error_responses(dialect: str = "openai") -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the error statuses every route can answer."""
    model = CohereErrorBody if dialect == "cohere" else OpenAIErrorBody
    documented: dict[int | str, dict[str, Any]] = {
        status: {"model": model, "description": text} for status, text in _DESCRIPTIONS.items()
    }
    for status, text in _BEFORE_ROUTING.items():
        documented[status] = {"model": OpenAIErrorBody, "description": text}
    return dict(sorted(documented.items(), key=lambda entry: int(entry[0])))
