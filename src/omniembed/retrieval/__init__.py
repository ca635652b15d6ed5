"""Cross-modal retrieval on top of the engine: collections of text, image and video items in
Qdrant Edge (embedded) or a Qdrant server, searched densely, by BM25 keywords, or both fused by RRF."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omniembed.retrieval.store import VectorStore
    from omniembed.settings import Settings

__all__ = ["Collection", "open_store"]


def open_store(settings: Settings) -> VectorStore:
    """The store the settings name: a Qdrant server for an http(s) URL, else embedded Qdrant Edge."""
    if settings.store and settings.store.startswith(("http://", "https://")):
        from omniembed.retrieval.server_store import ServerStore

        return ServerStore.connect(settings.store, settings.store_api_key)
    from omniembed.retrieval.edge_store import EdgeStore

    return EdgeStore(settings.data_dir)


def __getattr__(name: str) -> Any:
    if name == "Collection":
        from omniembed.retrieval.collection import Collection

        return Collection
    raise AttributeError(name)
