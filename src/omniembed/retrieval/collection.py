"""The Python API of collections: `Collection.create(...).add(...)`, `.search(...)`.

from omniembed import Embedder
from omniembed.retrieval import Collection

embedder = Embedder("omniembed/starter")
photos = Collection.create("photos", embedder, data_dir="./data")
photos.add([{"id": "cat", "image": "cat.jpg"}, {"id": "note", "text": "feed the cat at 6"}])
photos.search(text="a photo of a cat", top_k=3)
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from omniembed.embedder import Embedder
from omniembed.errors import InvalidInputError
from omniembed.media.payload import MediaReference
from omniembed.retrieval import open_store
from omniembed.retrieval.rerank import RerankStage, rerank_stage, serve_reranker
from omniembed.retrieval.schema import CollectionConfig, Hit, ItemModality, SearchMode
from omniembed.retrieval.service import CollectionItem, CollectionService


def _media(value: Image.Image | bytes | str | Path) -> MediaReference:
    if isinstance(value, Image.Image):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")  # lossless: OCR and the embedding see exactly this image
        return MediaReference(data=buffer.getvalue())
    if isinstance(value, bytes):
        return MediaReference(data=value)
    text = str(value)
    if text.startswith(("http://", "https://")):
        return MediaReference(url=text)
    return MediaReference(data=Path(text).read_bytes())


def item_from(mapping: Mapping[str, Any]) -> CollectionItem:
    if not isinstance(mapping, Mapping):
        raise InvalidInputError(
            "Each item is a mapping with an 'id' and a 'text', 'image', 'video' or 'audio'."
        )
    every: tuple[ItemModality, ...] = ("text", "image", "video", "audio")
    kinds = [kind for kind in every if mapping.get(kind) is not None]
    if len(kinds) != 1 or not mapping.get("id"):
        raise InvalidInputError(
            "Each item needs an 'id' and exactly one of 'text', 'image', 'video' or 'audio'."
        )
    kind = kinds[0]
    metadata = mapping.get("metadata") or {}  # checked with the service's rules (payload.py)
    if kind == "text":
        return CollectionItem(
            id=str(mapping["id"]), modality="text", text=str(mapping["text"]), metadata=metadata
        )
    return CollectionItem(
        id=str(mapping["id"]), modality=kind, media=_media(mapping[kind]), metadata=metadata
    )


class Collection:
    def __init__(self, service: CollectionService, config: CollectionConfig, embedder: Embedder) -> None:
        self.service = service
        self.config = config
        self.embedder = embedder

    @staticmethod
    def _service(embedder: Embedder, data_dir: str | Path | None, store: str | None) -> CollectionService:
        updates: dict[str, Any] = {}
        if data_dir is not None:
            updates["data_dir"] = Path(data_dir)
        if store is not None:
            updates["store"] = store
        return CollectionService(embedder.engine, open_store(embedder.settings.model_copy(update=updates)))

    @classmethod
    def create(
        cls,
        name: str,
        embedder: Embedder,
        *,
        quantization: str = "none",
        ocr: bool = False,
        sparse: str = "bm25",
        data_dir: str | Path | None = None,
        store: str | None = None,
    ) -> Collection:
        """`sparse`: "bm25", or a sparse model the embedder's engine serves (keyword/hybrid side)."""
        service = cls._service(embedder, data_dir, store)
        config = embedder.run(service.create(name, embedder.model, quantization, ocr, sparse))
        return cls(service, config, embedder)

    @classmethod
    def open(
        cls, name: str, embedder: Embedder, *, data_dir: str | Path | None = None, store: str | None = None
    ) -> Collection:
        service = cls._service(embedder, data_dir, store)
        config, _ = embedder.run(service.describe(name))
        return cls(service, config, embedder)

    def add(self, items: Iterable[Mapping[str, Any]]) -> list[str]:
        return self.embedder.run(self.service.add(self.config.name, [item_from(i) for i in items]))

    def search(
        self,
        text: str | None = None,
        image: Image.Image | bytes | str | Path | None = None,
        *,
        top_k: int = 10,
        mode: SearchMode = "hybrid",
        filter: dict[str, Any] | None = None,
        modalities: tuple[str, ...] = (),
        audio: bytes | str | Path | None = None,
        exact: bool = False,
        candidates: int | None = None,
        rerank: RerankStage | Mapping[str, Any] | str | None = None,
        video: bytes | str | Path | None = None,
    ) -> list[Hit]:
        """`rerank`: a reranker (a model name, or `{"model", "top_n", "candidates"}`) reads the first
        hits' text again; one the embedder does not serve yet is loaded next to its model. `video`:
        a query video (bytes, a path or a URL) for a model that embeds videos."""
        stage = rerank_stage(rerank)
        if stage is not None:
            stage = dataclasses.replace(stage, model=serve_reranker(self.embedder, stage.model))
        query_image = _media(image) if image is not None else None
        query_audio = _media(audio) if audio is not None else None
        return self.embedder.run(
            self.service.search(
                self.config.name,
                text=text,
                image=query_image,
                top_k=top_k,
                mode=mode,
                filter=filter,
                modalities=modalities,
                audio=query_audio,
                exact=exact,
                candidates=candidates,
                rerank=stage,
                video=_media(video) if video is not None else None,
            )
        )

    def delete(self, *ids: str) -> None:
        self.embedder.run(self.service.delete_items(self.config.name, list(ids)))

    def count(self) -> int:
        return self.embedder.run(self.service.describe(self.config.name))[1]

    def close(self) -> None:
        self.service.store.close()
