"""Cohere `/v2/embed` in-process: request forms, embedding types, Matryoshka, truncation, prompts."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from omniembed.engine.postprocess import quantize
from tests.support.media import data_uri, encode, photo


async def embed(client, **body):
    return await client.post("/v2/embed", json=body)


async def test_texts_response_shape(client):
    response = await embed(
        client, model="minilm", texts=["hello world", "goodbye"], input_type="search_document"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_type"] == "embeddings_by_type" and body["id"]
    assert list(body["embeddings"]) == ["float"]
    assert np.asarray(body["embeddings"]["float"]).shape == (2, 384)
    assert body["texts"] == ["hello world", "goodbye"]
    assert body["meta"]["api_version"]["version"] == "2"
    assert body["meta"]["billed_units"] == {"input_tokens": 4 + 3, "images": 0, "item_tokens": [4, 3]}


async def test_all_embedding_types_agree_with_float(client):
    types = ["float", "int8", "uint8", "binary", "ubinary", "base64"]
    body = (await embed(client, model="minilm", texts=["one", "two"], embedding_types=types)).json()
    floats = np.asarray(body["embeddings"]["float"], dtype=np.float32)
    for kind in ("int8", "uint8", "binary", "ubinary"):
        np.testing.assert_array_equal(np.asarray(body["embeddings"][kind]), quantize(floats, kind))
    for row, packed in zip(floats, body["embeddings"]["base64"], strict=True):
        np.testing.assert_array_equal(np.frombuffer(base64.b64decode(packed), dtype="<f4"), row)
    assert len(body["embeddings"]["binary"][0]) == 384 // 8


async def test_images_and_mixed_inputs(client):
    uri = data_uri(encode(photo("rocket")))
    images = (await embed(client, model="tiny-clip", images=[uri], input_type="image")).json()
    assert images["meta"]["billed_units"]["images"] == 1
    mixed = await embed(
        client,
        model="tiny-clip",
        input_type="search_document",
        inputs=[
            {
                "content": [
                    {"type": "text", "text": "a rocket"},
                    {"type": "image_url", "image_url": {"url": uri}},
                ]
            },
            {"content": [{"type": "image_url", "image_url": {"url": uri}}]},
        ],
    )
    assert mixed.status_code == 200, mixed.text
    vectors = np.asarray(mixed.json()["embeddings"]["float"])
    np.testing.assert_allclose(vectors[1], images["embeddings"]["float"][0], atol=1e-6)
    assert mixed.json()["meta"]["billed_units"]["images"] == 2


async def test_openai_and_cohere_dialects_agree(client):
    texts = ["The cat sat on the mat.", "Embeddings are vectors.", "x"]
    openai = (await client.post("/v1/embeddings", json={"model": "minilm", "input": texts})).json()
    cohere = (await embed(client, model="minilm", texts=texts)).json()
    a = np.asarray([row["embedding"] for row in openai["data"]])
    b = np.asarray(cohere["embeddings"]["float"])
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.99999
    assert openai["usage"]["prompt_tokens"] == cohere["meta"]["billed_units"]["input_tokens"]


async def test_truncate_none_refuses_long_input(client):
    response = await embed(client, model="minilm", texts=["word " * 400], truncate="NONE")
    assert response.status_code == 400
    assert response.json()["code"] == "input_too_long" and "truncation is off" in response.json()["message"]


async def test_truncate_start_and_end_differ(client):
    text = "apples " * 300 + "bananas " * 300
    end = np.asarray(
        (await embed(client, model="minilm", texts=[text], truncate="END")).json()["embeddings"]["float"]
    )
    start = np.asarray(
        (await embed(client, model="minilm", texts=[text], truncate="START")).json()["embeddings"]["float"]
    )
    apples = np.asarray(
        (await embed(client, model="minilm", texts=["apples " * 200])).json()["embeddings"]["float"]
    )
    assert float(end[0] @ apples[0]) > float(start[0] @ apples[0])


async def test_max_tokens_shortens_the_context(client):
    long = (await embed(client, model="minilm", texts=["one two three four five six"], max_tokens=4)).json()
    short = (await embed(client, model="minilm", texts=["one two"])).json()
    np.testing.assert_allclose(long["embeddings"]["float"], short["embeddings"]["float"], atol=1e-6)
    assert long["meta"]["billed_units"]["input_tokens"] == 4


async def test_output_dimension_guard(client):
    response = await embed(client, model="minilm", texts=["x"], output_dimension=128)
    assert response.status_code == 400 and "Matryoshka" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "minilm"},
        {"model": "minilm", "texts": ["a"], "images": ["b"]},
        {"model": "minilm", "texts": []},
        {"model": "minilm", "texts": ["a"], "embedding_types": ["float32"]},
        {"model": "minilm", "texts": ["a"], "truncate": "MIDDLE"},
        {"model": "minilm", "texts": ["a"], "input_type": "made_up_type"},
        {"model": "tiny-clip", "images": ["data:text/plain;base64,aGk="]},
        {"model": "tiny-clip", "inputs": [{"content": []}]},
    ],
)
async def test_errors_use_cohere_shape(client, body):
    response = await embed(client, **body)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"message", "code"}


async def test_cohere_input_types_are_noops_without_prompts(client):
    for input_type in ("search_document", "search_query", "classification", "clustering"):
        response = await embed(client, model="minilm", texts=["same text"], input_type=input_type)
        assert response.status_code == 200


async def test_input_type_selects_the_models_prompt(prompted_client, minilm_dir):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(minilm_dir), device="cpu")
    query = (
        await embed(prompted_client, model="prompted-minilm", texts=["cats"], input_type="search_query")
    ).json()
    document = (
        await embed(prompted_client, model="prompted-minilm", texts=["cats"], input_type="document")
    ).json()
    np.testing.assert_allclose(query["embeddings"]["float"], reference.encode(["query: cats"]), atol=1e-5)
    np.testing.assert_allclose(
        document["embeddings"]["float"], reference.encode(["passage: cats"]), atol=1e-5
    )


async def test_matryoshka_truncates_and_renormalizes(prompted_client):
    full = (await embed(prompted_client, model="prompted-minilm", texts=["cats"])).json()["embeddings"][
        "float"
    ][0]
    cut = (await embed(prompted_client, model="prompted-minilm", texts=["cats"], output_dimension=128)).json()
    vector = np.asarray(cut["embeddings"]["float"][0])
    expected = np.asarray(full[:128]) / np.linalg.norm(full[:128])
    np.testing.assert_allclose(vector, expected, atol=1e-6)
    openai = await prompted_client.post(
        "/v1/embeddings", json={"model": "prompted-minilm", "input": "cats", "dimensions": 128}
    )
    np.testing.assert_allclose(openai.json()["data"][0]["embedding"], vector, atol=1e-6)
    too_small = await embed(prompted_client, model="prompted-minilm", texts=["cats"], output_dimension=16)
    assert too_small.status_code == 400
