"""Multi-vector and learned-sparse collections at the store level, on both stores, with synthetic
vectors: `exact` MaxSim equals a brute-force MaxSim in numpy (same top-k, scores within 1e-5), the
two-stage search (pooled-vector HNSW, then MaxSim of the candidates) finds what exact MaxSim finds,
and a learned-sparse collection ranks keyword hits by the vectors' dot product (no IDF)."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed.retrieval.schema import CollectionConfig, StoredPoint, StoreQuery

DIM, DOCS, K = 16, 300, 10


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def pooled(matrix: np.ndarray) -> np.ndarray:
    return unit(matrix.mean(axis=0))


def maxsim(query: np.ndarray, document: np.ndarray) -> float:
    return float((query @ document.T).max(axis=1).sum())


@pytest.fixture(scope="module")
def corpus() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Documents whose tokens gather around two topics each, in unequal shares (as a page's patches
    do around what the page shows), of 8 to 40 tokens; queries are noisy tokens of one document."""
    rng = np.random.default_rng(16)
    topics = unit(rng.normal(size=(60, DIM)))
    documents = []
    for _ in range(DOCS):
        mine = topics[rng.choice(len(topics), 2, replace=False)]
        shares = rng.dirichlet([0.5, 0.5])
        count = int(rng.integers(8, 41))
        noise = rng.normal(scale=0.3, size=(count, DIM))
        documents.append(unit(mine[rng.choice(2, count, p=shares)] + noise))
    queries = []
    for source in rng.choice(DOCS, 12, replace=False):
        tokens = documents[source][rng.choice(len(documents[source]), 5, replace=False)]
        queries.append(unit(tokens + rng.normal(scale=0.2, size=tokens.shape)))
    return documents, queries


def fill(store, name: str, documents: list[np.ndarray], quantization: str = "none") -> None:
    config = CollectionConfig(
        name=name,
        model="synthetic",
        dimension=DIM,
        quantization=quantization,  # type: ignore[arg-type]
        output="multivector",
    )
    store.create(config)
    points = [
        StoredPoint(
            id=str(i),
            vector=pooled(matrix).tolist(),
            sparse=None,
            payload={"id": str(i), "modality": "image", "metadata": {"half": i % 2}},
            multivector=matrix.tolist(),
        )
        for i, matrix in enumerate(documents)
    ]
    for start in range(0, len(points), 100):
        store.upsert(name, points[start : start + 100])
    store.optimize(name)


def query_of(matrix: np.ndarray, **fields) -> StoreQuery:
    defaults: dict[str, object] = {"sparse": None, "mode": "dense", "top_k": K, "filter": {}}
    return StoreQuery(dense=pooled(matrix).tolist(), multivector=matrix.tolist(), **{**defaults, **fields})


def brute_force(
    query: np.ndarray, documents: list[np.ndarray], ids: range | list[int]
) -> list[tuple[int, float]]:
    scores = sorted(((maxsim(query, documents[i]), i) for i in ids), reverse=True)
    return [(i, score) for score, i in scores[:K]]


@pytest.mark.parametrize("quantization", ["none", "int8", "binary"])
def test_exact_maxsim_equals_brute_force(store, corpus, quantization):
    documents, queries = corpus
    fill(store, "pages", documents, quantization)
    for query in queries:
        hits = store.search("pages", query_of(query, exact=True))
        expected = brute_force(query, documents, range(DOCS))
        assert [int(hit.id) for hit in hits] == [i for i, _ in expected]
        np.testing.assert_allclose([hit.score for hit in hits], [s for _, s in expected], atol=1e-5, rtol=0)


def test_exact_maxsim_with_a_filter(store, corpus):
    documents, queries = corpus
    fill(store, "pages", documents)
    for query in queries[:4]:
        hits = store.search("pages", query_of(query, exact=True, filter={"half": 1}))
        expected = brute_force(query, documents, list(range(1, DOCS, 2)))
        assert [int(hit.id) for hit in hits] == [i for i, _ in expected]
        np.testing.assert_allclose([hit.score for hit in hits], [s for _, s in expected], atol=1e-5, rtol=0)


