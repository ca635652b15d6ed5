"""A real `uvicorn` process on 127.0.0.1 driven by the official `openai` client."""

from __future__ import annotations

import numpy as np
import openai
import pytest

from tests.support.media import data_uri, encode, photo
from tests.support.server import running_server


@pytest.fixture(scope="module")
def server(tiny_clip_dir, minilm_dir):
    with running_server(
        ["--model", f"tiny-clip={tiny_clip_dir}", "--model", f"minilm={minilm_dir}"]
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-needed", max_retries=0, timeout=60)


def test_text_default_base64_equals_float(client):
    packed = client.embeddings.create(model="minilm", input=["a photo of a cat", "hello"])
    floats = client.embeddings.create(
        model="minilm", input=["a photo of a cat", "hello"], encoding_format="float"
    )
    assert len(packed.data) == 2 and len(packed.data[0].embedding) == 384
    for a, b in zip(packed.data, floats.data, strict=True):
        np.testing.assert_allclose(a.embedding, b.embedding, rtol=0, atol=1e-7)
    assert packed.usage.prompt_tokens == floats.usage.prompt_tokens > 0
    assert packed.model == "minilm"


def test_image_data_uri_and_base64(client):
    jpeg = encode(photo("chelsea"))
    by_uri = client.embeddings.create(
        model="tiny-clip",
        input=[{"type": "image_url", "image_url": {"url": data_uri(jpeg)}}],  # type: ignore[list-item]
    )
    by_b64 = client.embeddings.create(
        model="tiny-clip",
        input=[{"type": "image_url", "image_url": {"url": data_uri(jpeg)}}],  # type: ignore[list-item]
        encoding_format="float",
    )
    np.testing.assert_allclose(by_uri.data[0].embedding, by_b64.data[0].embedding, atol=1e-7)
    assert abs(np.linalg.norm(by_uri.data[0].embedding) - 1) < 1e-5


def test_errors_surface_as_client_exceptions(client):
    with pytest.raises(openai.NotFoundError) as missing:
        client.embeddings.create(model="no-such-model", input="x")
    assert "tiny-clip" in str(missing.value)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="minilm", input="x", dimensions=64)


def test_models_listing_through_the_client(client):
    assert [m.id for m in client.models.list()] == ["tiny-clip", "minilm"]


@pytest.fixture(scope="module")
def cohere_client(server):
    import cohere

    return cohere.ClientV2(api_key="not-needed", base_url=server.url, timeout=60)


def test_cohere_sdk_texts(cohere_client, client):
    response = cohere_client.embed(
        model="minilm", texts=["hello world"], input_type="search_document", embedding_types=["float", "int8"]
    )
    floats = np.asarray(response.embeddings.float_)
    assert floats.shape == (1, 384)
    assert np.asarray(response.embeddings.int8).dtype.kind == "i"
    assert response.meta.billed_units.input_tokens == 4
    openai_vector = client.embeddings.create(
        model="minilm", input="hello world", encoding_format="float"
    ).data[0]
    cos = float(floats[0] @ np.asarray(openai_vector.embedding))
    assert cos >= 0.99999


def test_cohere_sdk_images_and_mixed_inputs(cohere_client):
    import cohere

    uri = data_uri(encode(photo("coffee")))
    images = cohere_client.embed(
        model="tiny-clip", images=[uri], input_type="image", embedding_types=["float"]
    )
    assert len(images.embeddings.float_[0]) == 16
    mixed = cohere_client.embed(
        model="tiny-clip",
        input_type="search_document",
        embedding_types=["float"],
        inputs=[
            cohere.EmbedInput(
                content=[
                    cohere.TextEmbedContent(text="a cup of coffee"),
                    cohere.ImageUrlEmbedContent(image_url=cohere.EmbedImageUrl(url=uri)),
                ]
            )
        ],
    )
    assert len(mixed.embeddings.float_) == 1
    assert mixed.meta.billed_units.images == 1


def test_cohere_sdk_errors(cohere_client):
    import cohere

    with pytest.raises(cohere.BadRequestError):
        cohere_client.embed(model="minilm", texts=["x"], input_type="search_query", output_dimension=32)
    with pytest.raises(cohere.NotFoundError):
        cohere_client.embed(model="absent", texts=["x"], input_type="search_query")


def test_json_logs_carry_the_request_id(server):
    import json

    import httpx

    httpx.post(
        f"{server.url}/v1/embeddings",
        json={"model": "minilm", "input": "log me"},
        headers={"X-Request-Id": "trace-log-42"},
        timeout=30,
    )
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "trace-log-42"]
    assert mine and mine[-1]["status"] == 200 and mine[-1]["path"] == "/v1/embeddings"
    assert "duration_ms" in mine[-1]
