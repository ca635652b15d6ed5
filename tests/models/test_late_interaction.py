"""Multi-vector models driven through their tower (preprocess → collate → forward), against the
reference libraries on the same weights: tiny random ColPali, ColQwen2 and ColModernVBert against
`*ForRetrieval` fed by `process_queries` / `process_images`, and a tiny ColBERT-style
`MultiVectorEncoder` against `encode_query` / `encode_document`. Items are embedded alone and joined
with items of other calls; MaxSim scores from our matrices equal the reference's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from omniembed.engine.bootstrap import load_model
from omniembed.errors import CapabilityError
from omniembed.models.base import Adapter
from omniembed.models.registry import resolve
from tests.support import tiny_late_interaction as tiny

QUERIES = ["a photo of a cat", "the quick brown fox jumps over the lazy dog near the river", "rocket"]
DOCUMENTS = [
    "Paris is the capital of France.",
    "embeddings, vectors; search and retrieval: image text video frame model query document passage!",
]
RETRIEVERS = {
    "colpali": tiny.build_tiny_colpali,
    "colqwen2": tiny.build_tiny_colqwen2,
    "colmodernvbert": tiny.build_tiny_colmodernvbert,
}


def assert_same_tokens(ours: np.ndarray, reference: torch.Tensor) -> None:
    expected = reference.detach().float().cpu().numpy()
    assert ours.dtype == np.float32 and ours.shape == expected.shape
    cosine = (ours * expected).sum(-1) / (np.linalg.norm(ours, axis=-1) * np.linalg.norm(expected, axis=-1))
    assert cosine.min() >= 0.9999, cosine.min()
    np.testing.assert_allclose(np.linalg.norm(ours, axis=-1), 1.0, atol=1e-5)


def maxsim(queries: list[np.ndarray], documents: list[np.ndarray]) -> np.ndarray:
    return np.array([[(q @ d.T).max(axis=1).sum() for d in documents] for q in queries])


def embed(adapter: Adapter, items: list[tuple[object, str | None]]) -> list[np.ndarray]:
    """Each item preprocessed alone (as its own request), all joined in one batch."""
    tower = adapter.fused
    assert tower is not None
    features = [tower.preprocess([part], task=task) for part, task in items]  # type: ignore[arg-type]
    return list(tower.forward(tower.collate(features)))


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    from skimage import data

    return [
        Image.fromarray(data.astronaut()),
        Image.fromarray(data.coffee()).resize((200, 90)),
        Image.fromarray(data.chelsea()).resize((60, 130)),
    ]


@pytest.fixture(scope="module", params=sorted(RETRIEVERS))
def retriever(request, tmp_path_factory):
    import transformers

    from omniembed.models.late_interaction import MODEL_CLASSES

    directory: Path = RETRIEVERS[request.param](tmp_path_factory.mktemp(request.param) / "model")
    adapter = load_model(resolve(str(directory)))
    model = getattr(transformers, MODEL_CLASSES[request.param]).from_pretrained(directory).eval()
    processor = transformers.AutoProcessor.from_pretrained(directory)
    return request.param, adapter, model, processor


def reference_rows(model, batch) -> list[torch.Tensor]:
    batch.pop("labels", None)
    with torch.no_grad():
        embeddings = model(**batch).embeddings
    return [row[mask.bool()] for row, mask in zip(embeddings, batch["attention_mask"], strict=True)]


def test_retriever_spec(retriever):
    _, adapter, model, _ = retriever
    assert resolve(str(adapter.spec.source)).family == "late_interaction"
    assert adapter.spec.output == "multivector" and adapter.spec.pooling is None
    assert adapter.spec.dimension == model.config.embedding_dim
    assert set(adapter.spec.modalities) == {"text", "image"}


def test_retriever_single_items_match_the_reference(retriever, images):
    _, adapter, model, processor = retriever
    for text in QUERIES:
        (ours,) = embed(adapter, [(text, "query")])
        assert_same_tokens(ours, reference_rows(model, processor.process_queries([text]))[0])
    for image in images:
        (ours,) = embed(adapter, [(image, None)])
        assert_same_tokens(ours, reference_rows(model, processor.process_images([image]))[0])


def test_retriever_joined_batches_match_the_reference_batches(retriever, images):
    _, adapter, model, processor = retriever
    ours = embed(
        adapter,
        [
            (images[0], "document"),
            (QUERIES[0], "query"),
            *[(i, None) for i in images[1:]],
            *[(q, "document") for q in QUERIES[1:]],
        ],
    )  # text is a query whatever the task
    ours_images = [ours[0], ours[2], ours[3]]
    ours_queries = [ours[1], ours[4], ours[5]]
    reference_queries = reference_rows(model, processor.process_queries(QUERIES))
    reference_images = reference_rows(model, processor.process_images(images))
    for mine, theirs in zip(ours_queries + ours_images, reference_queries + reference_images, strict=True):
        assert_same_tokens(mine, theirs)
    expected = processor.score_retrieval(reference_queries, reference_images).numpy()
    scores = maxsim(ours_queries, ours_images)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(scores.argmax(axis=1), expected.argmax(axis=1))


def test_retriever_refuses_items_of_several_parts(retriever, images):
    _, adapter, _, _ = retriever
    with pytest.raises(CapabilityError):
        adapter.fused.preprocess(["a query", images[0]])  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- MultiVectorEncoder
@pytest.fixture(scope="module")
def colbert(tmp_path_factory):
    from sentence_transformers import MultiVectorEncoder

    directory = tiny.build_tiny_colbert(tmp_path_factory.mktemp("colbert") / "model")
    return load_model(resolve(str(directory))), MultiVectorEncoder(str(directory), device="cpu")


def test_multivector_encoder_is_detected_with_its_prompts(colbert):
    adapter, _ = colbert
    assert resolve(str(adapter.spec.source)).family == "multi_vector_encoder"
    assert adapter.spec.output == "multivector" and adapter.spec.dimension == 8
    assert adapter.spec.prompts == {"query": "[Q] ", "document": "[D] "}


def test_multivector_encoder_matches_encode_query_and_encode_document(colbert):
    adapter, reference = colbert
    queries = reference.encode_query(QUERIES)
    documents = reference.encode_document(DOCUMENTS)
    for text, expected in zip(QUERIES, queries, strict=True):
        (ours,) = embed(adapter, [(text, "query")])
        assert ours.shape[0] == 16  # query expansion: always query_length vectors
        assert_same_tokens(ours, expected)
    # Queries and documents from separate calls in one collate; no task is a document.
    ours = embed(
        adapter, [(DOCUMENTS[0], None), *[(q, "query") for q in QUERIES], (DOCUMENTS[1], "document")]
    )
    for mine, theirs in zip(ours, [documents[0], *queries, documents[1]], strict=True):
        assert_same_tokens(mine, theirs)
    # The punctuation skiplist drops document tokens: fewer vectors than tokens.
    assert ours[-1].shape[0] < adapter.fused.tokens(adapter.fused.preprocess([DOCUMENTS[1]]))  # type: ignore[union-attr]
    expected = reference.similarity(queries, documents).numpy()
    np.testing.assert_allclose(maxsim(ours[1:4], [ours[0], ours[4]]), expected, rtol=1e-4, atol=1e-4)
