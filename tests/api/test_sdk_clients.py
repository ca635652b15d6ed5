"""A real `omniembed serve` process driven by the official SDKs: `openai`, `cohere.Client` (Embed
v1) and `cohere.ClientV2` (Embed v2), including the errors they raise (401 shapes with keys set
are checked in-process in test_dialect_errors.py: the readiness probe here runs without a key)."""

from __future__ import annotations

import cohere
import numpy as np
import openai
import pytest

from tests.support.media import data_uri, encode, photo
from tests.support.server import running_server

KEY = "not-needed"
MAX_ITEMS = 8


@pytest.fixture(scope="module")
def server(tiny_clip_dir, minilm_dir):
    args = ["--model", f"tiny-clip={tiny_clip_dir}", "--model", f"minilm={minilm_dir}"]
    env = {"OMNIEMBED_MAX_ITEMS_PER_REQUEST": str(MAX_ITEMS)}
    with running_server(args, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def oai(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def co_v1(server):
    return cohere.Client(base_url=server.url, api_key=KEY, timeout=60)


@pytest.fixture(scope="module")
def co_v2(server):
    return cohere.ClientV2(base_url=server.url, api_key=KEY, timeout=60)


def test_cohere_v1_floats_and_by_type(co_v1, co_v2):
    texts = ["a photo of a cat", "hello"]
    floats = co_v1.embed(texts=texts, model="minilm", input_type="search_document")
    assert floats.response_type == "embeddings_floats"
    assert np.asarray(floats.embeddings).shape == (2, 384)
    typed = co_v1.embed(
        texts=texts, model="minilm", input_type="search_document", embedding_types=["float", "int8"]
    )
    assert typed.response_type == "embeddings_by_type"
    np.testing.assert_allclose(typed.embeddings.float_, floats.embeddings, atol=1e-6)
    assert np.asarray(typed.embeddings.int8).shape == (2, 384)
    v2 = co_v2.embed(texts=texts, model="minilm", input_type="search_document", embedding_types=["float"])
    np.testing.assert_allclose(v2.embeddings.float_, floats.embeddings, atol=1e-6)


def test_cohere_v1_images(co_v1):
    uri = data_uri(encode(photo("rocket")))
    response = co_v1.embed(images=[uri], model="tiny-clip", input_type="image")
    assert np.asarray(response.embeddings).shape[0] == 1


def test_cohere_errors_are_cohere_exceptions_with_cohere_bodies(co_v1, co_v2):
    with pytest.raises(cohere.BadRequestError) as many:
        co_v1.embed(texts=["x"] * (MAX_ITEMS + 1), model="minilm", input_type="search_query", batching=False)
    assert set(many.value.body) == {"message", "code"} and many.value.body["code"] == "too_many_inputs"
    with pytest.raises(cohere.BadRequestError) as bad:
        co_v2.embed(
            texts=["x"],
            model="minilm",
            input_type="search_query",
            embedding_types=["float"],
            output_dimension=128,
        )
    assert "output_dimension" in bad.value.body["message"]


def test_openai_errors_are_bad_requests(oai):
    with pytest.raises(openai.BadRequestError) as many:
        oai.embeddings.create(model="minilm", input=["x"] * (MAX_ITEMS + 1))
    assert many.value.body["param"] == "input"
    with pytest.raises(openai.BadRequestError) as unknown:
        oai.embeddings.create(model="minilm", input="x", extra_body={"normalise": False})
    assert unknown.value.body["param"] == "normalise"


def test_openai_sdk_with_vllm_and_infinity_extensions(oai):
    uri = data_uri(encode(photo("rocket")))
    image = oai.embeddings.create(model="tiny-clip", input=[uri], extra_body={"modality": "image"})
    part = oai.embeddings.create(
        model="tiny-clip",
        input=[{"type": "image_url", "image_url": {"url": uri}}],  # type: ignore[list-item]
    )
    np.testing.assert_allclose(image.data[0].embedding, part.data[0].embedding, atol=1e-6)
    raw = oai.embeddings.create(model="tiny-clip", input="hello", extra_body={"use_activation": False})
    assert abs(np.linalg.norm(raw.data[0].embedding) - 1) > 1e-3


def test_sdks_keep_per_item_token_counts(oai, co_v1, co_v2):
    """`item_tokens` is an extra field to both SDKs: parsed without complaint and kept. (cohere's
    `Client.embed` batches texts by default and rebuilds `billed_units` from the fields it knows,
    so it is read there with `batching=False`.)"""
    texts = ["hello", "a photo of a cat"]
    usage = oai.embeddings.create(model="minilm", input=texts).usage
    assert usage.model_extra is not None
    assert usage.prompt_tokens == sum(usage.model_extra["item_tokens"]) > 0
    assert len(usage.model_extra["item_tokens"]) == 2
    options = {
        "texts": texts,
        "model": "minilm",
        "input_type": "search_document",
        "embedding_types": ["float"],
    }
    for billed in (
        co_v1.embed(**options, batching=False).meta.billed_units,
        co_v2.embed(**options).meta.billed_units,
    ):
        assert billed.model_extra is not None
        assert billed.input_tokens == sum(billed.model_extra["item_tokens"]) > 0
