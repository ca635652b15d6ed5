"""Learned-sparse output over HTTP, in-process through the real app: a tiny random SPLADE on
`/v1/embeddings` (`output: "sparse"`, pruning, tokens), TEI's `/embed_sparse` and `/v1/score` (dot
product), against `SparseEncoder.encode_query` / `encode_document` on the same weights."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import engine_from_settings, load_models
from omniembed.engine.engine import Engine
from tests.conftest import make_settings
from tests.support import tiny_late_interaction as tiny

QUERIES = ["a photo of a cat", "the quick brown fox jumps over the lazy dog near the river"]
DOCUMENTS = ["Paris is the capital of France.", "embeddings vectors search retrieval image text video"]
LONG = "espresso " * 200  # over the tiny SPLADE's 64 tokens


@pytest.fixture(scope="module")
def splade_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.build_tiny_splade(tmp_path_factory.mktemp("splade") / "model")


@pytest.fixture(scope="module")
def reference(splade_dir: Path):
    from sentence_transformers import SparseEncoder

    return SparseEncoder(str(splade_dir), device="cpu")


@pytest.fixture(scope="module")
async def sp(splade_dir: Path, minilm_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings([f"splade={splade_dir}", f"minilm={minilm_dir}"])
    engine: Engine = engine_from_settings(settings)
    await load_models(engine, settings)
    transport = httpx.ASGITransport(app=create_app(settings, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as http:
        yield http
    await engine.close()


def dense(rows) -> np.ndarray:
    return np.stack([row.to_dense().float().numpy() for row in rows])


def assert_same(indices, values, expected: np.ndarray) -> None:
    want = np.nonzero(expected)[0]
    np.testing.assert_array_equal(indices, want)
    np.testing.assert_allclose(values, expected[want], atol=1e-4, rtol=0)


async def sparse(client: httpx.AsyncClient, texts: list[str], **extra) -> dict:
    body = {"model": "splade", "input": texts, "output": "sparse", "encoding_format": "float", **extra}
    response = await client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_sparse_output_equals_encode_query_and_encode_document(sp, reference):
    queries = dense(reference.encode_query(QUERIES))
    documents = dense(reference.encode_document(DOCUMENTS))
    for texts, input_type, expected in ((QUERIES, "query", queries), (DOCUMENTS, "document", documents)):
        body = await sparse(sp, texts, input_type=input_type)
        for row, want in zip(body["data"], expected, strict=True):
            assert set(row["embedding"]) == {"indices", "values"}
            assert_same(row["embedding"]["indices"], row["embedding"]["values"], want)
        assert len(body["usage"]["item_tokens"]) == len(texts)
        assert sum(body["usage"]["item_tokens"]) == body["usage"]["prompt_tokens"]


async def test_pruning_and_tokens(sp, reference):
    expected = dense(reference.encode_query(QUERIES))
    body = await sparse(sp, QUERIES, input_type="query", sparse_top_k=5, return_tokens=True)
    for row, want in zip(body["data"], expected, strict=True):
        top = np.sort(np.argsort(-want, kind="stable")[:5])
        np.testing.assert_array_equal(row["embedding"]["indices"], top)
        np.testing.assert_allclose(row["embedding"]["values"], want[top], atol=1e-4)
        assert row["embedding"]["tokens"] == reference.tokenizer.convert_ids_to_tokens(top.tolist())
    floor = float(np.median(expected[0][expected[0] > 0]))
    body = await sparse(sp, QUERIES[:1], input_type="query", sparse_min_weight=floor)
    kept = np.nonzero(expected[0] >= floor)[0]
    np.testing.assert_array_equal(body["data"][0]["embedding"]["indices"], kept)


async def test_tei_embed_sparse(sp, reference):
    response = await sp.post("/embed_sparse", json={"inputs": QUERIES, "prompt_name": "query"})
    assert response.status_code == 200, response.text
    for entries, want in zip(response.json(), dense(reference.encode_query(QUERIES)), strict=True):
        assert all(set(entry) == {"index", "value"} for entry in entries)
        assert_same([e["index"] for e in entries], [e["value"] for e in entries], want)
    counts = [int(count) for count in response.headers["x-item-tokens"].split(",")]
    assert len(counts) == 2 and sum(counts) == int(response.headers["x-compute-tokens"])
    single = await sp.post("/embed_sparse", json={"model": "splade", "inputs": DOCUMENTS[0]})
    [entries] = single.json()
    assert_same(
        [e["index"] for e in entries],
        [e["value"] for e in entries],
        dense(reference.encode_document(DOCUMENTS[:1]))[0],
    )
    pruned = await sp.post("/embed_sparse", json={"inputs": DOCUMENTS[0], "sparse_top_k": 3})
    assert [e["index"] for e in pruned.json()[0]] == sorted(
        e["index"] for e in sorted(entries, key=lambda e: -e["value"])[:3]
    )
    long = await sp.post("/embed_sparse", json={"inputs": LONG})  # TEI: truncate is false by default
    assert 400 <= long.status_code < 500, long.text
    truncated = await sp.post("/embed_sparse", json={"inputs": LONG, "truncate": True})
    assert truncated.status_code == 200, truncated.text
    assert int(truncated.headers["x-compute-tokens"]) == 64


async def test_score_is_the_sparse_dot_product(sp, reference):
    response = await sp.post(
        "/v1/score", json={"model": "splade", "queries": QUERIES, "documents": DOCUMENTS}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = dense(reference.encode_query(QUERIES)) @ dense(reference.encode_document(DOCUMENTS)).T
    np.testing.assert_allclose(body["scores"], expected, rtol=1e-4, atol=1e-4)
    assert body["metric"] == "dot" and body["logits"] is None and body["probabilities"] is None


BAD_REQUESTS = [
    ("/v1/embeddings", {"input": "x"}, "output"),
    (
        "/v1/embeddings",
        {"input": "x", "output": "sparse", "sparse_top_k": 0, "encoding_format": "float"},
        "sparse_top_k",
    ),
    ("/v1/embeddings", {"input": "x", "output": "sparse", "encoding_format": "base64"}, "encoding_format"),
    ("/v1/embeddings", {"input": "x", "output": "sparse", "encoding_format": "int8"}, "encoding_format"),
    (
        "/v1/embeddings",
        {"input": "x", "output": "sparse", "encoding_format": "float", "dimensions": 8},
        "dimensions",
    ),
    ("/v1/embeddings", {"input": "x", "return_multivector": True}, "output"),
    ("/v1/embeddings", {"input": "x", "sparse_min_weight": 0.5}, "sparse_min_weight"),
    ("/embed_sparse", {"inputs": "x", "sparse_top_k": 0}, "sparse_top_k"),
    ("/embed_sparse", {"inputs": "x", "sparse_top_k": -3}, "sparse_top_k"),
    ("/embed_sparse", {"inputs": []}, "inputs"),
    ("/embed_sparse", {"inputs": [""]}, "inputs[0]"),
    ("/embed_sparse", {"inputs": [101, 2003]}, "inputs"),
    ("/embed_sparse", {"inputs": "x", "normalize": True}, "normalize"),
    ("/embed_sparse", {"inputs": "x", "prompt_name": "nope"}, "prompt_name"),
    ("/embed_sparse", {"inputs": "x", "truncation_direction": "middle"}, "truncation_direction"),
    ("/embed_sparse", {"inputs": "x", "model": "minilm"}, "model"),
    ("/pooling", {"input": "x"}, "task"),  # the model's own task is embed: not for a sparse model
    ("/v1/classify", {"inputs": ["x"], "labels": ["a", "b"]}, "model"),
]


@pytest.mark.parametrize(("path", "body", "param"), BAD_REQUESTS)
async def test_bad_requests_are_openai_shaped_400s(sp, path, body, param):
    response = await sp.post(path, json={"model": "splade", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"].startswith(param), error  # token ids: the union branch is named after it


async def test_pooling_refusal_says_where_sparse_vectors_are(sp):
    response = await sp.post("/pooling", json={"model": "splade", "input": "x"})
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "task"
    assert "'output': 'sparse'" in error["message"] and "/embed_sparse" in error["message"]
