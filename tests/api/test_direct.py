"""The hot routes served without FastAPI's machinery answer exactly as FastAPI would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter

from omniembed.api.app import create_app
from omniembed.api.direct import DirectRoutes, is_direct
from omniembed.api.openai.router import router as openai_router
from omniembed.engine.engine import Engine
from omniembed.settings import Settings
from tests.support.media import data_uri, encode, photo

REQUESTS = [
    ("/v1/embeddings", {"json": {"model": "minilm", "input": ["a photo of a cat", "x"]}}),
    ("/v1/embeddings", {"json": {"model": "tiny-clip", "input": "a cat", "encoding_format": "base64"}}),
    (
        "/v1/embeddings",
        {"json": {"model": "tiny-clip", "input": [{"type": "image_url", "image_url": {"url": ""}}]}},
    ),
    ("/v1/embeddings", {"json": {"model": "nope", "input": "x"}}),
    ("/v1/embeddings", {"json": {"model": "minilm", "input": "x", "dimensions": 0}}),
    ("/v1/embeddings", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("/v1/embeddings", {"content": b"input=x", "headers": {"content-type": "text/plain"}}),
    ("/v1/embeddings", {"data": {"model": "minilm", "text": "a cat"}}),  # multipart
    ("/v2/embed", {"json": {"model": "minilm", "texts": ["a cat"], "input_type": "search_query"}}),
    ("/v2/embed", {"json": {"model": "minilm", "texts": ["a cat"]}}),  # input_type missing
    ("/v2/embed", {"json": {"model": "nope", "texts": ["a cat"], "input_type": "search_query"}}),
]


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60)


@pytest.fixture
async def both(engine: Engine, app_settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """A normal app, whose FastAPI router counts the hot-route requests it sees, and the same app
    with the direct layer taken out."""
    direct_app, plain_app = create_app(app_settings, engine=engine), create_app(app_settings, engine=engine)
    plain_app.user_middleware = [m for m in plain_app.user_middleware if m.cls is not DirectRoutes]
    reached: list[str] = []
    inner = direct_app.router.middleware_stack

    async def counting(scope, receive, send):
        reached.append(scope["path"])
        await inner(scope, receive, send)

    direct_app.router.middleware_stack = counting
    async with _client(direct_app) as direct, _client(plain_app) as plain:
        yield direct, plain, reached


def _comparable(response: httpx.Response) -> tuple[int, object, dict[str, str]]:
    headers = {
        k: v for k, v in response.headers.items() if k not in ("x-request-id", "date", "content-length")
    }
    body = response.json()
    body.pop("id", None)  # Cohere's response id is fresh per request
    return response.status_code, body, headers


async def test_direct_answers_equal_fastapis(both):
    direct, plain, reached = both
    for path, options in REQUESTS:
        assert _comparable(await direct.post(path, **options)) == _comparable(
            await plain.post(path, **options)
        )
    assert reached == []  # every hot-route request above was served by the direct layer
    await direct.get("/v1/models")
    assert reached == ["/v1/models"]  # other routes still go through FastAPI


async def test_an_image_request_is_served_directly(both):
    direct, plain, reached = both
    body = {
        "model": "tiny-clip",
        "input": [{"type": "image_url", "image_url": {"url": data_uri(encode(photo()))}}],
    }
    first, second = (
        await direct.post("/v1/embeddings", json=body),
        await plain.post("/v1/embeddings", json=body),
    )
    assert first.status_code == 200 and first.json() == second.json() and reached == []


def test_only_routes_that_fastapi_merely_calls_qualify():
    assert all(is_direct(route) for route in openai_router.routes)
    router = APIRouter()

    @router.post("/with-query")
    async def with_query(limit: int) -> dict[str, int]:
        return {"limit": limit}

    with pytest.raises(ValueError, match="with-query"):
        DirectRoutes(None, routes=router.routes, handlers={})  # type: ignore[arg-type]
