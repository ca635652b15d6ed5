"""The data the retrieval layer stores and answers with, independent of the store behind it."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Quantization = Literal["none", "int8", "binary"]
SearchMode = Literal["dense", "keyword", "hybrid"]
ItemModality = Literal["text", "image", "video", "audio"]
VectorKind = Literal["dense", "multivector"]

# Point ids in Qdrant are unsigned integers or UUIDs; user ids are arbitrary strings, mapped stably.
_NAMESPACE = uuid.UUID("6f1c3d0e-2b4a-4c8e-9a51-7d2f0b9e4c11")


def point_id(item_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, item_id))


@dataclass(frozen=True)
class CollectionConfig:
    name: str
    model: str
    dimension: int
    quantization: Quantization = "none"
    ocr: bool = False
    created: float = field(default_factory=time.time)
    # multivector: each item is its model's token matrix (MaxSim) plus their pooled vector in `dense`.
    output: VectorKind = "dense"
    # The sparse side of keyword and hybrid search: "bm25", or a served SparseEncoder model's name.
    sparse: str = "bm25"

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StoredPoint:
    """One item as stored: its dense (or pooled) vector, its sparse terms (if it has text), its
    payload, and in a multi-vector collection its token matrix."""

    id: str
    vector: list[float]
    sparse: tuple[list[int], list[float]] | None
    payload: dict[str, Any]
    multivector: list[list[float]] | None = None


@dataclass(frozen=True)
class StoreQuery:
    dense: list[float] | None
    sparse: tuple[list[int], list[float]] | None
    mode: SearchMode
    top_k: int
    filter: dict[str, Any]
    modalities: tuple[str, ...] = ()
    exact: bool = False
    # Multi-vector collections: the query's token matrix (`dense` is then its pooled vector), and
    # how many first-stage hits MaxSim re-scores (None: store.CANDIDATE_FACTOR x top_k).
    multivector: list[list[float]] | None = None
    candidates: int | None = None


@dataclass(frozen=True)
class ListedItem:
    """One item as a listing shows it: never its vectors or thumbnail, its text cut short."""

    id: str
    modality: str
    metadata: dict[str, Any]
    text: str | None
    has_thumbnail: bool
    page: int | None = None

    def public(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": self.id,
            "modality": self.modality,
            "metadata": self.metadata,
            "text": self.text,
            "has_thumbnail": self.has_thumbnail,
        }
        if self.page is not None:
            found["page"] = self.page
        return found


@dataclass(frozen=True)
class ItemPage:
    """A page of a listing, in the store's stable order (point id); `next_offset` resumes after it."""

    items: list[ListedItem]
    next_offset: str | None


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    modality: str
    metadata: dict[str, Any]
    text: str | None = None
    rerank_score: float | None = None  # set by a rerank stage (retrieval/rerank.py)

    def public(self) -> dict[str, Any]:
        found = {
            "id": self.id,
            "score": self.score,
            "modality": self.modality,
            "metadata": self.metadata,
            "text": self.text,
        }
        if self.rerank_score is not None:
            found["rerank_score"] = self.rerank_score
        return found
