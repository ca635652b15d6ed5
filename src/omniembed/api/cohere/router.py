"""HTTP routes of the Cohere dialect, Embed v2 and v1 (errors in Cohere's `{"message": ...}` shape)."""

from __future__ import annotations

from fastapi import APIRouter

from omniembed.api.body import read_json, request_body
from omniembed.api.cohere import serving
from omniembed.api.cohere.protocol import CohereEmbedRequest, CohereEmbedV1Request
from omniembed.api.errors import Request, error_responses
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services

router = APIRouter(tags=["cohere"], responses=error_responses("cohere"))


@router.post("/v2/embed", openapi_extra=request_body(CohereEmbedRequest))
async def embed(request: Request) -> ORJSONResponse:
    """Cohere Embed v2-compatible: texts, images or mixed inputs, several embedding types at once."""
    svc = services(request)
    body = await read_json(request, CohereEmbedRequest, strict_content_type=False)
    return ORJSONResponse(await serving.embed(body, svc.engine, svc.settings))


@router.post("/v1/embed", openapi_extra=request_body(CohereEmbedV1Request))
async def embed_v1(request: Request) -> ORJSONResponse:
    """Cohere Embed v1-compatible (`cohere.Client().embed`): texts or images; float lists, or
    several embedding types at once."""
    svc = services(request)
    body = await read_json(request, CohereEmbedV1Request, strict_content_type=False)
    return ORJSONResponse(await serving.embed_v1(body, svc.engine, svc.settings))
