"""OpenAI `/v1/embeddings` in-process through the real app (httpx ASGI transport)."""

from __future__ import annotations

import base64

import numpy as np

from omniembed.engine.engine import Engine
from omniembed.engine.items import ImageInput, TextInput
from tests.support.media import data_uri, encode, photo
from tests.support.parity import cosines


async def test_string_input_has_openai_shape(client):
    response = await client.post("/v1/embeddings", json={"model": "minilm", "input": "hello world"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["object"] == "list" and body["model"] == "minilm"
    assert body["data"][0]["object"] == "embedding" and body["data"][0]["index"] == 0
    assert len(body["data"][0]["embedding"]) == 384
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] == 4  # [CLS] hello world [SEP]
    assert response.headers["x-request-id"]


async def test_base64_decodes_to_the_float_vectors(client):
    texts = ["one", "two words", "three little words"]
    floats = (await client.post("/v1/embeddings", json={"model": "minilm", "input": texts})).json()
    packed = (
        await client.post(
            "/v1/embeddings", json={"model": "minilm", "input": texts, "encoding_format": "base64"}
        )
    ).json()
    for as_float, as_b64 in zip(floats["data"], packed["data"], strict=True):
        decoded = np.frombuffer(base64.b64decode(as_b64["embedding"]), dtype="<f4")
        np.testing.assert_allclose(
            decoded, np.asarray(as_float["embedding"], dtype=np.float32), rtol=0, atol=0
        )


async def test_image_parts_and_engine_agree(client, engine: Engine):
    jpeg = encode(photo("coffee"))
    body = {
        "model": "tiny-clip",
        "input": [
            {"type": "image_url", "image_url": {"url": data_uri(jpeg)}},
            {"type": "text", "text": "a cup of coffee"},
            {"type": "image_url", "image_url": base64.b64encode(jpeg).decode()},
        ],
    }
    response = await client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    vectors = np.asarray([row["embedding"] for row in response.json()["data"]], dtype=np.float32)
    from omniembed.media.payload import MediaReference

    direct = await engine.embed(
        "tiny-clip", [ImageInput(reference=MediaReference(data=jpeg)), TextInput("a cup of coffee")]
    )
    np.testing.assert_allclose(vectors[:2], direct.embeddings, atol=1e-6)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)  # data URI == bare base64


async def test_interleaved_item_is_the_normalized_mean_of_its_parts(client):
    jpeg = encode(photo("astronaut"))
    parts = [
        {"type": "text", "text": "an astronaut"},
        {"type": "image_url", "image_url": {"url": data_uri(jpeg)}},
    ]
    fused = (await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": [parts]})).json()
    separate = (await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": parts})).json()
    a, b = (np.asarray(row["embedding"]) for row in separate["data"])
    expected = (a / np.linalg.norm(a) + b / np.linalg.norm(b)) / 2
    expected /= np.linalg.norm(expected)
    assert len(fused["data"]) == 1
    assert cosines(np.asarray([fused["data"][0]["embedding"]]), expected[None, :])[0] > 0.99999


async def test_model_defaults_to_first_served(client):
    response = await client.post("/v1/embeddings", json={"input": "no model field"})
    assert response.status_code == 200
    assert response.json()["model"] == "tiny-clip"


async def test_model_selected_by_alias(client, tiny_clip_dir):
    response = await client.post("/v1/embeddings", json={"model": "TINY-CLIP", "input": "x"})
    assert response.status_code == 200 and response.json()["model"] == "tiny-clip"


async def test_normalize_switch(client):
    raw = (
        await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": "x", "normalize": False})
    ).json()
    norm = np.linalg.norm(raw["data"][0]["embedding"])
    assert abs(norm - 1.0) > 1e-3
