"""Llama Stack's `/v1/embeddings/text|image` and Intel MES's `/model/*` routes."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.support.media import encode, photo


async def test_text_route_shape_and_options(client):
    response = await client.post(
        "/v1/embeddings/text",
        json={"model": "minilm", "input": "hello", "options": {"normalize": True, "return_dims": True}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dims"] == 384 == len(body["embedding"])
    assert body["model"] == "minilm"
    plain = (await client.post("/v1/embeddings/text", json={"model": "minilm", "input": "hello"})).json()
    assert "dims" not in plain
    np.testing.assert_allclose(plain["embedding"], body["embedding"], atol=1e-6)


async def test_image_route_matches_openai_route(client):
    image = base64.b64encode(encode(photo("chelsea"))).decode()
    response = await client.post(
        "/v1/embeddings/image", json={"model": "tiny-clip", "image": image, "options": {"return_dims": True}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dims"] == 16
    openai = await client.post(
        "/v1/embeddings", json={"model": "tiny-clip", "input": [{"type": "image_url", "image_url": image}]}
    )
    np.testing.assert_allclose(body["embedding"], openai.json()["data"][0]["embedding"], atol=1e-6)


async def test_normalize_false(client):
    body = {"model": "tiny-clip", "input": "hello", "options": {"normalize": False}}
    vector = np.asarray((await client.post("/v1/embeddings/text", json=body)).json()["embedding"])
    assert abs(np.linalg.norm(vector) - 1) > 1e-3


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/embeddings/text", {"input": "hello"}, 400),  # missing model
        ("/v1/embeddings/text", {"model": "", "input": "hello"}, 400),
        ("/v1/embeddings/text", {"model": "minilm"}, 400),  # missing input
        ("/v1/embeddings/image", {"model": "tiny-clip"}, 400),  # missing image
        ("/v1/embeddings/image", {"model": "tiny-clip", "image": "%%% not base64"}, 400),
        (
            "/v1/embeddings/image",
            {"model": "tiny-clip", "image": base64.b64encode(b"plain text").decode()},
            400,
        ),
        (
            "/v1/embeddings/image",
            {"model": "minilm", "image": base64.b64encode(encode(photo())).decode()},
            400,
        ),
        ("/v1/embeddings/text", {"model": "missing-model", "input": "hello"}, 404),
    ],
)
async def test_errors_are_json(client, path, body, status):
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/embeddings/text", "/v1/embeddings/image"])
async def test_non_json_content_type_is_415(client, path):
    response = await client.post(
        path, content=b'{"model":"minilm","input":"x"}', headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_model_list_shows_the_catalog(client):
    body = (await client.get("/model/list")).json()
    ids = [m["id"] for m in body["models"]]
    assert "CLIP/clip-vit-b-32" in ids and "omniembed/starter" in ids
    assert body["served_models"] == ["tiny-clip", "minilm"]
    assert "clip-vit-b-32" in body["available_models"]["CLIP"]  # MES's short names
    assert body["total_models"] == len(ids)


async def test_model_current_and_capabilities(client):
    current = (await client.get("/model/current")).json()
    assert current["model"] == "tiny-clip"
    caps = (await client.get("/model/capabilities")).json()
    assert caps["supports_text"] and caps["supports_image"] and caps["supports_video"]
    assert caps["models"]["minilm"]["supports_image"] is False
    text_only = (await client.get("/model/capabilities", params={"model": "minilm"})).json()
    assert text_only["modalities"] == ["text"]


JPEG_B64 = base64.b64encode(encode(photo())).decode()


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/embeddings/text", {"model": "minilm", "input": "x", "normalise": False}, "normalise"),
        ("/v1/embeddings/text", {"model": "minilm", "input": "x", "options": {"dims": True}}, "options.dims"),
        ("/v1/embeddings/image", {"model": "tiny-clip", "image": JPEG_B64, "format": "jpeg"}, "format"),
        ("/api/predict/nlp", {"inputs": ["x"], "input": ["y"]}, "input"),
        ("/api/predict/nlp", {"inputs": ["x"], "params": "not an object"}, "params"),
    ],
)
async def test_seed_json_routes_name_unknown_fields(client, path, body, param):
    response = await client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and param in error["message"]


async def test_sambastudio_params_are_accepted(client):
    """SambaStudio's clients send `params` (endpoint tuning) with every request."""
    plain = (await client.post("/api/predict/nlp?model=minilm", json={"inputs": ["hello"]})).json()
    body = {"inputs": ["hello"], "params": {"select_expert": {"type": "str", "value": "e5"}}}
    response = await client.post("/api/predict/nlp?model=minilm", json=body)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["data"], plain["data"], atol=1e-6)


@pytest.mark.parametrize(
    ("path", "fields", "file_field", "param"),
    [
        ("/v1/embeddings/image", {"model": "tiny-clip", "normalise": "false"}, "file", "normalise"),
        ("/v1/embeddings/image", {"model": "tiny-clip", "num_frames": "4"}, "file", "num_frames"),
        ("/api/predict/file?model=tiny-clip", {"model": "tiny-clip"}, "predict_file", "model"),
    ],
)
async def test_seed_form_routes_name_unknown_fields(client, path, fields, file_field, param):
    files = {file_field: ("cat.jpg", encode(photo()), "image/jpeg")}
    response = await client.post(path, data=fields, files=files)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and param in error["message"]
