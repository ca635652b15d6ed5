"""Cohere Embed v1 `/v1/embed` in-process: `embeddings_floats` without `embedding_types`,
`embeddings_by_type` with them, images, truncate, and Cohere-shaped errors."""

from __future__ import annotations

import numpy as np

from omniembed.engine.postprocess import quantize
from tests.support.media import data_uri, encode, photo


async def embed(client, **body):
    return await client.post("/v1/embed", json=body)


async def test_floats_response_shape_equals_v2(client):
    texts = ["hello world", "goodbye"]
    response = await embed(client, model="minilm", texts=texts, input_type="search_document")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_type"] == "embeddings_floats" and body["id"]
    assert body["texts"] == texts and body["meta"]["api_version"]["version"] == "1"
    assert body["meta"]["billed_units"]["input_tokens"] > 0
    v2 = (await client.post("/v2/embed", json={"model": "minilm", "texts": texts})).json()
    np.testing.assert_allclose(body["embeddings"], v2["embeddings"]["float"], atol=1e-6)


async def test_embedding_types_answer_by_type(client):
    types = ["float", "int8", "uint8", "binary", "ubinary"]
    body = (await embed(client, model="minilm", texts=["one"], embedding_types=types)).json()
    assert body["response_type"] == "embeddings_by_type" and list(body["embeddings"]) == types
    floats = np.asarray(body["embeddings"]["float"], dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(body["embeddings"]["int8"]), quantize(floats, "int8"))


async def test_images(client):
    uri = data_uri(encode(photo("rocket")))
    body = (await embed(client, model="tiny-clip", images=[uri], input_type="image")).json()
    assert body["response_type"] == "embeddings_floats" and body["texts"] == []
    assert body["meta"]["billed_units"]["images"] == 1 and len(body["embeddings"]) == 1


async def test_truncate_none_refuses_a_long_text(client):
    response = await embed(client, model="minilm", texts=["ok", "word " * 2000], truncate="NONE")
    assert response.status_code == 400, response.text
    assert response.json() == {"message": response.json()["message"], "code": "input_too_long"}
    cut = await embed(client, model="minilm", texts=["word " * 2000], truncate="START")
    assert cut.status_code == 200, cut.text


async def test_errors_in_cohere_shape(client):
    neither = await embed(client, model="minilm")
    assert neither.status_code == 400 and set(neither.json()) == {"message", "code"}
    bad_type = await embed(client, model="minilm", texts=["x"], embedding_types=["base65"])
    assert bad_type.status_code == 400 and "'base65'" in bad_type.json()["message"]
    unknown = await embed(client, model="minilm", texts=["x"], dimensions=128)
    assert unknown.status_code == 400 and "dimensions" in unknown.json()["message"]
    fixed = await embed(client, model="minilm", texts=["x"], output_dimension=128)  # what LiteLLM sends
    assert fixed.status_code == 400 and "'output_dimension'" in fixed.json()["message"]


async def test_output_dimension_as_litellm_sends_it(prompted_client):
    body = {"model": "prompted-minilm", "texts": ["cats"], "embedding_types": ["float"]}
    cut = await prompted_client.post("/v1/embed", json={**body, "output_dimension": 128})
    assert cut.status_code == 200, cut.text
    assert len(cut.json()["embeddings"]["float"][0]) == 128
