"""One store interface, two implementations: embedded Qdrant Edge (default) and a Qdrant server or
cluster through qdrant-client. Both hold, per collection, a named dense vector (`dense`, cosine),
a sparse vector (`bm25` with Qdrant's IDF modifier, or `learned`: a SparseEncoder model's weights,
compared by dot product as the model is) and the payload; both answer dense, keyword and hybrid
(dense + sparse prefetch fused by Reciprocal Rank Fusion) queries.

A multi-vector collection also holds each item's token matrix (`multi`, MaxSim over dot products of
unit tokens) and keeps the tokens' normalized mean in `dense`: its dense search is a first stage
on that pooled vector (HNSW) whose candidates MaxSim re-scores, or MaxSim over everything (`exact`).
The matrices get no HNSW graph of their own (m = 0): they are only ever scanned, never walked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from omniembed.retrieval import payload as checks
from omniembed.retrieval.schema import (
    CollectionConfig,
    Hit,
    ItemPage,
    ListedItem,
    StoredPoint,
    StoreQuery,
)
from omniembed.retrieval.thumbnails import PAYLOAD_KEY

DENSE = "dense"
SPARSE = "bm25"
LEARNED = "learned"
MULTI = "multi"
# First-stage hits MaxSim re-scores, per requested hit, unless the query says otherwise: measured
# by benchmarks/multivector.py (recall@10 against exact MaxSim).
CANDIDATE_FACTOR = 10
RRF_K = 60
# Candidates each prefetch brings to the fusion, per requested hit.
PREFETCH_FACTOR = 4
# HNSW graph: denser than Qdrant's defaults (16 / 100), chosen by measurement: on 20k random
# 256-d unit vectors (the hard case: no cluster structure) recall@10 was 0.69 at 16/100 + ef 128,
# 0.98 at 32/200 + ef 256.
HNSW_M = 32
HNSW_EF_CONSTRUCT = 200
# Per quantization: search breadth (hnsw_ef) and oversampling (candidates re-scored with the
# original vectors, per requested hit). Binary uses 2-bit codes with 8-bit queries: 1-bit codes
# stayed under 0.6 recall on that set whatever the oversampling; 2-bit + ef 1024 + 32x reached 0.99.
SEARCH_EF = {"none": 256, "int8": 256, "binary": 1024}
OVERSAMPLING = {"int8": 2.0, "binary": 32.0}
# A listing shows the start of an item's text: enough to recognize it, small enough for 1,000 rows.
LISTED_TEXT_CHARS = 500
THUMBNAIL = PAYLOAD_KEY  # the payload field listings leave out (ask only whether it is there)


class VectorStore(Protocol):
    def create(self, config: CollectionConfig) -> None: ...

    def config(self, name: str) -> CollectionConfig | None: ...

    def list_configs(self) -> list[CollectionConfig]: ...

    def drop(self, name: str) -> bool: ...

    def upsert(self, name: str, points: list[StoredPoint]) -> None:
        """Returns once the points are durable on disk (or acknowledged by the server)."""

    def delete(self, name: str, ids: list[str]) -> None: ...

    def delete_where(self, name: str, key: str, value: str) -> None:
        """Delete every point whose payload `key` equals `value` (e.g. all chunks of one file)."""

    def search(self, name: str, query: StoreQuery) -> list[Hit]: ...

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = True) -> list[StoredPoint]:
        """The stored points among `ids`; with `with_vectors=False` payloads only (empty vectors), for
        callers that read a hash or a thumbnail and need not move token matrices."""

    def count(self, name: str) -> int: ...

    def scroll(self, name: str, limit: int, offset: str | None, modalities: tuple[str, ...]) -> ItemPage:
        """Items in point-id order (stable across calls and writes), from the point id `offset`."""

    def disk_bytes(self, name: str) -> int | None:
        """Bytes the collection takes on disk, or None where the store cannot tell."""

    def optimize(self, name: str) -> None: ...

    def close(self) -> None: ...


def hit_from_payload(score: float, payload: dict) -> Hit:
    return Hit(
        id=str(payload.get("id")),
        score=float(score),
        modality=str(payload.get("modality", "")),
        metadata=dict(payload.get("metadata") or {}),
        text=payload.get("text") or payload.get("ocr_text"),
    )


def listed_item(payload: dict[str, Any], has_thumbnail: bool) -> ListedItem:
    text = payload.get("text") or payload.get("ocr_text")
    page = payload.get("page")
    return ListedItem(
        id=str(payload.get("id")),
        modality=str(payload.get("modality", "")),
        metadata=dict(payload.get("metadata") or {}),
        text=text[:LISTED_TEXT_CHARS] if isinstance(text, str) else None,
        has_thumbnail=has_thumbnail,
        page=page if isinstance(page, int) and not isinstance(page, bool) else None,
    )


def modality_filter(api: Any, modalities: tuple[str, ...]) -> Any:
    if not modalities:
        return None
    return api.Filter(must=[api.FieldCondition(key="modality", match=api.MatchAny(any=list(modalities)))])


# `api` below is `qdrant_edge` or `qdrant_client.models`: the two mirror each other's filter and
# search-parameter classes (same names, same fields), so one builder serves both stores.


def build_filter(api: Any, query: StoreQuery, boolean: Callable[[bool], Any] = bool) -> Any:
    """The neutral filter (metadata equalities, allowed modalities), ANDed; None when empty.

    Keys and values are checked again here, the last step before Qdrant. `boolean` wraps a boolean
    value: Qdrant Edge's binding reads a Python bool as the integer 1 or 0 (matching `1`, never
    `true`), but reads numpy's bool as a boolean."""
    wanted = checks.filter_conditions(query.filter)
    pairs: list[tuple[str, Any]] = [(f"metadata.{checks.filter_path(k)}", v) for k, v in wanted.items()]
    if query.modalities:
        pairs.append(("modality", list(query.modalities)))
    conditions = [
        api.FieldCondition(
            key=key,
            match=api.MatchAny(any=value)
            if isinstance(value, list)
            else api.MatchValue(value=boolean(value) if isinstance(value, bool) else value),
        )
        for key, value in pairs
    ]
    return api.Filter(must=conditions) if conditions else None


