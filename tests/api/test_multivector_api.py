"""Multi-vector output over HTTP, in-process through the real app: a tiny random ColPali on
`/v1/embeddings` (`return_multivector`, every encoding), vLLM's `/pooling` (`token_embed`, `embed`) and
`/v1/score` (MaxSim), against `ColPaliForRetrieval` fed by its processor on the same weights; and the
official openai SDK against a real server process."""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import engine_from_settings, load_model, load_models
from omniembed.engine.engine import Engine
from omniembed.models.registry import resolve
from tests.conftest import make_settings
from tests.support import tiny_late_interaction as tiny
from tests.support.media import data_uri, encode, photo
from tests.support.server import running_server

QUERIES = ["a photo of a cat", "the quick brown fox jumps over the lazy dog"]
PAGES = [encode(photo("coffee").resize((60, 44)), "PNG"), encode(photo("rocket").resize((40, 70)), "PNG")]
IMAGES = [{"type": "image_url", "image_url": {"url": data_uri(page, "image/png")}} for page in PAGES]


@pytest.fixture(scope="module")
def colpali_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.build_tiny_colpali(tmp_path_factory.mktemp("colpali") / "model")


@pytest.fixture(scope="module")
def reference(colpali_dir: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Token vectors of QUERIES and PAGES from `ColPaliForRetrieval` and its processor."""
    from transformers import AutoProcessor, ColPaliForRetrieval

    model = ColPaliForRetrieval.from_pretrained(colpali_dir).eval()
    processor = AutoProcessor.from_pretrained(colpali_dir)
    images = [Image.open(io.BytesIO(page)).convert("RGB") for page in PAGES]

    def rows(batch: dict) -> list[np.ndarray]:
        batch.pop("labels", None)
        with torch.no_grad():
            embeddings = model(**batch).embeddings
        masks = batch["attention_mask"].bool()
        return [row[mask].float().numpy() for row, mask in zip(embeddings, masks, strict=True)]

    return rows(processor.process_queries(QUERIES)), rows(processor.process_images(images))


@pytest.fixture(scope="module")
async def mv_engine(colpali_dir: Path, minilm_dir: Path) -> AsyncIterator[Engine]:
    """'colpali', the same weights with a pooled vector declared ('colpali-pooled'), and 'minilm'."""
    settings = make_settings([f"colpali={colpali_dir}", f"minilm={minilm_dir}"])
    engine = engine_from_settings(settings)
    await load_models(engine, settings)
    adapter = load_model(resolve(str(colpali_dir)))
    adapter.spec = dataclasses.replace(adapter.spec, name="colpali-pooled", pooling="mean")
    await engine.add(adapter)
    yield engine
    await engine.close()


@pytest.fixture(scope="module")
async def mv(mv_engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(["unused"]), engine=mv_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as http:
        yield http


def assert_same_tokens(ours: np.ndarray, expected: np.ndarray) -> None:
    assert ours.shape == expected.shape
    cosine = (ours * expected).sum(-1) / (np.linalg.norm(ours, axis=-1) * np.linalg.norm(expected, axis=-1))
    assert cosine.min() >= 0.9999, cosine.min()


async def multivectors(client: httpx.AsyncClient, items: list, **extra) -> dict:
    body = {"model": "colpali", "input": items, "return_multivector": True, **extra}
    response = await client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def openai_error(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


async def test_return_multivector_gives_the_reference_token_vectors(mv, reference):
    queries, pages = reference
    body = await multivectors(mv, [*QUERIES, *IMAGES], input_type="search_query", encoding_format="float")
    assert [row["index"] for row in body["data"]] == [0, 1, 2, 3]
    for row, expected in zip(body["data"], [*queries, *pages], strict=True):
        matrix = np.asarray(row["embedding"], dtype=np.float32)
        assert row["shape"] == list(matrix.shape) == [len(expected), 16]
        assert_same_tokens(matrix, expected)
        np.testing.assert_allclose(np.linalg.norm(matrix, axis=-1), 1.0, atol=1e-5)
    usage = body["usage"]
    assert len(usage["item_tokens"]) == 4 and sum(usage["item_tokens"]) == usage["prompt_tokens"]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("endianness", ["native", "little", "big"])
async def test_base64_matrices_decode_row_major(mv, dtype, endianness):
    floats = await multivectors(mv, [QUERIES[0], IMAGES[0]], encoding_format="float")
    packed = await multivectors(
        mv, [QUERIES[0], IMAGES[0]], encoding_format="base64", embed_dtype=dtype, endianness=endianness
    )
    order = {"native": "=", "little": "<", "big": ">"}[endianness]
    kind = "f2" if dtype == "float16" else "f4"
    for as_float, as_b64 in zip(floats["data"], packed["data"], strict=True):
        raw = np.frombuffer(base64.b64decode(as_b64["embedding"]), dtype=f"{order}{kind}")
        decoded = raw.reshape(as_b64["shape"]).astype(np.float32)
        expected = np.asarray(as_float["embedding"], dtype=np.float32)
        np.testing.assert_array_equal(decoded, expected.astype(kind))
        assert as_b64["shape"] == as_float["shape"]


async def test_quantized_matrices_are_quantized_per_token_vector(mv):
    floats = await multivectors(mv, [QUERIES[1], IMAGES[1]], encoding_format="float")
    for encoding in ("int8", "uint8", "binary", "ubinary"):
        body = await multivectors(mv, [QUERIES[1], IMAGES[1]], encoding_format=encoding)
        for as_float, row in zip(floats["data"], body["data"], strict=True):
            matrix = np.asarray(as_float["embedding"], dtype=np.float32)
            got = np.asarray(row["embedding"])
            assert row["shape"] == list(matrix.shape)
            if encoding in ("int8", "uint8"):
                expected = np.clip(np.rint(matrix * 127), -128, 127) + (128 if encoding == "uint8" else 0)
            else:
                expected = np.packbits(matrix > 0, axis=-1).astype(np.int16)
                expected -= 128 if encoding == "binary" else 0
                assert got.shape == (matrix.shape[0], 2)  # 16 dims → 2 bytes per token vector
            np.testing.assert_array_equal(got, expected)


async def test_plain_requests_get_the_pooled_vector_or_a_400(mv):
    refused = openai_error(await mv.post("/v1/embeddings", json={"model": "colpali", "input": QUERIES}))
    assert refused["param"] == "output" and "return_multivector" in refused["message"]
    pooled = await mv.post("/v1/embeddings", json={"model": "colpali-pooled", "input": QUERIES})
    assert pooled.status_code == 200, pooled.text
    matrices = await multivectors(mv, QUERIES, model="colpali-pooled", encoding_format="float")
    for row, matrix in zip(pooled.json()["data"], matrices["data"], strict=True):
        mean = np.asarray(matrix["embedding"], dtype=np.float32).mean(axis=0)
        np.testing.assert_allclose(row["embedding"], mean / np.linalg.norm(mean), atol=1e-6)


async def test_pooling_token_embed_and_embed(mv):
    expected = await multivectors(mv, [QUERIES[0], IMAGES[0]], encoding_format="float")
    for body in ({"task": "token_embed"}, {}):  # a late-interaction model's own task is token_embed
        response = await mv.post(
            "/pooling", json={"model": "colpali", "input": [QUERIES[0], IMAGES[0]], **body}
        )
        assert response.status_code == 200, response.text
        pooled = response.json()
        assert pooled["object"] == "list" and pooled["id"].startswith("pool-")
        for row, want in zip(pooled["data"], expected["data"], strict=True):
            assert row["object"] == "pooling" and row["shape"] == want["shape"]
            np.testing.assert_array_equal(row["data"], want["embedding"])
        assert pooled["usage"]["item_tokens"] == expected["usage"]["item_tokens"]
    packed = await mv.post(
        "/pooling", json={"model": "colpali", "input": QUERIES[0], "encoding_format": "base64"}
    )
    raw = np.frombuffer(base64.b64decode(packed.json()["data"][0]["data"]), dtype="<f4")
    want = np.asarray(expected["data"][0]["embedding"], dtype=np.float32)
    np.testing.assert_array_equal(raw.reshape(expected["data"][0]["shape"]), want)
    dense = await mv.post("/pooling", json={"model": "minilm", "input": ["hello", "world"], "task": "embed"})
    plain = await mv.post("/v1/embeddings", json={"model": "minilm", "input": ["hello", "world"]})
    assert dense.status_code == 200, dense.text
    for row, want in zip(dense.json()["data"], plain.json()["data"], strict=True):
        np.testing.assert_array_equal(row["data"], want["embedding"])
    assert dense.json()["usage"] == plain.json()["usage"]


BAD_REQUESTS = [
    ("/v1/embeddings", {"input": "x", "return_multivector": True, "dimensions": 8}, "dimensions"),
    ("/v1/embeddings", {"input": "x", "return_multivector": True, "output": "sparse"}, "return_multivector"),
    (
        "/v1/embeddings",
        {"input": "x", "return_multivector": False, "output": "multivector"},
        "return_multivector",
    ),
    ("/v1/embeddings", {"input": "x", "output": "sparse", "encoding_format": "float"}, "output"),
    ("/v1/embeddings", {"input": "x", "return_multivector": True, "sparse_top_k": 3}, "sparse_top_k"),
    ("/v1/embeddings", {"input": "x", "return_multivector": True, "return_tokens": True}, "return_tokens"),
    ("/v1/embeddings", {"input": "x", "return_multivector": "maybe"}, "return_multivector"),
    ("/v1/embeddings", {"input": "x", "output": "colbert"}, "output"),
    ("/v1/embeddings", {"input": "x", "return_multivector": True, "embed_dtype": "float16"}, "embed_dtype"),
    ("/pooling", {"input": "x", "task": "embed"}, "task"),
    ("/pooling", {"input": "x", "task": "classify"}, "task"),
    ("/pooling", {"input": "x", "encoding_format": "bytes"}, "encoding_format"),
    ("/pooling", {"input": "x", "return_multivector": True}, "return_multivector"),
    ("/pooling", {"input": "x", "model": "minilm", "task": "token_embed"}, "task"),
    ("/pooling", {"input": [], "task": "token_embed"}, "input"),
    ("/v1/classify", {"inputs": ["x"], "labels": ["a", "b"]}, "model"),
]


@pytest.mark.parametrize(("path", "body", "param"), BAD_REQUESTS)
async def test_bad_requests_are_openai_shaped_400s(mv, path, body, param):
    error = openai_error(await mv.post(path, json={"model": "colpali", **body}))
    assert error["param"] == param, error


async def test_score_is_maxsim_over_the_reference_token_vectors(mv, reference):
    queries, pages = reference
    response = await mv.post("/v1/score", json={"model": "colpali", "queries": QUERIES, "documents": IMAGES})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = np.array([[(q @ d.T).max(axis=1).sum() for d in pages] for q in queries])
    np.testing.assert_allclose(body["scores"], expected, rtol=1e-4, atol=1e-4)
    assert body["metric"] == "maxsim"
    assert body["logits"] is None and body["probabilities"] is None and body["activation"] is None
    assert len(body["usage"]["query_tokens"]) == 2 and len(body["usage"]["document_tokens"]) == 2


def test_openai_sdk_extra_body_return_multivector(colpali_dir, reference):
    import openai

    queries, _ = reference
    with running_server(["--model", f"colpali={colpali_dir}"]) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)
        # The SDK asks for base64 unless told otherwise and decodes each string to floats.
        packed = client.embeddings.create(
            model="colpali", input=QUERIES, extra_body={"return_multivector": True}
        )
        floats = client.embeddings.create(
            model="colpali", input=QUERIES, encoding_format="float", extra_body={"return_multivector": True}
        )
    for as_b64, as_float, expected in zip(packed.data, floats.data, queries, strict=True):
        shape = as_b64.model_extra["shape"]
        assert shape == as_float.model_extra["shape"] == list(expected.shape)
        matrix = np.asarray(as_b64.embedding, dtype=np.float32).reshape(shape)
        np.testing.assert_array_equal(matrix, np.asarray(as_float.embedding, dtype=np.float32))
        assert_same_tokens(matrix, expected)
    assert packed.usage.model_extra["item_tokens"] == [len(q) for q in queries]
