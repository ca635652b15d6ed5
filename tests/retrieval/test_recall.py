"""HNSW (alone and with int8 / binary quantization + rescoring) against exact numpy search:
recall@10 >= 0.95 on 20k random unit vectors with a fixed seed."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed.retrieval.edge_store import EdgeStore
from omniembed.retrieval.schema import CollectionConfig, StoredPoint, StoreQuery

COUNT, DIMENSION, QUERIES, K = 20_000, 256, 50, 10


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20261122)
    vectors = rng.normal(size=(COUNT, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # Queries near stored points, as real queries are near their answers.
    queries = vectors[rng.choice(COUNT, QUERIES, replace=False)] + rng.normal(
        scale=0.05, size=(QUERIES, DIMENSION)
    )
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :K]
    return vectors, queries, exact


@pytest.mark.parametrize("quantization", ["none", "int8", "binary"])
def test_recall_at_10(tmp_path, data, quantization):
    vectors, queries, exact = data
    store = EdgeStore(tmp_path)
    store.create(
        CollectionConfig(name="recall", model="random", dimension=DIMENSION, quantization=quantization)
    )
    for start in range(0, COUNT, 2000):
        batch = [
            StoredPoint(
                id=str(i), vector=vectors[i].tolist(), sparse=None, payload={"id": str(i), "modality": "text"}
            )
            for i in range(start, start + 2000)
        ]
        store.upsert("recall", batch)
    store.optimize("recall")  # builds the HNSW graph (and quantized vectors)
    found = 0
    for query, truth in zip(queries, exact, strict=True):
        hits = store.search(
            "recall", StoreQuery(dense=query.tolist(), sparse=None, mode="dense", top_k=K, filter={})
        )
        found += len({int(hit.id) for hit in hits} & {int(i) for i in truth})
    recall = found / (QUERIES * K)
    store.close()
    print(f"recall@10 {quantization}: {recall:.3f}")
    assert recall >= 0.95, recall
