"""A Qdrant server or cluster through qdrant-client (`--store http(s)://host:6333`), with the same
collection schema and query model as the embedded store. Collection configs live as points of a
small registry collection, so any omniembed process pointed at the cluster sees the same ones.

Writes use `wait=True`: the server has applied them (WAL-backed) before we acknowledge.
"""

from __future__ import annotations

import functools
from typing import Any

from qdrant_client import QdrantClient, models

from omniembed.errors import ConflictError
from omniembed.retrieval import payload as checks
from omniembed.retrieval.schema import CollectionConfig, Hit, StoredPoint, StoreQuery, point_id
from omniembed.retrieval.store import (
    DENSE,
    HNSW_EF_CONSTRUCT,
    HNSW_M,
    MULTI,
    PREFETCH_FACTOR,
    RRF_K,
    SPARSE,
    build_filter,
    candidate_count,
    hit_from_payload,
    maxsim_params,
    query_plan,
    search_params,
    sparse_name,
)

REGISTRY = "omniembed_collections"


def _quantization(kind: str) -> Any:
    if kind == "int8":
        return models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=0.99, always_ram=True
            )
        )
    if kind == "binary":
        return models.BinaryQuantization(
            binary=models.BinaryQuantizationConfig(
                always_ram=True,
                encoding=models.BinaryQuantizationEncoding.TWO_BITS,
                query_encoding=models.BinaryQuantizationQueryEncoding.SCALAR8BITS,
            )
        )
    return None


def _vectors(config: CollectionConfig) -> dict[str, models.VectorParams]:
    """The embedded store's schema (see edge_store._vectors): in a multi-vector collection the
    token matrices are quantized and scanned (no graph), the pooled vector is exact with HNSW."""
    multi = config.output == "multivector"
    kind = "none" if multi else config.quantization
    # Quantized: rescoring reads originals from disk; the search uses the copy in RAM.
    vectors = {
        DENSE: models.VectorParams(
            size=config.dimension,
            distance=models.Distance.COSINE,
            quantization_config=_quantization(kind),
            on_disk=kind != "none",
        )
    }
    if multi:
        vectors[MULTI] = models.VectorParams(
            size=config.dimension,
            distance=models.Distance.DOT,
            multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
            quantization_config=_quantization(config.quantization),
            hnsw_config=models.HnswConfigDiff(m=0),
            on_disk=config.quantization != "none",
        )
    return vectors


def _maxsim(query: StoreQuery, config: CollectionConfig, where: Any, limit: int) -> dict[str, Any]:
    """The multi-vector dense stage as query_points / Prefetch arguments (see edge_store._maxsim)."""
    stage: dict[str, Any] = {"limit": limit, "query": query.multivector, "using": MULTI}
    params = maxsim_params(models, config.quantization, query.exact)
    if not query.exact:
        first = models.Prefetch(
            query=query.dense,
            using=DENSE,
            limit=candidate_count(query, limit),
            filter=where,
            params=search_params(models, "none", False),
        )
        stage["prefetch"] = [first]
    return {**stage, "params": params}


