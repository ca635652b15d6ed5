"""Errors in each route's own dialect: shape, status and parameter names."""

from __future__ import annotations

import httpx
import pytest

from omniembed.api.app import create_app
from omniembed.settings import Settings

KEY = "sk-dialect-test"
COHERE_PATHS = ("/v2/embed", "/v1/embed")


@pytest.fixture(scope="module")
async def secured(engine, app_settings):
    settings = Settings(**{**app_settings.model_dump(), "api_keys": [KEY]})
    transport = httpx.ASGITransport(app=create_app(settings, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as http:
        yield http


@pytest.mark.parametrize("path", ["/v2/embed", "/v1/embed", "/v1/embeddings", "/embeddings"])
async def test_401_uses_the_dialect_of_the_path(secured, path):
    response = await secured.post(path, json={"model": "minilm", "texts": ["x"]})
    assert response.status_code == 401
    body = response.json()
    if path in COHERE_PATHS:
        assert set(body) == {"message", "code"} and body["code"] == "invalid_api_key"
    else:
        assert body["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("path", "field"), [("/v1/embeddings", "input"), ("/embeddings", "input"), ("/v2/embed", "texts")]
)
async def test_too_many_inputs_is_400_as_openai_and_cohere_answer(client, app_settings, path, field):
    count = app_settings.max_items_per_request + 1
    response = await client.post(path, json={"model": "minilm", field: ["x"] * count})
    assert response.status_code == 400, response.text
    body = response.json()
    if path in COHERE_PATHS:
        assert body["code"] == "too_many_inputs" and str(count) in body["message"]
    else:
        assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == field


async def test_bad_output_dimension_names_cohere_parameter(client, prompted_client):
    fixed = await client.post("/v2/embed", json={"model": "minilm", "texts": ["x"], "output_dimension": 128})
    assert fixed.status_code == 400
    assert "'output_dimension'" in fixed.json()["message"] and "'dimensions'" not in fixed.json()["message"]
    small = await prompted_client.post(
        "/v2/embed", json={"model": "prompted-minilm", "texts": ["x"], "output_dimension": 16}
    )
    assert small.status_code == 400 and "'output_dimension'" in small.json()["message"]
    openai = await client.post("/v1/embeddings", json={"model": "minilm", "input": "x", "dimensions": 128})
    assert openai.json()["error"]["param"] == "dimensions"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/embeddings", {"model": "minilm", "input": "x", "encoding_format": "base65"}),
        ("/embeddings", {"model": "minilm", "input": "x", "encoding_format": "base65"}),
        ("/v2/embed", {"model": "minilm", "texts": ["x"], "embedding_types": ["base65"]}),
    ],
)
async def test_bad_encoding_value_is_echoed(client, path, body):
    response = await client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert "'base65'" in response.text
