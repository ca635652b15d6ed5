"""Collections shared by replicas through one Qdrant (issue 21), with qdrant-client's local mode as
the server: several ServerStore objects over one client stand for replicas. A collection's config is
its own Qdrant metadata (mirrored in the registry), racing creates leave exactly one winner and a
complete collection, and a replica sees what the others created, wrote and dropped."""

from __future__ import annotations

import threading

import pytest
from qdrant_client import QdrantClient, models

from omniembed.errors import ConflictError, NotFoundError
from omniembed.retrieval.schema import CollectionConfig, StoredPoint, StoreQuery, point_id
from omniembed.retrieval.server_store import METADATA_KEY, REGISTRY, ServerStore

CONFIG = CollectionConfig(name="shared", model="tiny-clip", dimension=4, quantization="int8", ocr=True)


def _race(count: int, work) -> tuple[list, list[Exception]]:
    """`work(index)` on `count` threads released together; their results and their errors."""
    start, results, errors = threading.Barrier(count), [], []

    def run(index: int) -> None:
        start.wait()
        try:
            results.append(work(index))
        except Exception as error:  # every failure is part of the answer
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def _point(item_id: str) -> StoredPoint:
    return StoredPoint(id=item_id, vector=[1.0, 0.0, 0.5, 0.2], sparse=None, payload={"id": item_id})


@pytest.fixture
def client():
    made = QdrantClient(location=":memory:")
    yield made
    made.close()


def test_racing_creates_leave_one_winner_and_a_whole_collection(client):
    replicas = [ServerStore(client), ServerStore(client)]
    for round_number in range(3):
        name = f"race-{round_number}"
        configs = [CollectionConfig(name=name, model=f"model-{i}", dimension=4 + i) for i in range(8)]
        made, errors = _race(8, lambda i, configs=configs: replicas[i % 2].create(configs[i]) or i)
        assert len(made) == 1 and len(errors) == 7, errors
        assert all(isinstance(error, ConflictError) for error in errors), errors
        winner = configs[made[0]]
        for replica in replicas:  # the winner's config, from the metadata and the registry alike
            assert replica.config(name) == winner
        assert client.get_collection(name).config.metadata[METADATA_KEY] == winner.public()
        registered = client.retrieve(REGISTRY, [point_id(name)], with_payload=True)
        assert [record.payload for record in registered] == [winner.public()]
        assert client.get_collection(name).config.params.vectors["dense"].size == winner.dimension


def test_replicas_starting_together_share_one_registry(client):
    stores, errors = _race(8, lambda _: ServerStore(client))
    assert len(stores) == 8 and not errors, errors
    stores[0].create(CONFIG)
    assert all(store.config("shared") == CONFIG for store in stores)


def test_replicas_see_each_others_collections_writes_and_drops(client):
    first, second = ServerStore(client), ServerStore(client)
    first.create(CONFIG)
    with pytest.raises(ConflictError):
        second.create(CONFIG)
    second.upsert("shared", [_point("a"), _point("b")])
    assert first.count("shared") == 2 and [p.id for p in first.retrieve("shared", ["b"])] == ["b"]
    query = StoreQuery(dense=[1.0, 0.0, 0.5, 0.2], sparse=None, mode="dense", top_k=5, filter={})
    assert {hit.id for hit in first.search("shared", query)} == {"a", "b"}
    first.delete("shared", ["a"])
    assert [item.id for item in second.scroll("shared", 10, None, ()).items] == ["b"]
    late = ServerStore(client)  # a replica started after all this
    assert late.list_configs() == [CONFIG] and late.config("shared") == CONFIG
    assert second.drop("shared") is True
    assert first.config("shared") is None and late.list_configs() == []
    assert not client.collection_exists("shared")
    assert client.retrieve(REGISTRY, [point_id("shared")]) == []
    for call in (lambda: first.count("shared"), lambda: first.upsert("shared", [_point("c")])):
        with pytest.raises(NotFoundError):  # dropped by another replica: a 404, never a 500
            call()
    with pytest.raises(NotFoundError):
        first.search("shared", query)
    first.create(CONFIG)  # the name is free again
    assert second.config("shared") == CONFIG


def test_a_collection_describes_itself(client):
    store = ServerStore(client)
    store.create(CONFIG)
    # A creator that stopped between creating the collection and its registry record.
    client.delete(REGISTRY, models.PointIdsList(points=[point_id("shared")]), wait=True)
    other = ServerStore(client)
    assert other.config("shared") == CONFIG and other.list_configs() == [CONFIG]
    with pytest.raises(ConflictError):
        other.create(CONFIG)


def test_registry_only_collections_and_foreign_ones(client):
    store = ServerStore(client)
    vectors = models.VectorParams(size=4, distance=models.Distance.COSINE)
    # Made before configs went into metadata: only the registry describes it.
    client.create_collection("older", vectors_config={"dense": vectors})
    older = CollectionConfig(name="older", model="m", dimension=4)
    client.upsert(REGISTRY, [models.PointStruct(id=point_id("older"), vector=[1.0], payload=older.public())])
    client.create_collection("someone-elses", vectors_config=vectors)  # not omniembed's
    assert store.config("older") == older and store.config("someone-elses") is None
    assert store.list_configs() == [older]
    with pytest.raises(ConflictError):
        store.create(CollectionConfig(name="someone-elses", model="m", dimension=4))
    assert store.drop("someone-elses") is False and client.collection_exists("someone-elses")
    assert store.config(REGISTRY) is None
    with pytest.raises(ConflictError):
        store.create(CollectionConfig(name=REGISTRY, model="m", dimension=4))
