"""Infinity's request shapes (infinity_emb/fastapi_schemas/pymodels.py): `modality` on /embeddings
and /v1/embeddings, the routes without /v1, `dimensions: 0` as full size, and its response shape."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.media import data_uri, encode, photo


@pytest.fixture(scope="module")
def uri():
    return data_uri(encode(photo("rocket")))


async def _image_vector(client, uri):
    body = {"model": "tiny-clip", "input": [{"type": "image_url", "image_url": {"url": uri}}]}
    response = await client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["data"][0]["embedding"])


@pytest.mark.parametrize("path", ["/embeddings", "/v1/embeddings"])
async def test_modality_image_embeds_the_image_not_the_uri_text(client, uri, path):
    body = {"model": "tiny-clip", "input": [uri], "modality": "image"}
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    got = np.asarray(response.json()["data"][0]["embedding"])
    np.testing.assert_allclose(got, await _image_vector(client, uri), atol=1e-6)


async def test_legacy_image_route_equals_modality_image(client, uri):
    response = await client.post("/embeddings_image", json={"model": "tiny-clip", "input": [uri]})
    assert response.status_code == 200, response.text
    got = np.asarray(response.json()["data"][0]["embedding"])
    np.testing.assert_allclose(got, await _image_vector(client, uri), atol=1e-6)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/embeddings", {"input": ["data:audio/wav;base64,UklGRg=="], "modality": "audio"}),
        ("/v1/embeddings", {"input": ["data:audio/wav;base64,UklGRg=="], "modality": "audio"}),
        ("/embeddings_audio", {"input": ["data:audio/wav;base64,UklGRg=="]}),
    ],
)
async def test_audio_is_a_clear_400(client, path, body):
    response = await client.post(path, json={"model": "tiny-clip", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "no audio" in error["message"] and error["param"] == "modality"


async def test_text_response_shape_and_dimensions_zero(client):
    body = {"model": "minilm", "input": ["hello world"], "dimensions": 0, "encoding_format": "float"}
    response = await client.post("/embeddings", json=body)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["object"] == "list" and got["model"] == "minilm"
    assert got["id"].startswith("infinity-") and isinstance(got["created"], int)
    assert got["usage"]["prompt_tokens"] == got["usage"]["total_tokens"] > 0
    row = got["data"][0]
    assert row["object"] == "embedding" and row["index"] == 0 and len(row["embedding"]) == 384
    reference = await client.post("/v1/embeddings", json={"model": "minilm", "input": "hello world"})
    np.testing.assert_allclose(row["embedding"], reference.json()["data"][0]["embedding"], atol=1e-6)


async def test_default_model_placeholder_and_single_string(client):
    response = await client.post("/embeddings", json={"model": "default/not-specified", "input": "hi"})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "tiny-clip"  # the first served model


async def test_models_route(client):
    response = await client.get("/models")
    assert response.status_code == 200, response.text
    listing = response.json()
    assert listing["object"] == "list"
    ids = {card["id"]: card for card in listing["data"]}
    assert set(ids) == {"tiny-clip", "minilm"}
    assert "image_embed" in ids["tiny-clip"]["capabilities"]
    assert "image_embed" not in ids["minilm"]["capabilities"]


async def test_unknown_field_and_bad_modality_are_400(client):
    response = await client.post("/embeddings", json={"input": ["x"], "modalty": "image"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "modalty"
    response = await client.post("/embeddings", json={"input": ["x"], "modality": "video"})
    assert response.status_code == 400 and "'video'" in response.json()["error"]["message"]
