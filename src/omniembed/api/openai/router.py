"""HTTP routes of the OpenAI dialect."""

from __future__ import annotations

from fastapi import APIRouter

from omniembed.api.body import media_type, read_json, request_body, validate
from omniembed.api.errors import Request, error_responses
from omniembed.api.multipart import MULTIPART_SCHEMA, VIDEO_FIELDS, read_upload
from omniembed.api.openai import serving
from omniembed.api.openai.protocol import EmbeddingRequest
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services

router = APIRouter(tags=["openai"], responses=error_responses())


@router.post("/v1/embeddings", openapi_extra=request_body(EmbeddingRequest, multipart=MULTIPART_SCHEMA))
async def create_embeddings(request: Request) -> ORJSONResponse:
    """OpenAI-compatible embeddings for texts, images, videos and interleaved content.

    Also accepts multipart/form-data: files in `file` (repeatable), texts in `text`, and the JSON
    options (`model`, `encoding_format`, `dimensions`, ...) as form fields.
    """
    svc = services(request)
    if media_type(request) == "multipart/form-data":
        upload = await read_upload(request, svc.settings)
        options = {key: value for key, value in upload.options.items() if key not in VIDEO_FIELDS}
        body = validate({**options, "input": "multipart"}, EmbeddingRequest)
        result = await svc.engine.embed(body.model, upload.items, serving.to_options(body))
        return ORJSONResponse(await serving.respond(result, body, svc.engine))
    body = await read_json(request, EmbeddingRequest, strict_content_type=False)
    return ORJSONResponse(await serving.create_embeddings(body, svc.engine, svc.settings))
