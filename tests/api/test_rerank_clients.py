"""A real `omniembed serve` process with a tiny random cross-encoder, driven by the clients people
rerank with: the official `cohere` SDK (`ClientV2.rerank`, `Client.rerank`), LangChain's
`CohereRerank` and LlamaIndex's `CohereRerank`; scores equal `CrossEncoder.predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cohere
import numpy as np
import pytest

from tests.support.server import running_server
from tests.support.tiny_cross_encoder import build_tiny_cross_encoder

KEY = "not-needed"
MAX_ITEMS = 8
QUERY = "how long should cold brew coffee steep"
DOCUMENTS = [
    "Cold brew steeps for twelve to eighteen hours in the fridge.",
    "The rocket launched at dawn.",
    "coffee",
    "A horse and a dog near the river bank on a sunny day",
]


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("rerank-sdk") / "model")


@pytest.fixture(scope="module")
def expected(reranker_dir: Path) -> np.ndarray:
    from sentence_transformers import CrossEncoder

    reference = CrossEncoder(str(reranker_dir), device="cpu")
    return np.asarray(reference.predict([(QUERY, d) for d in DOCUMENTS]))


@pytest.fixture(scope="module")
def server(reranker_dir: Path, minilm_dir: Path) -> Any:
    args = ["--model", f"minilm={minilm_dir}", "--model", f"rr={reranker_dir}"]
    with running_server(args, env={"OMNIEMBED_MAX_ITEMS_PER_REQUEST": str(MAX_ITEMS)}) as running:
        yield running


def ranking(scores: np.ndarray) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: -float(scores[i]))


def test_cohere_v2_rerank(server, expected):
    client = cohere.ClientV2(base_url=server.url, api_key=KEY, timeout=60)
    response = client.rerank(model="rr", query=QUERY, documents=DOCUMENTS, top_n=3, max_tokens_per_doc=512)
    assert [r.index for r in response.results] == ranking(expected)[:3]
    for result in response.results:
        assert result.relevance_score == pytest.approx(float(expected[result.index]), abs=1e-5)
    assert response.meta is not None and response.meta.billed_units is not None
    assert response.meta.billed_units.search_units == 1


def test_cohere_v1_rerank_with_objects_and_documents(server, expected):
    client = cohere.Client(base_url=server.url, api_key=KEY, timeout=60)
    objects = [{"id": str(i), "text": text} for i, text in enumerate(DOCUMENTS)]
    response = client.rerank(model="rr", query=QUERY, documents=objects, top_n=2, return_documents=True)
    assert [r.index for r in response.results] == ranking(expected)[:2]
    for result in response.results:
        assert result.relevance_score == pytest.approx(float(expected[result.index]), abs=1e-5)
        assert result.document is not None and result.document.text == DOCUMENTS[result.index]


def test_cohere_errors_are_cohere_exceptions(server):
    v2 = cohere.ClientV2(base_url=server.url, api_key=KEY, timeout=60)
    with pytest.raises(cohere.BadRequestError) as many:
        v2.rerank(model="rr", query=QUERY, documents=["x"] * (MAX_ITEMS + 1))
    assert set(many.value.body) == {"message", "code"} and many.value.body["code"] == "too_many_inputs"
    with pytest.raises(cohere.BadRequestError) as embedder:
        v2.rerank(model="minilm", query=QUERY, documents=DOCUMENTS)
    assert "not a reranker" in embedder.value.body["message"]
    with pytest.raises(cohere.NotFoundError):
        cohere.Client(base_url=server.url, api_key=KEY).rerank(model="nope", query=QUERY, documents=["a"])


def test_langchain_cohere_rerank(server, expected):
    from langchain_cohere import CohereRerank
    from langchain_core.documents import Document

    client = cohere.ClientV2(base_url=server.url, api_key=KEY, timeout=60)
    reranker = CohereRerank(client=client, model="rr", top_n=2)
    kept = reranker.compress_documents([Document(page_content=d) for d in DOCUMENTS], QUERY)
    assert [doc.page_content for doc in kept] == [DOCUMENTS[i] for i in ranking(expected)[:2]]
    for doc in kept:
        want = float(expected[DOCUMENTS.index(doc.page_content)])
        assert doc.metadata["relevance_score"] == pytest.approx(want, abs=1e-5)


def test_llama_index_cohere_rerank(server, expected):
    from llama_index.core.schema import NodeWithScore, TextNode
    from llama_index.postprocessor.cohere_rerank import CohereRerank

    reranker = CohereRerank(top_n=2, model="rr", api_key=KEY, base_url=server.url)
    nodes = [NodeWithScore(node=TextNode(text=d), score=0.0) for d in DOCUMENTS]
    kept = reranker.postprocess_nodes(nodes, query_str=QUERY)
    assert [n.node.get_content() for n in kept] == [DOCUMENTS[i] for i in ranking(expected)[:2]]
    assert kept[0].score == pytest.approx(float(expected[ranking(expected)[0]]), abs=1e-5)
