"""The body-size limit applies while the body streams in: declared, chunked and multipart bodies."""

from __future__ import annotations

import httpx
import pytest

from omniembed.api.app import create_app
from omniembed.settings import Settings

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
async def small_client(engine, app_settings):
    settings = Settings(**{**app_settings.model_dump(), "max_request_bytes": LIMIT})
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30
    ) as http:
        yield http


async def test_declared_length_over_limit_is_refused_before_reading(small_client):
    response = await small_client.post(
        "/v1/embeddings", content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


async def test_chunked_body_is_cut_off_while_streaming(small_client):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(1000):  # would be 16 MB if fully read
            sent += 1
            yield b" " * 16384

    response = await small_client.post(
        "/v1/embeddings", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert sent < 10, f"{sent} chunks were read before refusing"


async def test_multipart_upload_over_limit(small_client):
    files = {"file": ("big.jpg", b"\xff" * (LIMIT * 2), "image/jpeg")}
    response = await small_client.post("/v1/embeddings/image", data={"model": "tiny-clip"}, files=files)
    assert response.status_code == 413


async def test_requests_under_the_limit_still_work(small_client):
    response = await small_client.post("/v1/embeddings", json={"model": "minilm", "input": "fits"})
    assert response.status_code == 200