class ServerStore:
    def __init__(self, client: QdrantClient) -> None:
        self.client = client
        if not self.client.collection_exists(REGISTRY):
            self.client.create_collection(
                REGISTRY, vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT)
            )

    @classmethod
    def connect(cls, url: str, api_key: str | None = None) -> ServerStore:
        return cls(QdrantClient(url=url, api_key=api_key, timeout=60))

    def create(self, config: CollectionConfig) -> None:
        if self.config(config.name) is not None or self.client.collection_exists(config.name):
            raise ConflictError(f"Collection '{config.name}' already exists.")
        # BM25 weights are term frequencies completed by Qdrant's IDF; a learned model's are final.
        modifier = models.Modifier.IDF if config.sparse == "bm25" else None
        self.client.create_collection(
            config.name,
            vectors_config=_vectors(config),
            sparse_vectors_config={sparse_name(config): models.SparseVectorParams(modifier=modifier)},
            hnsw_config=models.HnswConfigDiff(m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT),
        )
        record = models.PointStruct(id=point_id(config.name), vector=[1.0], payload=config.public())
        self.client.upsert(REGISTRY, [record], wait=True)

    def config(self, name: str) -> CollectionConfig | None:
        records = self.client.retrieve(REGISTRY, [point_id(name)], with_payload=True)
        return CollectionConfig(**records[0].payload) if records and records[0].payload else None

    def list_configs(self) -> list[CollectionConfig]:
        records, _ = self.client.scroll(REGISTRY, limit=10_000, with_payload=True)
        return sorted((CollectionConfig(**r.payload) for r in records if r.payload), key=lambda c: c.name)

    def drop(self, name: str) -> bool:
        known = self.config(name) is not None
        self.client.delete(REGISTRY, models.PointIdsList(points=[point_id(name)]), wait=True)
        if self.client.collection_exists(name):
            self.client.delete_collection(name)
        return known

    def upsert(self, name: str, points: list[StoredPoint]) -> None:
        config = self.config(name)
        assert config is not None
        structs = []
        for point in points:
            checks.stored(point.payload)  # the same rules as the embedded store (see payload.py)
            vector: dict[str, Any] = {DENSE: point.vector}
            if point.sparse is not None and point.sparse[0]:
                vector[sparse_name(config)] = models.SparseVector(
                    indices=point.sparse[0], values=point.sparse[1]
                )
            if point.multivector is not None:
                vector[MULTI] = point.multivector
            structs.append(models.PointStruct(id=point_id(point.id), vector=vector, payload=point.payload))
        self.client.upsert(name, structs, wait=True)

    def delete(self, name: str, ids: list[str]) -> None:
        self.client.delete(name, models.PointIdsList(points=[point_id(i) for i in ids]), wait=True)

    def delete_where(self, name: str, key: str, value: str) -> None:
        where = models.Filter(must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))])
        self.client.delete(name, models.FilterSelector(filter=where), wait=True)

    def search(self, name: str, query: StoreQuery) -> list[Hit]:
        config = self.config(name)
        assert config is not None
        plan = query_plan(query)
        if plan == "nothing":
            return []
        params = search_params(models, config.quantization, query.exact)
        where = build_filter(models, query)
        sparse_key = sparse_name(config)
        sparse = (
            models.SparseVector(indices=query.sparse[0], values=query.sparse[1]) if query.sparse else None
        )
        multi = config.output == "multivector" and query.multivector is not None
        found = functools.partial(self.client.query_points, name, with_payload=True)
        if plan == "hybrid":
            depth = query.top_k * PREFETCH_FACTOR
            dense = (
                models.Prefetch(filter=where, **_maxsim(query, config, where, depth))
                if multi
                else models.Prefetch(query=query.dense, using=DENSE, limit=depth, filter=where, params=params)
            )
            response = found(
                prefetch=[dense, models.Prefetch(query=sparse, using=sparse_key, limit=depth, filter=where)],
                query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
                limit=query.top_k,
            )
        elif plan == "dense" and multi:
            stage = _maxsim(query, config, where, query.top_k)
            response = found(query_filter=where, search_params=stage.pop("params"), **stage)
        elif plan == "keyword":
            response = found(query=sparse, using=sparse_key, query_filter=where, limit=query.top_k)
        else:
            response = found(
                query=query.dense, using=DENSE, query_filter=where, limit=query.top_k, search_params=params
            )
        return [hit_from_payload(point.score, dict(point.payload or {})) for point in response.points]

    def retrieve(self, name: str, ids: list[str]) -> list[StoredPoint]:
        records = self.client.retrieve(name, [point_id(i) for i in ids], with_payload=True, with_vectors=True)
        config = self.config(name)
        sparse_key = sparse_name(config) if config is not None else SPARSE
        found = []
        for record in records:
            vectors: dict[str, Any] = record.vector if isinstance(record.vector, dict) else {}
            sparse = vectors.get(sparse_key)
            multi = vectors.get(MULTI)
            found.append(
                StoredPoint(
                    id=str((record.payload or {}).get("id")),
                    vector=list(vectors.get(DENSE, [])),
                    sparse=(list(sparse.indices), list(sparse.values)) if sparse is not None else None,
                    payload=dict(record.payload or {}),
                    multivector=[list(row) for row in multi] if multi is not None else None,
                )
            )
        return found

    def count(self, name: str) -> int:
        return int(self.client.count(name, exact=True).count)

    def optimize(self, name: str) -> None:
        """The server indexes on its own schedule; nothing to force here."""

    def close(self) -> None:
        self.client.close()
