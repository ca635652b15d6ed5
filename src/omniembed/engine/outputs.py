"""Output kinds beyond one vector per item: which a request may ask of a model, the retrieval side
an input_type means, and what becomes of a late-interaction or sparse model's rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omniembed.catalog import load_catalog
from omniembed.engine.items import EmbedOptions
from omniembed.engine.postprocess import l2_normalize
from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.models.base import ModelSpec, SparseVector, Task

ASKED = {
    "multivector": "multi-vectors ('return_multivector': true, or the /pooling task 'token_embed')",
    "sparse": "sparse vectors ('output': 'sparse', or /embed_sparse)",
    "dense": "one vector per item",
    "score": "relevance scores (POST /rerank, /v2/rerank)",
}


def check_output(spec: ModelSpec, options: EmbedOptions) -> None:
    """A request gets the kind its model gives; a late-interaction model gives its pooled vector to
    a plain request when it defines one. Anything else is a 400 saying what to ask for."""
    wanted, gives = options.output, spec.output
    if wanted == gives or (wanted == "dense" and gives == "multivector" and spec.pooling is not None):
        if wanted != "dense" and options.dimensions not in (None, spec.dimension):
            raise CapabilityError(
                f"'dimensions' applies to single vectors; model '{spec.name}' gives {gives} output.",
                param="dimensions",
            )
        return
    if gives == "dense":
        message = f"Model '{spec.name}' gives one vector per item; {wanted} output needs a model that has it."
    else:
        kind = "reranker" if gives == "score" else f"{gives} model"
        message = f"Model '{spec.name}' is a {kind}: ask for {ASKED[gives]}."
    raise CapabilityError(message, param="output")


def task_of(input_type: str | None) -> Task | None:
    """search_query → query, search_document → document (and their aliases); other types → None."""
    if input_type is None:
        return None
    names = {input_type, *load_catalog().input_types.get(input_type, ())}
    if names & {"query", "search_query"}:
        return "query"
    if names & {"document", "passage", "search_document"}:
        return "document"
    return None


def pooled(matrices: Sequence[np.ndarray]) -> np.ndarray:
    """The single vector of a late-interaction model that defines one: its tokens' normalized mean."""
    return l2_normalize(np.stack([np.asarray(m, dtype=np.float32).mean(axis=0) for m in matrices]))


def prune(vector: SparseVector, top_k: int | None, min_weight: float | None) -> SparseVector:
    """Keep the `top_k` largest weights and those of at least `min_weight` (indices stay ascending)."""
    keep = np.ones(len(vector.values), dtype=bool)
    if min_weight is not None:
        keep &= vector.values >= min_weight
    if top_k is not None and keep.sum() > top_k:
        order = np.argsort(-np.where(keep, vector.values, -np.inf), kind="stable")[:top_k]
        keep = np.zeros_like(keep)
        keep[order] = True
    return SparseVector(vector.indices[keep], vector.values[keep].astype(np.float32), vector.dimension)


def check_pruning(top_k: int | None, min_weight: float | None) -> None:
    if top_k is not None and top_k < 1:
        raise InvalidInputError("'sparse_top_k' must be at least 1.", param="sparse_top_k")
    if min_weight is not None and not np.isfinite(min_weight):
        raise InvalidInputError("'sparse_min_weight' must be a finite number.", param="sparse_min_weight")
