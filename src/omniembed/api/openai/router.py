"""HTTP routes of the OpenAI dialect."""

from __future__ import annotations

from fastapi import APIRouter, Request

from omniembed.api.body import read_json, request_body
from omniembed.api.openai import serving
from omniembed.api.openai.protocol import EmbeddingRequest
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services

router = APIRouter(tags=["openai"])


@router.post("/v1/embeddings", openapi_extra=request_body(EmbeddingRequest))
async def create_embeddings(request: Request) -> ORJSONResponse:
    """OpenAI-compatible embeddings for texts, images, videos and interleaved content."""
    svc = services(request)
    body = await read_json(request, EmbeddingRequest, strict_content_type=False)
    return ORJSONResponse(await serving.create_embeddings(body, svc.engine, svc.settings))
