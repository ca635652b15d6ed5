"""A Qdrant server or cluster through qdrant-client (`--store http(s)://host:6333`), with the same
collection schema and query model as the embedded store.

Everything a collection needs lives in Qdrant, so any number of omniembed replicas serve the same
collections: its config is the collection's own Qdrant metadata (key `omniembed`, written by the
same call that creates it, so a collection never exists without it), mirrored as a point of a small
registry collection (`omniembed_collections`) that lists them in one read and still describes
collections made before the metadata was written. Thumbnails are in the items' payloads. Creating
relies on Qdrant refusing an existing name: of racing creators exactly one wins, the others get a
ConflictError. Disk use is not reported (None): qdrant-client's collection info carries no size;
the server has per-segment `disk_usage_bytes` only in its `/telemetry`, which is server-wide and
may need a management key.

Writes use `wait=True`: the server has applied them (WAL-backed) before we acknowledge.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from omniembed.errors import ConflictError, NotFoundError
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

REGISTRY = "omniembed_collections"
METADATA_KEY = "omniembed"
# qdrant-client's local mode checks a new name and inserts it without a lock (a server serializes
# creates itself): creates through one client object take turns, so local mode refuses like a server.
_CREATING: weakref.WeakKeyDictionary[QdrantClient, threading.Lock] = weakref.WeakKeyDictionary()
_CREATING_GUARD = threading.Lock()


def _refused(error: Exception, wording: str, status: int) -> bool:
    """Whether Qdrant answered `status` (a server; older ones say 400 with the wording) or local
    mode raised its ValueError with the wording."""
    if isinstance(error, UnexpectedResponse):
        said = (error.content or b"").decode("utf-8", "replace").lower()
        return error.status_code == status or (error.status_code == 400 and wording in said)
    return isinstance(error, ValueError) and wording in str(error).lower()


def _already_exists(error: Exception) -> bool:
    return _refused(error, "already exists", 409)


@contextlib.contextmanager
def _present(name: str) -> Iterator[None]:
    """A collection another replica dropped between our config read and this call is a 404."""
    try:
        yield
    except (UnexpectedResponse, ValueError) as error:
        if _refused(error, "not found", 404):
            raise NotFoundError(f"Collection '{name}' does not exist.", param="name") from error
        raise


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


def _query(client: QdrantClient, name: str, **arguments: Any) -> Any:
    with _present(name):
        return client.query_points(name, with_payload=True, **arguments)


class ServerStore:
    def __init__(self, client: QdrantClient) -> None:
        self.client = client
        with _CREATING_GUARD:
            self._creating = _CREATING.setdefault(client, threading.Lock())
        self._create_collection(
            REGISTRY, vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT)
        )

    @classmethod
    def connect(cls, url: str, api_key: str | None = None) -> ServerStore:
        return cls(QdrantClient(url=url, api_key=api_key, timeout=60))

    def _create_collection(self, name: str, **settings: Any) -> bool:
        """True if this call made the collection, False if it existed (maybe made by a racing replica)."""
        try:
            with self._creating:
                self.client.create_collection(name, **settings)
        except (UnexpectedResponse, ValueError) as error:
            if _already_exists(error):
                return False
            raise
        return True

    def create(self, config: CollectionConfig) -> None:
        # BM25 weights are term frequencies completed by Qdrant's IDF; a learned model's are final.
        modifier = models.Modifier.IDF if config.sparse == "bm25" else None
        made = config.name != REGISTRY and self._create_collection(
            config.name,
            vectors_config=_vectors(config),
            sparse_vectors_config={sparse_name(config): models.SparseVectorParams(modifier=modifier)},
            hnsw_config=models.HnswConfigDiff(m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT),
            metadata={METADATA_KEY: config.public()},
        )
        if not made:
            raise ConflictError(f"Collection '{config.name}' already exists.")
        record = models.PointStruct(id=point_id(config.name), vector=[1.0], payload=config.public())
        self.client.upsert(REGISTRY, [record], wait=True)

    def _registered(self, names: list[str]) -> dict[str, CollectionConfig]:
        records = self.client.retrieve(REGISTRY, [point_id(n) for n in names], with_payload=True)
        return {r.payload["name"]: CollectionConfig(**r.payload) for r in records if r.payload}

    def config(self, name: str) -> CollectionConfig | None:
        if name == REGISTRY:
            return None
        try:
            metadata = self.client.get_collection(name).config.metadata or {}
        except (UnexpectedResponse, ValueError) as error:
            if _refused(error, "not found", 404):
                return None
            raise
        if isinstance(metadata.get(METADATA_KEY), dict):
            return CollectionConfig(**metadata[METADATA_KEY])
        return self._registered([name]).get(name)  # made before configs were written as metadata

    def _required(self, name: str) -> CollectionConfig:
        config = self.config(name)
        if config is None:  # the service saw it, then another replica dropped it
            raise NotFoundError(f"Collection '{name}' does not exist.", param="name")
        return config

    def list_configs(self) -> list[CollectionConfig]:
        names = [c.name for c in self.client.get_collections().collections if c.name != REGISTRY]
        records, _ = self.client.scroll(REGISTRY, limit=10_000, with_payload=True)
        registered = {r.payload["name"]: CollectionConfig(**r.payload) for r in records if r.payload}
        # A name Qdrant lists but the registry lacks: a create still under way, or one whose
        # registry write was lost; its metadata describes it (a foreign collection has none).
        found = [registered.get(name) or self.config(name) for name in names]
        return sorted((config for config in found if config is not None), key=lambda c: c.name)

    def drop(self, name: str) -> bool:
        known = self.config(name) is not None
        if known:
            self.client.delete_collection(name)
        self.client.delete(REGISTRY, models.PointIdsList(points=[point_id(name)]), wait=True)
        return known

    def upsert(self, name: str, points: list[StoredPoint]) -> None:
        config = self._required(name)
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
        with _present(name):
            self.client.upsert(name, structs, wait=True)

    def delete(self, name: str, ids: list[str]) -> None:
        with _present(name):
            self.client.delete(name, models.PointIdsList(points=[point_id(i) for i in ids]), wait=True)

    def delete_where(self, name: str, key: str, value: str) -> None:
        where = models.Filter(must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))])
        with _present(name):
            self.client.delete(name, models.FilterSelector(filter=where), wait=True)

    def search(self, name: str, query: StoreQuery) -> list[Hit]:
        config = self._required(name)
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
        found = functools.partial(_query, self.client, name)
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

    def retrieve(self, name: str, ids: list[str], with_vectors: bool = True) -> list[StoredPoint]:
        with _present(name):
            records = self.client.retrieve(
                name, [point_id(i) for i in ids], with_payload=True, with_vectors=with_vectors
            )
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
        with _present(name):
            return int(self.client.count(name, exact=True).count)

    def scroll(self, name: str, limit: int, offset: str | None, modalities: tuple[str, ...]) -> ItemPage:
        # As the embedded store: payloads without thumbnails, then which of the page's ids have one.
        with _present(name):
            records, following = self.client.scroll(
                name,
                scroll_filter=modality_filter(models, modalities),
                limit=limit,
                offset=offset,
                with_payload=models.PayloadSelectorExclude(exclude=[THUMBNAIL]),
            )
            pictured = models.Filter(
                must=[models.HasIdCondition(has_id=[record.id for record in records])],
                must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key=THUMBNAIL))],
            )
            shown = (
                self.client.scroll(name, scroll_filter=pictured, limit=limit, with_payload=False)[0]
                if records
                else []
            )
        with_thumbnail = {str(record.id) for record in shown}
        items = [listed_item(dict(r.payload or {}), str(r.id) in with_thumbnail) for r in records]
        return ItemPage(items=items, next_offset=str(following) if following is not None else None)

    def disk_bytes(self, name: str) -> int | None:
        """Not available through qdrant-client (see the module's docstring)."""
        return None

    def optimize(self, name: str) -> None:
        """The server indexes on its own schedule; nothing to force here."""

    def close(self) -> None:
        self.client.close()
