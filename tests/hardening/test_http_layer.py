"""The HTTP layer keeps the JSON error contract where the app cannot see the request.

Against a real `omniembed serve` process on 127.0.0.1 with raw sockets (what no HTTP client will
send: oversized and malformed heads, unknown methods and versions), and in-process for what the
app itself answers (unexpected errors, HEAD, methods, trailing slashes, request ids).
"""

from __future__ import annotations

import contextlib
import re
import socket

import httpx
import pytest
from starlette.requests import Request

from omniembed.api.app import create_app
from omniembed.engine.engine import Engine
from omniembed.settings import Settings
from tests.support.server import running_server

KEY = "http-layer-key"
HOST = b"Host: 127.0.0.1\r\n"


def raw(url: str, request: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are and read the answer until the server closes the connection."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)  # refused mid-send: the answer is still there to read
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), received[:200]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def get(path: str, *extra: bytes, method: bytes = b"GET") -> bytes:
    line = method + b" " + path.encode() + b" HTTP/1.1\r\n"
    return line + HOST + b"".join(extra) + b"Connection: close\r\n\r\n"


POST = b"POST /v1/embeddings HTTP/1.1\r\n" + HOST
MALFORMED = {
    "header of 100 KB": (get("/health", b"X-Big: " + b"a" * 100_000 + b"\r\n"), 431),
    "600 headers": (get("/health", *(b"X-H%d: v\r\n" % i for i in range(600))), 431),
    "1 MB Authorization": (get("/v1/models", b"Authorization: Bearer " + b"k" * 1_000_000 + b"\r\n"), 431),
    "X-Request-Id of 100 KB": (get("/health", b"X-Request-Id: " + b"r" * 100_000 + b"\r\n"), 431),
    "request target of 100 KB": (get("/health?q=" + "a" * 100_000), 414),
    "path of 10 KB": (get("/" + "a" * 10_000), 414),
    "bad Content-Length": (POST + b"Content-Length: abc\r\nConnection: close\r\n\r\n", 400),
    "duplicate Content-Length": (POST + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
    "chunked and Content-Length": (
        POST + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "obs-fold": (get("/health", b"X-A: a\r\n b\r\n"), 400),
    "NUL in a header": (get("/health", b"X-A: a\x00b\r\n"), 400),
    "control character in X-Request-Id": (get("/health", b"X-Request-Id: a\x01b\r\n"), 400),
    "bad chunk size": (POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "CONNECT": (b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n" + HOST + b"\r\n", 501),
    "HTTP/7.0": (b"GET /health HTTP/7.0\r\n" + HOST + b"\r\n", 505),
    "unknown method": (get("/health", method=b"FROB"), 501),
}


@pytest.fixture(scope="module")
def server(minilm_dir):
    with running_server(["--model", f"minilm={minilm_dir}"]) as running:
        yield running


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_heads_get_a_json_error(server, name):
    request, expected = MALFORMED[name]
    status, headers, body = raw(server.url, request)
    assert status == expected, (name, body[:200])
    assert headers["content-type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    assert int(headers["content-length"]) == len(body)
    error = httpx.Response(status, content=body).json()["error"]
    assert error["message"] and error["code"] and error["type"]
    assert server.process.poll() is None


def test_refusals_are_counted_and_the_server_keeps_serving(server):
    raw(server.url, get("/health", b"X-Big: " + b"a" * 20_000 + b"\r\n"))
    status, _, body = raw(server.url, get("/metrics"))
    assert status == 200
    assert re.search(rb'omniembed_http_requests_total\{method="",route="unparsed",status="431"\} [1-9]', body)


def test_head_answers_like_get_without_a_body(server):
    for path in ("/health", "/ready", "/v1/models", "/metrics"):
        status, headers, body = raw(server.url, get(path, method=b"HEAD"))
        expected, expected_headers, _ = raw(server.url, get(path))
        assert (status, body) == (expected, b""), path
        assert headers["content-type"] == expected_headers["content-type"]
        assert "x-request-id" in headers


def test_websocket_upgrade_is_served_as_plain_http(server):
    upgrade = b"Upgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\n"
    key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    request = b"GET /health HTTP/1.1\r\n" + HOST + upgrade + key + b"\r\n"
    status, headers, body = raw(server.url, request, timeout=5)
    assert (status, headers["content-type"], body) == (200, "application/json", b'{"status":"ok"}')


def test_client_request_ids_are_bounded_and_sanitized(server):
    kept = "trace-01:abc/DEF=+~."
    _, headers, _ = raw(server.url, get("/health", f"X-Request-Id: {kept}\r\n".encode()))
    assert headers["x-request-id"] == kept
    for presented in (b"r" * 129, b"caf\xc3\xa9", b"a b", b"<script>"):
        _, headers, _ = raw(server.url, get("/health", b"X-Request-Id: " + presented + b"\r\n"))
        assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"]), presented


# In-process ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def app_client():
    engine = Engine()
    app = create_app(Settings(api_keys=[KEY]), engine=engine)

    async def boom(request: Request) -> None:
        raise RuntimeError("an unexpected bug")

    app.add_api_route("/v1/boom", boom, methods=["GET"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as http:
        yield http
    await engine.close()


async def test_unexpected_errors_are_json_500_with_request_id_and_counted(app_client):
    response = await app_client.get("/v1/boom", headers={"X-Request-Id": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json()["error"] == {
        "message": "Internal server error.",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }
    metrics = (await app_client.get("/metrics")).text
    assert 'omniembed_http_requests_total{method="GET",route="/v1/boom",status="500"} 1.0' in metrics
    assert 'status="499"' not in metrics


async def test_health_is_open_only_to_get_and_head(app_client):
    anonymous = {"Authorization": ""}
    for method in ("GET", "HEAD"):
        response = await app_client.request(method, "/health", headers=anonymous)
        assert response.status_code == 200, method
    assert (await app_client.head("/health", headers=anonymous)).content == b""
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        response = await app_client.request(method, "/health", headers=anonymous)
        assert response.status_code == 401, method
        assert response.json()["error"]["code"] == "invalid_api_key"


async def test_head_on_every_get_route(app_client):
    for path in ("/health", "/ready", "/metrics", "/v1/models", "/openapi.json", "/docs"):
        got, head = await app_client.get(path), await app_client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/embeddings"),
        ("PUT", "/v1/models"),
        ("DELETE", "/health"),
        ("OPTIONS", "/v1/embeddings"),
        ("HEAD", "/v1/embeddings"),
        ("TRACE", "/v1/models"),
    ],
)
async def test_wrong_methods_are_json_405_with_allow(app_client, method, path):
    response = await app_client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"]
    if method != "HEAD":
        assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path", ["/health/", "/v1/models/", "/v1/embeddings/", "/%ff%00/..%2f", "/v1/models/%ff%00"]
)
async def test_odd_paths_are_json_404(app_client, path):
    response = await app_client.get(path) if "embeddings" not in path else await app_client.post(path)
    assert response.status_code == 404, path
    assert response.json()["error"]["message"]


async def test_accept_header_does_not_change_the_json_answer(app_client):
    response = await app_client.get("/v1/models", headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
