"""A VLM embedder (tiny random Qwen3-VL, sentence-transformers) behind the HTTP dialects: a `messages`
body, an interleaved content item, a video and Cohere `inputs` each come back as the reference's one
vector; `/v1/models` says the model reads interleaved items natively."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from PIL import Image

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.models.registry import resolve
from tests.conftest import make_settings
from tests.support.media import data_uri, encode
from tests.support.parity import assert_parity
from tests.support.tiny_qwen3_vl import build_tiny_qwen3_vl


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_qwen3_vl(tmp_path_factory.mktemp("qwen3vl") / "model")


@pytest.fixture(scope="module")
def reference(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def photo():
    from skimage import data

    return Image.fromarray(data.chelsea())


@pytest.fixture
async def client(model_dir):
    engine = Engine()
    await engine.add(load_model(resolve(f"vl={model_dir}")))
    app = create_app(make_settings(["unused"]), engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as http:
        yield http
    await engine.close()


def vectors(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray([row["embedding"] for row in response.json()["data"]], dtype=np.float32)


async def test_models_listing_says_native(client):
    card = (await client.get("/v1/models")).json()["data"][0]
    assert card["capabilities"]["interleaved"] == "native"
    assert set(card["capabilities"]["modalities"]) == {"text", "image", "video"}


async def test_messages_body_is_one_vector(client, reference, photo):
    uri = data_uri(encode(photo, "PNG"), "image/png")
    body = {
        "model": "vl",
        "messages": [
            {"role": "system", "content": "Represent the user's input."},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": uri}},
                    {"type": "text", "text": "a cat"},
                ],
            },
        ],
    }
    got = vectors(await client.post("/v1/embeddings", json=body))
    expected = reference.encode(
        [
            [
                {"role": "system", "content": [{"type": "text", "text": "Represent the user's input."}]},
                {
                    "role": "user",
                    "content": [{"type": "image", "image": photo}, {"type": "text", "text": "a cat"}],
                },
            ]
        ]
    )
    assert got.shape == (1, 64)
    assert_parity(got, expected)


async def test_interleaved_item_and_cohere_inputs(client, reference, photo):
    uri = data_uri(encode(photo, "PNG"), "image/png")
    parts = [{"type": "text", "text": "a cat"}, {"type": "image_url", "image_url": {"url": uri}}]
    expected = reference.encode([{"text": "a cat", "image": photo}])
    got = vectors(await client.post("/v1/embeddings", json={"model": "vl", "input": [parts, "a cat"]}))
    assert_parity(got[:1], expected)
    assert_parity(got[1:], reference.encode(["a cat"]))
    cohere = await client.post(
        "/v2/embed",
        json={
            "model": "vl",
            "input_type": "search_document",
            "embedding_types": ["float"],
            "inputs": [{"content": parts}],
        },
    )
    assert cohere.status_code == 200, cohere.text
    got = np.asarray(cohere.json()["embeddings"]["float"], dtype=np.float32)
    assert_parity(got, reference.encode([{"text": "a cat", "image": photo}], prompt_name="document"))


async def test_usage_counts_visual_tokens(client, photo):
    uri = data_uri(encode(photo, "PNG"), "image/png")
    body = {"model": "vl", "input": ["a cat", [{"type": "image_url", "image_url": {"url": uri}}]]}
    response = await client.post("/v1/embeddings", json=body)
    tokens = response.json()["usage"]["item_tokens"]
    assert tokens[1] > tokens[0] and tokens[1] >= 16  # an image is its visual tokens


async def test_refusals_are_openai_400s(client):
    response = await client.post(
        "/v1/embeddings", json={"model": "vl", "input": ["a"], "truncation": "chunk"}
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "truncation"
    response = await client.post(
        "/v1/embeddings", json={"model": "vl", "input": ["a"], "return_multivector": True}
    )
    assert response.status_code == 400
