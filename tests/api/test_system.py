"""Health, readiness, metrics and the OpenAI model listing."""

from __future__ import annotations

import httpx

from omniembed.api.app import create_app
from omniembed.engine.engine import Engine


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["models"] == ["tiny-clip", "minilm"]


async def test_ready_is_503_before_models_are_warm(app_settings):
    empty = Engine()
    app = create_app(app_settings, engine=empty)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/ready")
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert (await http.get("/health")).status_code == 200
    await empty.close()


async def test_models_listing(client):
    body = (await client.get("/v1/models")).json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert ids == ["tiny-clip", "minilm"]
    clip = body["data"][0]
    assert clip["object"] == "model" and clip["owned_by"] == "omniembed"
    assert clip["capabilities"]["modalities"] == ["text", "image", "video"]


async def test_model_card_with_capabilities(client):
    card = (await client.get("/v1/models/minilm")).json()
    caps = card["capabilities"]
    assert caps["dimension"] == 384 and caps["max_text_tokens"] == 256
    assert caps["matryoshka_dimensions"] == [] and caps["normalize_default"] is True
    assert (await client.get("/v1/models/unknown/model")).status_code == 404


async def test_metrics_exposition(client):
    await client.post("/v1/embeddings", json={"model": "minilm", "input": "count me"})
    text = (await client.get("/metrics")).text
    assert 'omniembed_http_requests_total{method="POST",route="/v1/embeddings",status="200"}' in text
    assert "omniembed_forward_passes_total" in text
    assert "omniembed_model_load_seconds" in text


async def test_request_id_is_echoed_or_made(client):
    given = await client.get("/health", headers={"X-Request-Id": "trace-abc"})
    assert given.headers["x-request-id"] == "trace-abc"
    made = await client.get("/health")
    assert len(made.headers["x-request-id"]) == 32


async def test_metrics_cover_the_documented_families(client):
    await client.post(
        "/v1/embeddings", json={"model": "tiny-clip", "input": ["a", {"type": "image_url", "image_url": "x"}]}
    )
    text = (await client.get("/metrics")).text
    for family in (
        "omniembed_http_requests_total",
        "omniembed_http_request_seconds_bucket",
        "omniembed_batch_size_bucket",
        "omniembed_queue_items",
        "omniembed_items_total",
        "omniembed_model_load_seconds",
        "omniembed_overload_rejections",
    ):
        assert family in text, family
    assert 'omniembed_items_total{modality="text",model="minilm"}' in text
