"""What a collection stores per item and sends per query, by the collection's kind: one dense
vector, or a late-interaction model's token matrix plus its pooled vector; BM25 terms, or a
learned-sparse model's weights. Documents and queries are embedded on their own sides
(search_document / search_query), as late-interaction and SPLADE models are trained."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, Item, TextInput
from omniembed.engine.outputs import pooled
from omniembed.errors import CapabilityError
from omniembed.models.base import ModelSpec, Truncation
from omniembed.retrieval.schema import CollectionConfig

SparseTerms = tuple[list[int], list[float]]


@functools.cache
def _bm25() -> Any:
    import qdrant_edge

    return qdrant_edge.Bm25()


def bm25_document(text: str) -> SparseTerms | None:
    vector = _bm25().embed_document(text) if text.strip() else None
    return (list(vector.indices), list(vector.values)) if vector is not None and vector.indices else None


def bm25_query(text: str) -> SparseTerms | None:
    vector = _bm25().embed_query(text) if text.strip() else None
    return (list(vector.indices), list(vector.values)) if vector is not None and vector.indices else None


@dataclass
class ItemVectors:
    dense: list[list[float]]
    multivectors: list[list[list[float]]] | None = None


@dataclass
class QueryVectors:
    dense: list[float] | None
    multivector: list[list[float]] | None = None


def check_models(spec: ModelSpec, sparse: ModelSpec | None) -> None:
    """A collection's model gives vectors or token matrices; its sparse model reads text and gives
    sparse vectors. Anything else is refused before the collection exists."""
    if spec.output == "sparse":
        raise CapabilityError(
            f"Model '{spec.name}' gives sparse vectors: name it in 'sparse' (keyword and hybrid "
            "search), with a dense or multi-vector model in 'model'.",
            param="model",
        )
    if sparse is not None and (sparse.output != "sparse" or "text" not in sparse.modalities):
        raise CapabilityError(
            f"'sparse' is 'bm25' or a served sparse model that reads text; '{sparse.name}' gives "
            f"{sparse.output} output.",
            param="sparse",
        )


async def embed_items(engine: Engine, config: CollectionConfig, items: Sequence[Item]) -> ItemVectors:
    if config.output != "multivector":
        options = EmbedOptions(input_type="search_document", truncation=Truncation.CHUNK)
        result = await engine.embed(config.model, items, options)
        return ItemVectors(dense=[[float(v) for v in row] for row in result.embeddings])
    # A page's patches are the model's own length: nothing to chunk, and a token matrix is not
    # averaged across windows.
    options = EmbedOptions(output="multivector", input_type="search_document")
    matrices = (await engine.embed(config.model, items, options)).multivectors or []
    return ItemVectors(dense=pooled(matrices).tolist(), multivectors=[matrix.tolist() for matrix in matrices])


async def embed_query(engine: Engine, config: CollectionConfig, item: Item) -> QueryVectors:
    if config.output != "multivector":
        result = await engine.embed(config.model, [item], EmbedOptions(input_type="search_query"))
        return QueryVectors(dense=[float(v) for v in result.embeddings[0]])
    options = EmbedOptions(output="multivector", input_type="search_query")
    matrices = (await engine.embed(config.model, [item], options)).multivectors or []
    return QueryVectors(dense=pooled(matrices)[0].tolist(), multivector=matrices[0].tolist())


async def sparse_documents(
    engine: Engine, config: CollectionConfig, texts: Sequence[str]
) -> list[SparseTerms | None]:
    """Each text's sparse terms (None for an item with no text to search)."""
    if config.sparse == "bm25":
        return [bm25_document(text) for text in texts]
    wanted = [index for index, text in enumerate(texts) if text.strip()]
    found: list[SparseTerms | None] = [None] * len(texts)
    if wanted:
        # The model's own context: a longer text keeps its beginning (sparse windows do not average).
        options = EmbedOptions(output="sparse", input_type="search_document")
        result = await engine.embed(config.sparse, [TextInput(texts[i]) for i in wanted], options)
        for index, vector in zip(wanted, result.sparse or [], strict=True):
            found[index] = _terms(vector.indices, vector.values)
    return found


async def sparse_query(engine: Engine, config: CollectionConfig, text: str) -> SparseTerms | None:
    if config.sparse == "bm25":
        return bm25_query(text)
    if not text.strip():
        return None
    options = EmbedOptions(output="sparse", input_type="search_query")
    result = await engine.embed(config.sparse, [TextInput(text)], options)
    vector = (result.sparse or [])[0]
    return _terms(vector.indices, vector.values)


def _terms(indices: np.ndarray, values: np.ndarray) -> SparseTerms | None:
    return ([int(i) for i in indices], [float(v) for v in values]) if len(indices) else None
