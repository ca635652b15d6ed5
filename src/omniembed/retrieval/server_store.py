"""A Qdrant server or cluster through qdrant-client (`--store http(s)://host:6333`), with the same
collection schema and query model as the embedded store. Collection configs live as points of a
small registry collection, so any omniembed process pointed at the cluster sees the same ones.

Writes use `wait=True`: the server has applied them (WAL-backed) before we acknowledge.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import QdrantClient, models

from omniembed.errors import ConflictError
from omniembed.retrieval import payload as checks
from omniembed.retrieval.schema import CollectionConfig, Hit, StoredPoint, StoreQuery, point_id
from omniembed.retrieval.store import (
    DENSE,
    HNSW_EF_CONSTRUCT,
    HNSW_M,
    PREFETCH_FACTOR,
    RRF_K,
    SPARSE,
    build_filter,
    hit_from_payload,
    query_plan,
    search_params,
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
        dense = models.VectorParams(
            size=config.dimension,
            distance=models.Distance.COSINE,
            quantization_config=_quantization(config.quantization),
            on_disk=config.quantization
            != "none",  # rescoring reads originals; the search uses the copy in RAM
        )
        self.client.create_collection(
            config.name,
            vectors_config={DENSE: dense},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
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
        structs = []
        for point in points:
            checks.stored(point.payload)  # the same rules as the embedded store (see payload.py)
            vector: dict[str, Any] = {DENSE: point.vector}
            if point.sparse is not None and point.sparse[0]:
                vector[SPARSE] = models.SparseVector(indices=point.sparse[0], values=point.sparse[1])
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
        params = search_params(models, config.quantization, query.exact)
        where = build_filter(models, query)
        sparse = (
            models.SparseVector(indices=query.sparse[0], values=query.sparse[1]) if query.sparse else None
        )
        plan = query_plan(query)
        if plan == "nothing":
            return []
        if plan == "hybrid":
            depth = query.top_k * PREFETCH_FACTOR
            response = self.client.query_points(
                name,
                prefetch=[
                    models.Prefetch(query=query.dense, using=DENSE, limit=depth, filter=where, params=params),
                    models.Prefetch(query=sparse, using=SPARSE, limit=depth, filter=where),
                ],
                query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
                limit=query.top_k,
                with_payload=True,
            )
        elif plan == "keyword":
            response = self.client.query_points(
                name, query=sparse, using=SPARSE, query_filter=where, limit=query.top_k, with_payload=True
            )
        else:
            response = self.client.query_points(
                name,
                query=query.dense,
                using=DENSE,
                query_filter=where,
                limit=query.top_k,
                with_payload=True,
                search_params=params,
            )
        return [hit_from_payload(point.score, dict(point.payload or {})) for point in response.points]

    def retrieve(self, name: str, ids: list[str]) -> list[StoredPoint]:
        records = self.client.retrieve(name, [point_id(i) for i in ids], with_payload=True, with_vectors=True)
        found = []
        for record in records:
            vectors = record.vector if isinstance(record.vector, dict) else {}
            sparse = vectors.get(SPARSE)
            found.append(
                StoredPoint(
                    id=str((record.payload or {}).get("id")),
                    vector=list(vectors.get(DENSE, [])),  # type: ignore[arg-type]
                    sparse=(list(sparse.indices), list(sparse.values)) if sparse is not None else None,  # type: ignore[union-attr]
                    payload=dict(record.payload or {}),
                )
            )
        return found

    def count(self, name: str) -> int:
        return int(self.client.count(name, exact=True).count)

    def optimize(self, name: str) -> None:
        """The server indexes on its own schedule; nothing to force here."""

    def close(self) -> None:
        self.client.close()