def search_params(api: Any, quantization: str, exact: bool) -> Any:
    """HNSW breadth per quantization; quantized collections rescore oversampled candidates."""
    rescoring = (
        api.QuantizationSearchParams(rescore=True, oversampling=OVERSAMPLING[quantization])
        if quantization != "none"
        else None
    )
    return api.SearchParams(hnsw_ef=SEARCH_EF[quantization], exact=exact, quantization=rescoring)


def sparse_name(config: CollectionConfig) -> str:
    return SPARSE if config.sparse == "bm25" else LEARNED


def candidate_count(query: StoreQuery, floor: int) -> int:
    """First-stage hits for MaxSim: the query's `candidates`, else CANDIDATE_FACTOR x top_k, never
    fewer than `floor` (the hits the stage above needs)."""
    return max(query.candidates or CANDIDATE_FACTOR * query.top_k, floor)


def maxsim_params(api: Any, quantization: str, exact: bool) -> Any:
    """MaxSim's parameters. `exact` scans every matrix at full precision (the quantized copy is
    ignored, so the scores are exactly MaxSim). Otherwise int8 collections score the candidates on
    their int8 tokens in RAM (recall@10 within 0.03 of float in benchmarks/multivector.py), and
    binary ones on the original tokens read from disk: MaxSim over 2-bit codes fell to 0.38 there
    and ran slower than full precision."""
    if quantization == "none":
        return api.SearchParams(exact=exact)
    if exact or quantization == "binary":
        return api.SearchParams(exact=exact, quantization=api.QuantizationSearchParams(ignore=True))
    return api.SearchParams(quantization=api.QuantizationSearchParams(rescore=True))


def query_plan(query: StoreQuery) -> Literal["hybrid", "keyword", "dense", "nothing"]:
    """Which search both stores run for a query: hybrid needs both vectors; without a dense vector
    (or when asked) keyword; otherwise dense. A keyword search with no terms finds nothing."""
    if query.mode == "hybrid" and query.dense is not None and query.sparse:
        return "hybrid"
    if query.mode == "keyword" or query.dense is None:
        return "keyword" if query.sparse else "nothing"
    return "dense"
