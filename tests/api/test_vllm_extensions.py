"""vLLM's request extensions on /v1/embeddings, with vLLM's meaning (its EmbedRequestMixin,
EncodingRequestMixin, PoolingBasicRequestMixin and CompletionRequestMixin fields)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer


async def embed(client, **body):
    return await client.post("/v1/embeddings", json={"model": "minilm", **body})


async def floats(client, **body):
    response = await embed(client, encoding_format="float", **body)
    assert response.status_code == 200, response.text
    return np.asarray([row["embedding"] for row in response.json()["data"]], dtype=np.float32)


@pytest.mark.parametrize("endianness", ["native", "little", "big"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
async def test_embed_dtype_and_endianness_of_base64(client, dtype, endianness):
    texts = ["a photo of a cat", "hello"]
    reference = await floats(client, input=texts)
    response = await embed(
        client, input=texts, encoding_format="base64", embed_dtype=dtype, endianness=endianness
    )
    assert response.status_code == 200, response.text
    order = {"native": "=", "little": "<", "big": ">"}[endianness]
    for row, expected in zip(response.json()["data"], reference, strict=True):
        raw = base64.b64decode(row["embedding"])
        if dtype == "bfloat16":
            bits = np.frombuffer(raw, dtype=f"{order}u2").astype(np.uint32) << 16
            got = bits.view(np.float32)
            want = torch.from_numpy(expected).to(torch.bfloat16).float().numpy()
            np.testing.assert_array_equal(got, want)  # rounded exactly as torch rounds
        else:
            got = np.frombuffer(raw, dtype=f"{order}{'f2' if dtype == 'float16' else 'f4'}")
            np.testing.assert_array_equal(got, expected.astype(got.dtype))


async def test_truncate_prompt_tokens_keeps_the_last_tokens(client, minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    text = " ".join(["apple", "banana", "cherry", "grape", "lemon", "mango", "orange", "peach"] * 8)
    keep = 12  # special tokens included, as vLLM counts them
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    tail = tokenizer.decode(ids[-(keep - 2) :])
    got = await floats(client, input=[text], truncate_prompt_tokens=keep)
    np.testing.assert_allclose(got, await floats(client, input=[tail]), atol=1e-5)
    first = tokenizer.decode(ids[: keep - 2])
    right = await floats(client, input=[text], truncate_prompt_tokens=keep, truncation_side="right")
    np.testing.assert_allclose(right, await floats(client, input=[first]), atol=1e-5)


async def test_truncate_prompt_tokens_minus_one_is_the_model_context(client):
    text = " ".join(f"{fruit} {i}" for i, fruit in enumerate(["apple", "banana", "cherry"] * 300))
    got = await floats(client, input=[text], truncate_prompt_tokens=-1)
    np.testing.assert_allclose(got, await floats(client, input=[text], truncation="start"), atol=1e-6)
    assert not np.allclose(got, await floats(client, input=[text]), atol=1e-3)  # the default keeps the start


async def test_use_activation_is_normalize(client):
    raw = await floats(client, input=["hello"], use_activation=False)
    np.testing.assert_allclose(raw, await floats(client, input=["hello"], normalize=False), atol=1e-7)
    normalized = await floats(client, input=["hello"], use_activation=True)
    assert abs(np.linalg.norm(normalized) - 1) < 1e-5
    disagree = await embed(client, input="hello", use_activation=True, normalize=False)
    assert disagree.status_code == 400 and disagree.json()["error"]["param"] == "use_activation"


async def test_add_special_tokens(client, minilm_dir):
    """False embeds the text's own tokens without [CLS]/[SEP], as vLLM does; usage counts them."""
    import torch
    from sentence_transformers import SentenceTransformer

    same = await floats(client, input=["hello world"], add_special_tokens=True)
    np.testing.assert_allclose(same, await floats(client, input=["hello world"]), atol=1e-7)
    response = await embed(client, input=["hello world"], add_special_tokens=False)
    assert response.status_code == 200, response.text
    model = SentenceTransformer(str(minilm_dir), device="cpu")
    ids = model.tokenizer("hello world", add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        expected = model.forward(dict(ids))["sentence_embedding"].numpy()
    got = np.asarray(response.json()["data"][0]["embedding"], dtype=np.float32)
    np.testing.assert_allclose(
        got / np.linalg.norm(got), expected[0] / np.linalg.norm(expected[0]), atol=1e-5
    )
    assert response.json()["usage"]["prompt_tokens"] == ids["input_ids"].shape[1]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("embed_dtype", "float64"),
        ("endianness", "middle"),
        ("truncate_prompt_tokens", -2),
        ("truncate_prompt_tokens", 0),
        ("truncation_side", "center"),
        ("use_activation", "maybe"),
        ("add_special_tokens", "sometimes"),
    ],
)
async def test_invalid_values_are_400_naming_the_field(client, field, value):
    response = await embed(client, input="hello", encoding_format="base64", **{field: value})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == field and field in error["message"]


async def test_raw_encoding_options_need_base64(client):
    response = await embed(client, input="hello", encoding_format="float", embed_dtype="float16")
    assert response.status_code == 400 and response.json()["error"]["param"] == "embed_dtype"


async def test_truncate_prompt_tokens_too_small_names_it(client):
    response = await embed(client, input="hello world", truncate_prompt_tokens=2)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "truncate_prompt_tokens"


async def test_truncate_prompt_tokens_above_the_context_is_refused_as_vllm_does(client):
    response = await embed(client, input="hello world", truncate_prompt_tokens=100_000)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "truncate_prompt_tokens" and "context" in error["message"]
