"""Embedded Qdrant Edge: one shard per collection under `data_dir/collections/<name>/`.

Flush policy: `upsert` and `delete` return only after the shard has flushed (segments and WAL) to
disk, so every write the API acknowledged survives a crash or a SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from omniembed.errors import ConflictError
from omniembed.retrieval import payload as checks
from omniembed.retrieval.schema import (
    CollectionConfig,
    Hit,
    ItemPage,
    StoredPoint,
    StoreQuery,
    point_id,
)
from omniembed.retrieval.store import (
    DENSE,
    HNSW_EF_CONSTRUCT,
    HNSW_M,
    MULTI,
    PREFETCH_FACTOR,
    RRF_K,
    SPARSE,
    THUMBNAIL,
    build_filter,
    candidate_count,
    hit_from_payload,
    listed_item,
    maxsim_params,
    modality_filter,
    query_plan,
    search_params,
    sparse_name,
)


def _quantization(kind: str) -> Any:
    if kind == "int8":
        return qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Cached)
    if kind == "binary":
        return qe.BinaryQuantizationConfig(
            memory=qe.Memory.Cached,
            encoding=qe.BinaryQuantizationEncoding.TwoBits,
            query_encoding=qe.BinaryQuantizationQueryEncoding.Scalar8Bits,
        )
    return None


def _vectors(config: CollectionConfig) -> dict[str, Any]:
    # Quantized collections search the compact copy in RAM and read full vectors from disk only
    # to rescore the oversampled candidates: that is where quantization saves memory. In a
    # multi-vector collection the token matrices are what is large, so they are what is quantized;
    # the pooled vector (one per item) stays exact for the first stage's sake.
    multi = config.output == "multivector"
    kind = "none" if multi else config.quantization
    vectors = {
        DENSE: qe.EdgeVectorParams(
            size=config.dimension,
            distance=qe.Distance.Cosine,
            quantization_config=_quantization(kind),
            memory=qe.Memory.Cold if kind != "none" else qe.Memory.Cached,
        )
    }
    if multi:
        vectors[MULTI] = qe.EdgeVectorParams(
            size=config.dimension,
            distance=qe.Distance.Dot,  # unit tokens: dot = cosine, and no renormalization by Qdrant
            multivector_config=qe.MultiVectorConfig(comparator=qe.MultiVectorComparator.MaxSim),
            quantization_config=_quantization(config.quantization),
            hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=10_000),
            memory=qe.Memory.Cold if config.quantization != "none" else qe.Memory.Cached,
        )
    return vectors


def _sparse(config: CollectionConfig) -> dict[str, Any]:
    # BM25 weights are term frequencies that Qdrant's IDF modifier completes; a learned model's
    # weights are final.
    modifier = qe.Modifier.Idf if config.sparse == "bm25" else None
    return {sparse_name(config): qe.EdgeSparseVectorParams(modifier=modifier)}


def _maxsim(query: StoreQuery, config: CollectionConfig, where: Any, limit: int) -> dict[str, Any]:
    """The multi-vector dense stage (a Prefetch's or a QueryRequest's arguments): MaxSim over the
    first stage's candidates, or over every item (`exact`)."""
    assert query.multivector is not None and query.dense is not None  # the service sends both
    stage: dict[str, Any] = {"limit": limit, "query": qe.Query.Nearest(query.multivector, using=MULTI)}
    stage["params"] = maxsim_params(qe, config.quantization, query.exact)
    if not query.exact:
        first = qe.Prefetch(
            limit=candidate_count(query, limit),
            query=qe.Query.Nearest(query.dense, using=DENSE),
            filter=where,
            params=search_params(qe, "none", False),
        )
        stage["prefetches"] = [first]
    return stage


class EdgeStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "collections"
        self.root.mkdir(parents=True, exist_ok=True)
        self._shards: dict[str, Any] = {}
        self._configs: dict[str, CollectionConfig] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def _lock(self, name: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(name, threading.RLock())

    def create(self, config: CollectionConfig) -> None:
        folder = self.root / config.name
        with self._lock(config.name):
            if (folder / "collection.json").is_file():
                raise ConflictError(f"Collection '{config.name}' already exists.")
            shard = qe.EdgeShard.create(
                str(folder / "shard"),
                qe.EdgeConfig(
                    vectors=_vectors(config),
                    sparse_vectors=_sparse(config),
                    hnsw_config=qe.HnswIndexConfig(
                        m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=10_000
                    ),
                ),
            )
            shard.flush()
            staging = folder / "collection.json.tmp"
            staging.write_text(json.dumps(config.public()))
            staging.replace(folder / "collection.json")  # the collection exists once this lands
            self._shards[config.name], self._configs[config.name] = shard, config

    def config(self, name: str) -> CollectionConfig | None:
        if name in self._configs:
            return self._configs[name]
        path = self.root / name / "collection.json"
        if not path.is_file():
            return None
        config = CollectionConfig(**json.loads(path.read_text()))
        self._configs[name] = config
        return config

    def list_configs(self) -> list[CollectionConfig]:
        return [
            c
            for c in (self.config(p.name) for p in sorted(self.root.iterdir()) if p.is_dir())
            if c is not None
        ]

    def _shard(self, name: str) -> Any:
        if name not in self._shards:
            self._shards[name] = qe.EdgeShard.load(str(self.root / name / "shard"))
        return self._shards[name]

    def drop(self, name: str) -> bool:
        with self._lock(name):
            shard = self._shards.pop(name, None)
            if shard is not None:
                shard.close()
            self._configs.pop(name, None)
            folder = self.root / name
            if not folder.exists():
                return False
            (folder / "collection.json").unlink(missing_ok=True)  # gone for readers first
            shutil.rmtree(folder, ignore_errors=True)
            return True

    def upsert(self, name: str, points: list[StoredPoint]) -> None:
        config = self.config(name)
        assert config is not None
        edge_points = []
        for point in points:
            checks.stored(point.payload)  # nothing the shard could not read back (see payload.py)
            vector: dict[str, Any] = {DENSE: point.vector}
            if point.sparse is not None and point.sparse[0]:
                vector[sparse_name(config)] = qe.SparseVector(indices=point.sparse[0], values=point.sparse[1])
            if point.multivector is not None:
                vector[MULTI] = point.multivector
            edge_points.append(qe.Point(id=point_id(point.id), vector=vector, payload=point.payload))
        with self._lock(name):
            shard = self._shard(name)
            shard.update(qe.UpdateOperation.upsert_points(edge_points))
            shard.flush()

    def delete(self, name: str, ids: list[str]) -> None:
        with self._lock(name):
            shard = self._shard(name)
            shard.update(qe.UpdateOperation.delete_points([point_id(i) for i in ids]))
            shard.flush()

    def delete_where(self, name: str, key: str, value: str) -> None:
        where = qe.Filter(must=[qe.FieldCondition(key=key, match=qe.MatchValue(value=value))])
        with self._lock(name):
            shard = self._shard(name)
            shard.update(qe.UpdateOperation.delete_points_by_filter(where))
            shard.flush()

    def search(self, name: str, query: StoreQuery) -> list[Hit]:
        config = self.config(name)
        assert config is not None
        plan = query_plan(query)
        if plan == "nothing":
            return []
        params = search_params(qe, config.quantization, query.exact)
        where = build_filter(qe, query, boolean=np.bool_)
        sparse = (
            qe.Query.Nearest(
                qe.SparseVector(indices=query.sparse[0], values=query.sparse[1]), using=sparse_name(config)
            )
            if query.sparse
            else None
        )
        multi = config.output == "multivector" and query.multivector is not None
        dense_query = qe.Query.Nearest(query.dense, using=DENSE) if query.dense is not None else None
        if plan == "hybrid":
            depth = query.top_k * PREFETCH_FACTOR
            dense = (
                qe.Prefetch(filter=where, **_maxsim(query, config, where, depth))
                if multi
                else qe.Prefetch(limit=depth, query=dense_query, filter=where, params=params)
            )
            request = qe.QueryRequest(
                limit=query.top_k,
                prefetches=[dense, qe.Prefetch(limit=depth, query=sparse, filter=where)],
                query=qe.Fusion.Rrf(k=RRF_K),  # type: ignore[arg-type]  # the stub omits Fusion's members
                with_payload=True,
            )
        elif plan == "dense" and multi:
            request = qe.QueryRequest(
                filter=where, with_payload=True, **_maxsim(query, config, where, query.top_k)
            )
        else:
            request = qe.QueryRequest(
                limit=query.top_k,
                query=dense_query if plan == "dense" else sparse,
                filter=where,
                with_payload=True,
                params=params if plan == "dense" else None,
            )
        with self._lock(name):
            results = self._shard(name).query(request)
        return [hit_from_payload(result.score, dict(result.payload or {})) for result in results]

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = True) -> list[StoredPoint]:
        with self._lock(name):
            records = self._shard(name).retrieve(
                [point_id(i) for i in ids], with_payload=True, with_vector=with_vectors
            )
        config = self.config(name)
        sparse_key = sparse_name(config) if config is not None else SPARSE
        found = []
        for record in records:
            vectors = record.vector if isinstance(record.vector, dict) else {}
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
        with self._lock(name):
            return int(self._shard(name).info().points_count)

    def scroll(self, name: str, limit: int, offset: str | None, modalities: tuple[str, ...]) -> ItemPage:
        # Thumbnails stay in the shard: a second, payload-free pass over the page's ids tells which
        # items have one, so a 1,000-item page never reads 1,000 pictures.
        request = qe.ScrollRequest(
            offset=offset,
            limit=limit,
            filter=modality_filter(qe, modalities),
            with_payload=qe.PayloadSelector.Exclude([THUMBNAIL]),
            with_vector=False,
        )
        with self._lock(name):
            shard = self._shard(name)
            records, following = shard.scroll(request)
            pictured = qe.Filter(
                must=[qe.HasIdCondition({record.id for record in records})],
                must_not=[qe.IsEmptyCondition(THUMBNAIL)],
            )
            shown = shard.scroll(qe.ScrollRequest(limit=limit, filter=pictured))[0] if records else []
        with_thumbnail = {record.id for record in shown}
        items = [listed_item(dict(r.payload or {}), r.id in with_thumbnail) for r in records]
        return ItemPage(items=items, next_offset=str(following) if following is not None else None)

    def disk_bytes(self, name: str) -> int | None:
        """Allocated blocks, as `du` counts them: the shard preallocates sparse files whose apparent
        size is ~1,000x what they hold (136 MB apparent, 120 KB allocated for a new collection)."""
        total = 0
        for folder, _, names in os.walk(self.root / name):
            for file_name in names:
                try:
                    found = os.stat(os.path.join(folder, file_name), follow_symlinks=False)
                except FileNotFoundError:  # a segment merged away while we walked
                    continue
                total += found.st_blocks * 512
        return total

    def optimize(self, name: str) -> None:
        with self._lock(name):
            self._shard(name).optimize()

    def close(self) -> None:
        for name, shard in list(self._shards.items()):
            with self._lock(name):
                shard.close()
        self._shards.clear()