@pytest.mark.parametrize("quantization", ["none", "int8"])
def test_two_stage_recall_against_exact(store, corpus, quantization):
    documents, queries = corpus
    fill(store, "pages", documents, quantization)
    found = 0
    for query in queries:
        truth = {i for i, _ in brute_force(query, documents, range(DOCS))}
        hits = store.search("pages", query_of(query))
        found += len({int(hit.id) for hit in hits} & truth)
        # Candidates are re-scored with MaxSim: a hit's score is its MaxSim (float collections).
        if quantization == "none":
            for hit in hits:
                assert hit.score == pytest.approx(maxsim(query, documents[int(hit.id)]), abs=1e-5)
    recall = found / (len(queries) * K)
    assert recall >= 0.9, recall
    # A first stage as wide as the collection is exact MaxSim.
    for query in queries[:3]:
        hits = store.search("pages", query_of(query, candidates=DOCS))
        assert [int(hit.id) for hit in hits] == [i for i, _ in brute_force(query, documents, range(DOCS))]


def test_multivector_round_trip_and_hybrid(store, corpus):
    documents, queries = corpus
    fill(store, "pages", documents[:50])
    (stored,) = store.retrieve("pages", ["7"])
    np.testing.assert_allclose(np.array(stored.multivector), documents[7], atol=1e-6)
    # Hybrid: the sparse side alone names item 3, MaxSim ranks the rest; RRF brings 3 to the top.
    store.upsert(
        "pages",
        [
            StoredPoint(
                id="3",
                vector=pooled(documents[3]).tolist(),
                sparse=([42], [1.0]),
                payload={"id": "3", "modality": "image", "metadata": {}},
                multivector=documents[3].tolist(),
            )
        ],
    )
    hybrid = store.search("pages", query_of(documents[3][:4], sparse=([42], [1.0]), mode="hybrid", top_k=5))
    assert hybrid[0].id == "3"
    keyword = store.search("pages", query_of(queries[0], sparse=([42], [1.0]), mode="keyword", top_k=5))
    assert [hit.id for hit in keyword] == ["3"]


def test_learned_sparse_scores_are_dot_products(store):
    rng = np.random.default_rng(6)
    store.create(CollectionConfig(name="splade", model="synthetic", dimension=4, sparse="tiny-splade"))
    weights = rng.random(size=(30, 200)) * (rng.random(size=(30, 200)) < 0.05)
    points = []
    for i, row in enumerate(weights):
        indices = np.flatnonzero(row)
        points.append(
            StoredPoint(
                id=str(i),
                vector=unit(rng.normal(size=4)).tolist(),
                sparse=(indices.tolist(), row[indices].tolist()),
                payload={"id": str(i), "modality": "text", "metadata": {}},
            )
        )
    store.upsert("splade", points)
    query = np.zeros(200)
    query[[3, 50, 77, 120, 199]] = [0.5, 1.5, 0.7, 1.0, 0.2]
    indices = np.flatnonzero(query)
    sparse = (indices.tolist(), query[indices].tolist())
    hits = store.search("splade", StoreQuery(dense=None, sparse=sparse, mode="keyword", top_k=5, filter={}))
    scores = weights @ query
    expected = [i for i in np.argsort(-scores, kind="stable") if scores[i] > 0][:5]
    assert [int(hit.id) for hit in hits] == expected
    np.testing.assert_allclose([hit.score for hit in hits], scores[expected], atol=1e-5, rtol=0)
    (stored,) = store.retrieve("splade", ["0"])
    assert stored.sparse is None or np.allclose(weights[0][stored.sparse[0]], stored.sparse[1])
    hybrid = store.search(
        "splade",
        StoreQuery(dense=points[expected[0]].vector, sparse=sparse, mode="hybrid", top_k=3, filter={}),
    )
    assert hybrid[0].id == str(expected[0])
