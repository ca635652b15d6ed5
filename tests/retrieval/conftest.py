"""Stores for the retrieval tests: embedded Qdrant Edge, and qdrant-client's local mode standing in
for a Qdrant server (no Qdrant server can run on these machines)."""

from __future__ import annotations

import pytest

from omniembed.retrieval.edge_store import EdgeStore
from omniembed.retrieval.server_store import ServerStore
from omniembed.retrieval.service import CollectionService


@pytest.fixture(params=["edge", "server"])
def store(request, tmp_path):
    if request.param == "edge":
        created = EdgeStore(tmp_path / "data")
    else:
        from qdrant_client import QdrantClient

        created = ServerStore(QdrantClient(location=":memory:"))
    yield created
    created.close()


@pytest.fixture
def service(engine, store):
    return CollectionService(engine, store)
