"""Learned-sparse models driven through their tower (preprocess → collate → forward) against
`SparseEncoder.encode_query` / `encode_document` on the same weights: a tiny random SPLADE (masked-LM
backbone + SPLADE pooling) and an inference-free SPLADE (Router: static query weights, MLM documents),
items alone and joined with items of other calls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.engine.bootstrap import load_model
from omniembed.models.base import Adapter, SparseVector
from omniembed.models.registry import resolve
from tests.support import tiny_late_interaction as tiny

QUERIES = ["a photo of a cat", "the quick brown fox jumps over the lazy dog near the river", "rocket"]
DOCUMENTS = [
    "Paris is the capital of France.",
    " ".join(["embeddings vectors search retrieval image text video frame model query document passage"] * 8),
]
BUILDERS = {"splade": tiny.build_tiny_splade, "inference_free": tiny.build_tiny_inference_free_splade}


def embed(adapter: Adapter, items: list[tuple[str, str | None]]) -> list[SparseVector]:
    tower = adapter.fused
    assert tower is not None
    features = [tower.preprocess([text], task=task) for text, task in items]  # type: ignore[arg-type]
    return list(tower.forward(tower.collate(features)))


def assert_same_sparse(ours: SparseVector, reference: torch.Tensor) -> None:
    dense = reference.to_dense().float()
    expected = torch.nonzero(dense).squeeze(-1)
    assert ours.dimension == dense.shape[-1]
    assert ours.indices.dtype == np.int64 and ours.values.dtype == np.float32
    assert np.all(np.diff(ours.indices) > 0)
    np.testing.assert_array_equal(ours.indices, expected.numpy())
    np.testing.assert_allclose(ours.values, dense[expected].numpy(), atol=1e-4, rtol=0)


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def sparse(request, tmp_path_factory):
    from sentence_transformers import SparseEncoder

    directory = BUILDERS[request.param](tmp_path_factory.mktemp(request.param) / "model")
    return load_model(resolve(str(directory))), SparseEncoder(str(directory), device="cpu")


def test_sparse_spec(sparse):
    adapter, reference = sparse
    assert resolve(str(adapter.spec.source)).family == "sparse_encoder"
    assert adapter.spec.output == "sparse" and adapter.spec.matryoshka_range is None
    assert adapter.spec.dimension == len(reference.tokenizer)


def test_sparse_single_items_match_encode_query_and_encode_document(sparse):
    adapter, reference = sparse
    for text in QUERIES:
        (ours,) = embed(adapter, [(text, "query")])
        assert_same_sparse(ours, reference.encode_query([text])[0])
    for text in DOCUMENTS:
        (ours,) = embed(adapter, [(text, "document")])
        assert_same_sparse(ours, reference.encode_document([text])[0])


def test_sparse_joined_batches_match_the_reference(sparse):
    adapter, reference = sparse
    queries = reference.encode_query(QUERIES)
    documents = reference.encode_document(DOCUMENTS)
    ours = embed(
        adapter, [(DOCUMENTS[1], None), *[(q, "query") for q in QUERIES], (DOCUMENTS[0], "document")]
    )
    for mine, theirs in zip(
        ours, [documents[1], queries[0], queries[1], queries[2], documents[0]], strict=True
    ):
        assert_same_sparse(mine, theirs)
    # Dot-product scores from our vectors equal the reference's.
    dense = np.zeros((len(ours), adapter.spec.dimension), dtype=np.float32)
    for row, vector in zip(dense, ours, strict=True):
        row[vector.indices] = vector.values
    expected = reference.similarity(queries, documents).to_dense().numpy()
    np.testing.assert_allclose(dense[1:4] @ dense[[4, 0]].T, expected, rtol=1e-4, atol=1e-4)
