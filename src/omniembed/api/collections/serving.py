"""Translate collection requests into the retrieval service's calls and back."""

from __future__ import annotations

from typing import Any

from omniembed.api.collections.protocol import (
    AddItemsRequest,
    DeleteItemsRequest,
    ItemBody,
    SearchRequest,
)
from omniembed.api.inputs import check_count, text_item
from omniembed.media.payload import MediaReference, parse_media_reference
from omniembed.retrieval.rerank import RerankStage
from omniembed.retrieval.schema import CollectionConfig, ItemModality
from omniembed.retrieval.service import CollectionItem, CollectionService
from omniembed.settings import Settings


def collection_body(config: CollectionConfig, count: int, disk_bytes: int | None) -> dict[str, Any]:
    return {**config.public(), "count": count, "disk_bytes": disk_bytes}


async def describe(service: CollectionService, name: str) -> dict[str, Any]:
    config, count = await service.describe(name)
    (disk_bytes,) = await service.disk_bytes([name])
    return collection_body(config, count, disk_bytes)


async def listing(service: CollectionService) -> dict[str, Any]:
    configs = await service.list_configs()
    sizes = await service.disk_bytes([config.name for config in configs])
    data = [{**config.public(), "disk_bytes": size} for config, size in zip(configs, sizes, strict=True)]
    return {"object": "list", "data": data}


async def items(
    service: CollectionService, name: str, limit: int, offset: str | None, modalities: list[str]
) -> dict[str, Any]:
    page = await service.list_items(name, limit, offset, tuple(modalities))
    return {
        "object": "list",
        "data": [item.public() for item in page.items],
        "next_offset": page.next_offset,
    }


async def delete_items(service: CollectionService, name: str, body: DeleteItemsRequest) -> dict[str, Any]:
    await service.delete_items(name, body.ids)
    _, count = await service.describe(name)
    return {"deleted": body.ids, "count": count}


def to_item(body: ItemBody, settings: Settings, param: str) -> CollectionItem:
    if body.text is not None:
        text = text_item(body.text, settings, f"{param}.text").text
        return CollectionItem(id=body.id, modality="text", text=text, metadata=body.metadata)
    media_fields: dict[ItemModality, str | None] = {
        "image": body.image,
        "video": body.video,
        "audio": body.audio,
    }
    modality, value = next((kind, value) for kind, value in media_fields.items() if value is not None)
    media = parse_media_reference(value, kind=modality, param=f"{param}.{modality}")
    return CollectionItem(id=body.id, modality=modality, media=media, metadata=body.metadata)


async def add(
    service: CollectionService, name: str, body: AddItemsRequest, settings: Settings
) -> dict[str, Any]:
    check_count(len(body.items), settings, "items")
    items = [to_item(item, settings, f"items[{i}]") for i, item in enumerate(body.items)]
    added = await service.add(name, items, model=body.model)
    _, count = await service.describe(name)
    return {"added": added, "count": count}


def _query_media(value: str | None, kind: str) -> MediaReference | None:
    return parse_media_reference(value, kind=kind, param=f"query.{kind}") if value else None


async def search(service: CollectionService, name: str, body: SearchRequest) -> dict[str, Any]:
    hits = await service.search(
        name,
        text=body.query.text,
        image=_query_media(body.query.image, "image"),
        audio=_query_media(body.query.audio, "audio"),
        video=_query_media(body.query.video, "video"),
        top_k=body.top_k,
        mode=body.mode,
        filter=dict(body.filter),
        modalities=tuple(body.modality),
        exact=body.exact,
        candidates=body.candidates,
        rerank=RerankStage(**body.rerank.model_dump()) if body.rerank else None,
    )
    return {"object": "search", "mode": body.mode, "hits": [hit.public() for hit in hits]}
