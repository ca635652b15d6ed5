"""Reranking over HTTP, in-process through the real app: Cohere `/v2/rerank` and `/v1/rerank`, Jina's /
vLLM's `/rerank` and `/v1/rerank`, TEI's `/rerank`, against `CrossEncoder.predict` on the same tiny
random cross-encoder; and every bad body answered in its route's dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.models.registry import resolve
from tests.conftest import make_settings
from tests.support.media import data_uri, encode, photo
from tests.support.tiny_cross_encoder import (
    DOCUMENTS,
    QUERY,
    build_tiny_cross_encoder,
)

MAX_ITEMS = 8
MAX_CHARS = 2_000
IMAGE = data_uri(encode(photo("astronaut").resize((24, 24)), "PNG"), "image/png")


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("rerank-api") / "model")


@pytest.fixture(scope="module")
def reference(reranker_dir: Path) -> Any:
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(reranker_dir), device="cpu")


@pytest.fixture(scope="module")
def expected(reference: Any) -> np.ndarray:
    return np.asarray(reference.predict([(QUERY, d) for d in DOCUMENTS]))


@pytest.fixture(scope="module")
async def rerank_client(reranker_dir: Path, minilm_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """'minilm' served first (an embedder), then the reranker 'rr': requests without a model go to
    the reranker all the same."""
    engine = Engine()
    for spec in (f"minilm={minilm_dir}", f"rr={reranker_dir}"):
        await engine.add(load_model(resolve(spec)))
    settings = make_settings(["unused"], max_items_per_request=MAX_ITEMS, max_text_chars=MAX_CHARS)
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rerank", timeout=60) as client:
        yield client
    await engine.close()


def ranking(scores: np.ndarray) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -float(scores[i]))


async def test_cohere_v2_scores_order_top_n_and_truncation(rerank_client, expected, reference):
    body = {"model": "rr", "query": QUERY, "documents": DOCUMENTS}
    response = await rerank_client.post("/v2/rerank", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"id", "results", "meta"}
    assert [r["index"] for r in answer["results"]] == ranking(expected)
    for row in answer["results"]:
        assert set(row) == {"index", "relevance_score"}
        assert row["relevance_score"] == pytest.approx(float(expected[row["index"]]), abs=1e-5)
    assert answer["meta"]["api_version"] == {"version": "2"}
    assert answer["meta"]["billed_units"]["search_units"] == 1
    assert answer["meta"]["billed_units"]["input_tokens"] > 0
    top = (await rerank_client.post("/v2/rerank", json={**body, "top_n": 2, "return_documents": True})).json()
    assert [r["index"] for r in top["results"]] == ranking(expected)[:2]
    assert all(r["document"] == {"text": DOCUMENTS[r["index"]]} for r in top["results"])
    cut = await rerank_client.post(
        "/v2/rerank", json={**body, "documents": DOCUMENTS[:1], "max_tokens_per_doc": 3}
    )
    tokenizer = reference.tokenizer
    shortened = tokenizer.decode(tokenizer(DOCUMENTS[0], add_special_tokens=False)["input_ids"][:3])
    score = cut.json()["results"][0]["relevance_score"]
    assert score == pytest.approx(float(reference.predict([(QUERY, shortened)])[0]), abs=1e-5)


async def test_model_left_out_is_the_served_reranker(rerank_client, expected):
    response = await rerank_client.post("/v2/rerank", json={"query": QUERY, "documents": DOCUMENTS})
    assert response.status_code == 200, response.text
    assert [r["index"] for r in response.json()["results"]] == ranking(expected)


async def test_cohere_v1_rank_fields_and_documents(rerank_client, expected, reference):
    objects = [{"title": f"doc {i}", "text": text} for i, text in enumerate(DOCUMENTS)]
    body = {"model": "rr", "query": QUERY, "documents": objects, "top_n": 3}
    answer = (await rerank_client.post("/v1/rerank", json=body)).json()
    assert {"id", "results", "meta", "model", "usage"} <= set(answer)
    assert answer["meta"]["api_version"] == {"version": "1"} and answer["model"] == "rr"
    assert [r["index"] for r in answer["results"]] == ranking(expected)[:3]
    assert all(r["document"] == objects[r["index"]] for r in answer["results"])  # the object sent
    fields = {**body, "rank_fields": ["title", "text"], "return_documents": False}
    ranked = (await rerank_client.post("/v1/rerank", json=fields)).json()["results"]
    assert all("document" not in r for r in ranked)
    texts = [f"title: {o['title']}\ntext: {o['text']}" for o in objects]
    want = reference.predict([(QUERY, text) for text in texts])
    for row in ranked:
        assert row["relevance_score"] == pytest.approx(float(want[row["index"]]), abs=1e-5)
    mixed = {"model": "rr", "query": QUERY, "documents": [DOCUMENTS[0], {"text": DOCUMENTS[1]}]}
    scores = {
        r["index"]: r["relevance_score"]
        for r in (await rerank_client.post("/v1/rerank", json=mixed)).json()["results"]
    }
    assert scores[1] == pytest.approx(float(expected[1]), abs=1e-5)


@pytest.mark.parametrize("path", ["/rerank", "/v1/rerank"])
async def test_jina_and_vllm_shape(rerank_client, expected, path):
    body = {"model": "rr", "query": QUERY, "documents": DOCUMENTS, "top_n": 2}
    response = await rerank_client.post(path, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {"model", "results", "usage"} <= set(answer)
    assert [r["index"] for r in answer["results"]] == ranking(expected)[:2]
    assert all(r["document"] == {"text": DOCUMENTS[r["index"]]} for r in answer["results"])
    usage = answer["usage"]
    assert usage["total_tokens"] == sum(usage["document_tokens"]) and len(usage["document_tokens"]) == 5
    plain = await rerank_client.post(path, json={**body, "return_documents": False, "top_n": 5})
    assert [set(r) for r in plain.json()["results"]] == [{"index", "relevance_score"}] * 5
    jina_objects = {**body, "documents": [{"text": d} for d in DOCUMENTS]}
    same = (await rerank_client.post(path, json=jina_objects)).json()["results"]
    assert [r["relevance_score"] for r in same] == [r["relevance_score"] for r in answer["results"]]


async def test_tei_shape_raw_scores_and_text(rerank_client, expected, reference):
    import torch

    body = {"query": QUERY, "texts": DOCUMENTS}
    ranks = (await rerank_client.post("/rerank", json=body)).json()
    assert isinstance(ranks, list) and [r["index"] for r in ranks] == ranking(expected)
    assert all(set(r) == {"index", "score"} for r in ranks)
    for rank in ranks:
        assert rank["score"] == pytest.approx(float(expected[rank["index"]]), abs=1e-5)
    raw = (await rerank_client.post("/rerank", json={**body, "raw_scores": True, "return_text": True})).json()
    logits = reference.predict([(QUERY, d) for d in DOCUMENTS], activation_fn=torch.nn.Identity())
    for rank in raw:
        assert rank["score"] == pytest.approx(float(logits[rank["index"]]), abs=1e-5)
        assert rank["text"] == DOCUMENTS[rank["index"]]
    truncating = {**body, "truncate": True, "truncation_direction": "Right", "model": "rr"}
    assert (await rerank_client.post("/rerank", json=truncating)).status_code == 200


async def test_models_list_reports_the_rerank_task(rerank_client):
    cards = {card["id"]: card for card in (await rerank_client.get("/v1/models")).json()["data"]}
    assert cards["rr"]["capabilities"]["tasks"] == ["rerank"]
    assert "rerank" not in cards["minilm"]["capabilities"]["tasks"]


GOOD = {"model": "rr", "query": QUERY, "documents": ["a", "b"]}
TEI = {"query": QUERY, "texts": ["a", "b"]}
TOO_LONG = "x" * (MAX_CHARS + 1)
# (path, body, status, what the error names): every refusal in the route's own dialect.
BAD: list[tuple[str, dict[str, Any], int, str]] = [
    ("/v2/rerank", {**GOOD, "top_n": 0}, 400, "top_n"),
    ("/v2/rerank", {**GOOD, "documents": []}, 400, "documents"),
    ("/v2/rerank", {**GOOD, "documents": ["a"] * (MAX_ITEMS + 1)}, 400, "documents"),
    ("/v2/rerank", {**GOOD, "documents": ["a", TOO_LONG]}, 413, "documents[1]"),
    ("/v2/rerank", {**GOOD, "query": TOO_LONG}, 413, "query"),
    ("/v2/rerank", {**GOOD, "query": "  "}, 400, "query"),
    ("/v2/rerank", {**GOOD, "max_tokens_per_doc": 0}, 400, "max_tokens_per_doc"),
    ("/v2/rerank", {**GOOD, "model": "minilm"}, 400, "not a reranker"),
    ("/v2/rerank", {**GOOD, "model": "nope"}, 404, "nope"),
    ("/v2/rerank", {**GOOD, "return_document": True}, 400, "return_document"),
    ("/v2/rerank", {**GOOD, "relevant_spans": {"mode": "enabled"}}, 400, "relevant_spans"),
    ("/v2/rerank", {**GOOD, "documents": [{"title": "x"}]}, 400, "rank fields"),
    ("/v2/rerank", {"model": "rr", "documents": ["a"]}, 400, "query"),
    ("/v1/rerank", {**GOOD, "documents": [{"text": "a", "image": IMAGE}]}, 400, "exactly one"),
    ("/v1/rerank", {**GOOD, "documents": [{"image": IMAGE}]}, 400, "cannot embed image"),
    ("/v1/rerank", {**GOOD, "max_chunks_per_doc": 0}, 400, "max_chunks_per_doc"),
    ("/rerank", {**GOOD, "documents": [{"image": "not an image"}]}, 400, "cannot embed image"),
    ("/rerank", {**GOOD, "documents": ["a"] * (MAX_ITEMS + 1)}, 413, "documents"),
    ("/rerank", {**GOOD, "texts": ["a"]}, 400, "documents"),  # TEI's body with Jina's field
    ("/rerank", {**GOOD, "raw_scores": True}, 400, "raw_scores"),  # Jina's body with TEI's field
    ("/rerank", {**GOOD, "top_n": -1}, 400, "top_n"),
    ("/rerank", {**TEI, "texts": []}, 400, "texts"),
    ("/rerank", {**TEI, "texts": ["a"] * (MAX_ITEMS + 1)}, 413, "texts"),
    ("/rerank", {**TEI, "truncation_direction": "left"}, 400, "truncation_direction"),
    ("/rerank", {**TEI, "truncation_direction": "middle"}, 400, "truncation_direction"),
    ("/rerank", {**TEI, "texts": [TOO_LONG]}, 413, "texts[0]"),
    ("/rerank", {**TEI, "model": "minilm"}, 400, "not a reranker"),
]


@pytest.mark.parametrize(("path", "body", "status", "named"), BAD, ids=[f"{p}-{n}" for p, _, _, n in BAD])
async def test_bad_bodies_answer_in_the_dialect(rerank_client, path, body, status, named):
    response = await rerank_client.post(path, json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    if path in ("/v2/rerank", "/v1/rerank"):
        assert set(answer) == {"message", "code"}
        text = answer["message"]
    else:
        assert set(answer) == {"error"} and set(answer["error"]) == {"message", "type", "param", "code"}
        text = f"{answer['error']['message']} {answer['error']['param']}"
    assert named in text, answer


@pytest.mark.parametrize("path", ["/v2/rerank", "/v1/rerank", "/rerank"])
async def test_bodies_that_are_not_objects(rerank_client, path):
    for content in (b"", b"[]", b"{", b'"query"'):
        response = await rerank_client.post(
            path, content=content, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, response.text
