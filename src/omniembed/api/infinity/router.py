"""HTTP routes of the Infinity dialect (errors in the OpenAI shape, as Infinity answers them)."""

from __future__ import annotations

from fastapi import APIRouter

from omniembed.api.body import read_json, request_body
from omniembed.api.errors import Request, error_responses
from omniembed.api.infinity import serving
from omniembed.api.infinity.protocol import InfinityMediaRequest
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services

router = APIRouter(tags=["infinity"], responses=error_responses())


@router.post("/embeddings_image", openapi_extra=request_body(InfinityMediaRequest), deprecated=True)
async def embeddings_image(request: Request) -> ORJSONResponse:
    """Infinity's older image route: `/embeddings` with `modality: image`."""
    svc = services(request)
    body = await read_json(request, InfinityMediaRequest, strict_content_type=False)
    return ORJSONResponse(await serving.embed(body, "image", svc.engine, svc.settings))


@router.post("/embeddings_audio", openapi_extra=request_body(InfinityMediaRequest), deprecated=True)
async def embeddings_audio(request: Request) -> ORJSONResponse:
    """Infinity's older audio route: `/embeddings` with `modality: audio`."""
    svc = services(request)
    body = await read_json(request, InfinityMediaRequest, strict_content_type=False)
    return ORJSONResponse(await serving.embed(body, "audio", svc.engine, svc.settings))


# Infinity's `POST /embeddings` (texts, or images or sounds with `modality`) and `GET /models` are
# served by api/shared_paths.py: Intel MES has both paths too.
