"""API keys: every request except GET/HEAD of the liveness probe `/health` and of the web console's
static files (`/`, `/console/...`; the page asks the user for a key and sends it on each API call)
needs one when keys are configured (any other method on these is refused with 401 like every
protected route).

Keys are kept only as SHA-256 digests and every presented key is compared with all of them using
`hmac.compare_digest`, with no early exit, so timing reveals neither which key nor how much matched.
Accepted headers: `Authorization: Bearer <key>` (what the OpenAI and Cohere SDKs send) and
`X-API-Key: <key>`. The check runs before routing, so unknown paths are not enumerable either.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from omniembed.api.console import is_console_path
from omniembed.api.errors import error_body

OPEN_PATHS = frozenset({"/health"})
OPEN_METHODS = frozenset({"GET", "HEAD"})


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or is_console_path(path)


def load_keys(keys: Iterable[str], key_file: Path | None) -> list[str]:
    found = [key.strip() for key in keys if key.strip()]
    if key_file is not None:
        for line in key_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class ApiKeyMiddleware:
    def __init__(
        self, app: ASGIApp, *, keys: Iterable[str], cohere_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.digests = [digest(key) for key in keys]
        # The check comes before routing: these paths answer in Cohere's error shape.
        self.cohere_paths = cohere_paths

    def authorized(self, presented: str | None) -> bool:
        if presented is None:
            return False
        candidate = digest(presented)
        matched = 0
        for known in self.digests:  # no early exit: constant work whichever key matches
            matched |= hmac.compare_digest(candidate, known)
        return bool(matched)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or (is_open(scope.get("path", "")) and scope.get("method") in OPEN_METHODS)
            or self.authorized(_presented_key(scope))
        ):
            await self.app(scope, receive, send)
            return
        dialect = "cohere" if scope.get("path") in self.cohere_paths else "openai"
        message = "A valid API key is required (Authorization: Bearer <key>)."
        body = orjson.dumps(error_body(dialect, 401, message, "invalid_api_key", None))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b"Bearer"),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _presented_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        lowered = name.lower()
        if lowered == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif lowered == b"x-api-key":
            return str(value.decode("latin-1")).strip()
    return None
