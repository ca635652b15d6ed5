"""HTTP routes of collections (errors in the OpenAI shape)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from omniembed.api.body import read_json, request_body
from omniembed.api.collections import serving
from omniembed.api.collections.protocol import (
    AddItemsRequest,
    CreateCollectionRequest,
    DeleteItemsRequest,
    SearchRequest,
)
from omniembed.api.collections.schemas import DeletedItems, ItemList
from omniembed.api.errors import error_responses
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services

router = APIRouter(tags=["collections"], responses=error_responses())


@router.post("/v1/collections", openapi_extra=request_body(CreateCollectionRequest), status_code=201)
async def create_collection(request: Request) -> ORJSONResponse:
    """Create a collection bound to one served model (its dimension is recorded)."""
    svc = services(request)
    body = await read_json(request, CreateCollectionRequest, strict_content_type=False)
    config = await svc.collections.create(body.name, body.model, body.quantization, body.ocr, body.sparse)
    return ORJSONResponse(serving.collection_body(config, 0, None), status_code=201)


@router.get("/v1/collections")
async def list_collections(request: Request) -> ORJSONResponse:
    """Every collection in the store, with its bytes on disk (null on a Qdrant server)."""
    return ORJSONResponse(await serving.listing(services(request).collections))


@router.get("/v1/collections/{name}")
async def get_collection(name: str, request: Request) -> ORJSONResponse:
    """A collection's settings, item count and bytes on disk (null on a Qdrant server)."""
    return ORJSONResponse(await serving.describe(services(request).collections, name))


@router.delete("/v1/collections/{name}")
async def delete_collection(name: str, request: Request) -> ORJSONResponse:
    """Delete a collection and everything in it."""
    await services(request).collections.drop(name)
    return ORJSONResponse({"deleted": name})


@router.post("/v1/collections/{name}/items", openapi_extra=request_body(AddItemsRequest))
async def add_items(name: str, request: Request) -> ORJSONResponse:
    """Add (or replace, by id) text, image, video and audio items; durable when this returns."""
    svc = services(request)
    body = await read_json(request, AddItemsRequest, strict_content_type=False)
    return ORJSONResponse(await serving.add(svc.collections, name, body, svc.settings))


@router.get("/v1/collections/{name}/items", responses={200: {"model": ItemList}})
async def list_items(
    name: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[str | None, Query(max_length=64, description="a previous page's next_offset")] = None,
    modality: Annotated[list[str] | None, Query(description="only these (repeat for several)")] = None,
) -> ORJSONResponse:
    """A page of items in a stable order: ids, metadata and text (never vectors or thumbnails)."""
    svc = services(request)
    return ORJSONResponse(await serving.items(svc.collections, name, limit, offset, modality or []))


@router.post(
    "/v1/collections/{name}/items/delete",
    openapi_extra=request_body(DeleteItemsRequest),
    responses={200: {"model": DeletedItems}},
)
async def delete_items(name: str, request: Request) -> ORJSONResponse:
    """Delete up to 1,000 items by id (ids that are not there are skipped)."""
    svc = services(request)
    body = await read_json(request, DeleteItemsRequest, strict_content_type=False)
    return ORJSONResponse(await serving.delete_items(svc.collections, name, body))


@router.delete("/v1/collections/{name}/items/{item_id:path}")
async def delete_item(name: str, item_id: str, request: Request) -> ORJSONResponse:
    """Delete one item by id."""
    await services(request).collections.delete_items(name, [item_id])
    return ORJSONResponse({"deleted": item_id})


@router.post("/v1/collections/{name}/search", openapi_extra=request_body(SearchRequest))
async def search(name: str, request: Request) -> ORJSONResponse:
    """Dense (or MaxSim), keyword (BM25 / sparse model) or hybrid (RRF) search, with filters."""
    svc = services(request)
    body = await read_json(request, SearchRequest, strict_content_type=False)
    return ORJSONResponse(await serving.search(svc.collections, name, body))
