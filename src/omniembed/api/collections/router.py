"""HTTP routes of collections (errors in the OpenAI shape)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from omniembed.api.body import read_json, request_body
from omniembed.api.collections import serving
from omniembed.api.collections.protocol import AddItemsRequest, CreateCollectionRequest, SearchRequest
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
    return ORJSONResponse(serving.collection_body(config, 0), status_code=201)


@router.get("/v1/collections")
async def list_collections(request: Request) -> ORJSONResponse:
    """Every collection in the store."""
    configs = await services(request).collections.list_configs()
    return ORJSONResponse({"object": "list", "data": [config.public() for config in configs]})


@router.get("/v1/collections/{name}")
async def get_collection(name: str, request: Request) -> ORJSONResponse:
    """A collection's settings and item count."""
    config, count = await services(request).collections.describe(name)
    return ORJSONResponse(serving.collection_body(config, count))


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
