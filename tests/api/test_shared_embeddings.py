"""`POST /embeddings`: Intel MES's body (`input` an object with a `type`) and Infinity's (`input` a
string or a list) on one path, each answered in its own shape and as strict as its own schema."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.media import b64, data_uri, encode, photo, video_path

JPEG = encode(photo("chelsea"))
BIKES = video_path("bikes.mp4").read_bytes()


async def _openai(client, model, items, **extra):
    body = {"model": model, "input": items, **extra}
    response = await client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    return np.asarray([row["embedding"] for row in response.json()["data"]])


async def _mes(client, model, value):
    body = {"model": model, "input": value, "encoding_format": "float"}
    response = await client.post("/embeddings", json=body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"embedding"}
    return np.asarray(response.json()["embedding"])


async def test_mes_text_string_is_one_query_vector_and_list_one_per_document(prompted_client):
    query = await _mes(prompted_client, "prompted-minilm", {"type": "text", "text": "a cat"})
    assert query.shape == (384,)  # MES's embed_query: one flat vector
    expected = await _openai(prompted_client, "prompted-minilm", ["a cat"], input_type="query")
    np.testing.assert_allclose(query, expected[0], atol=1e-6)
    documents = await _mes(prompted_client, "prompted-minilm", {"type": "text", "text": ["a cat", "a dog"]})
    expected = await _openai(prompted_client, "prompted-minilm", ["a cat", "a dog"], input_type="document")
    np.testing.assert_allclose(documents, expected, atol=1e-6)


async def test_mes_images_by_url_part_and_base64(client):
    expected = await _openai(client, "tiny-clip", [{"type": "image_url", "image_url": data_uri(JPEG)}])
    by_base64 = await _mes(client, "tiny-clip", {"type": "image_base64", "image_base64": b64(JPEG)})
    by_uri = await _mes(client, "tiny-clip", {"type": "image_url", "image_url": data_uri(JPEG)})
    assert by_base64.shape == (16,)
    np.testing.assert_allclose(by_base64, expected[0], atol=1e-6)
    np.testing.assert_allclose(by_uri, expected[0], atol=1e-6)


async def test_mes_video_frames_are_one_vector_per_frame(client):
    frames = [
        {"type": "image_base64", "image_base64": b64(JPEG)},
        {"type": "image_url", "image_url": data_uri(encode(photo("rocket")))},
    ]
    vectors = await _mes(client, "tiny-clip", {"type": "video_frames", "video_frames": frames})
    assert vectors.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    single = await _mes(client, "tiny-clip", frames[0])
    np.testing.assert_allclose(vectors[0], single, atol=1e-6)


async def test_mes_video_base64_gives_per_frame_vectors(client):
    config = {"startOffsetSec": 0, "clip_duration": -1, "num_frames": 3}
    value = {"type": "video_base64", "video_base64": b64(BIKES), "segment_config": config}
    vectors = await _mes(client, "tiny-clip", value)
    assert vectors.shape == (3, 16)
    body = {"model": "tiny-clip", "video": b64(BIKES), "num_frames": 3, "pooling": "none"}
    frames = (await client.post("/v1/embeddings/video", json=body)).json()["frames"]
    np.testing.assert_allclose(vectors, [frame["embedding"] for frame in frames], atol=1e-6)


async def test_infinity_body_on_the_same_path(client):
    response = await client.post("/embeddings", json={"model": "minilm", "input": ["a cat", "a dog"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and body["id"].startswith("infinity-")
    expected = await _openai(client, "minilm", ["a cat", "a dog"])
    np.testing.assert_allclose([row["embedding"] for row in body["data"]], expected, atol=1e-6)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        # An unknown field is named, in whichever dialect the body is.
        ({"model": "minilm", "input": {"type": "text", "text": "x"}, "k": 1}, "k"),
        ({"model": "minilm", "input": {"type": "text", "text": "x", "prompt": "q"}}, "input.prompt"),
        ({"model": "minilm", "input": ["x"], "input_type": "query"}, "input_type"),
        ({"model": "minilm", "input": {"type": "audio", "audio": "x"}}, "input.type"),
        ({"model": "minilm", "input": {"text": "x"}}, "input.type"),
        ({"model": "minilm", "input": {"type": "text", "text": "x"}, "encoding_format": "base64"}, None),
        ({"input": {"type": "text", "text": "x"}}, "model"),  # MES's model is required
        ({"model": "minilm", "input": {"type": "text", "text": []}}, "input.text"),
        ({"model": "tiny-clip", "input": {"type": "image_base64", "image_base64": "https://x/a.jpg"}}, None),
        ({"model": "tiny-clip", "input": {"type": "video_file", "video_path": "/etc/passwd"}}, "input.type"),
        (
            {
                "model": "tiny-clip",
                "input": {"type": "video_base64", "video_base64": b64(BIKES), "segment_config": {"x": 1}},
            },
            "input.segment_config.x",
        ),
        (
            {
                "model": "tiny-clip",
                "input": {
                    "type": "video_base64",
                    "video_base64": b64(BIKES),
                    "segment_config": {"startOffsetSec": 2},
                },
            },
            "input.segment_config",
        ),
        ([{"input": "x"}], "body"),  # neither dialect's body
    ],
)
async def test_bad_bodies_are_400_naming_the_field(client, body, param):
    response = await client.post("/embeddings", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"]
    if param is not None:
        assert error["param"] == param, error


async def test_unknown_model_is_404(client):
    body = {"model": "nope", "input": {"type": "text", "text": "x"}, "encoding_format": "float"}
    response = await client.post("/embeddings", json=body)
    assert response.status_code == 404
    assert response.json()["error"]["code"]


async def test_openapi_documents_both_bodies_and_answers(client):
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/embeddings"]["post"]
    refs = operation["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in refs} == {
        "InfinityEmbeddingRequest",
        "MesEmbeddingRequest",
    }
    assert "MesEmbeddingRequest" in schema["components"]["schemas"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/InfinityOrMesEmbeddings"}
