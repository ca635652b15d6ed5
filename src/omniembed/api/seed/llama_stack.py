"""`POST /v1/embeddings/text` and `/v1/embeddings/image` as proposed for Llama Stack.

`/v1/embeddings/image` also takes multipart/form-data (`file` field, options as form fields), so
`curl -F model=... -F file=@cat.jpg` works; with several files it answers `embeddings` (a list).
An unknown field (of the body, of `options` or of the form) is a 400 naming it: the proposal has
no official client whose extra fields would need to pass.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.body import media_type, read_json, request_body, validate
from omniembed.api.errors import Request, error_responses
from omniembed.api.fields import Name, Text
from omniembed.api.inputs import image_item, text_item
from omniembed.api.multipart import MULTIPART_SCHEMA, read_upload
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import Services, services
from omniembed.engine.items import EmbedOptions, Item

router = APIRouter(tags=["llama-stack"], responses=error_responses())


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    normalize: bool = True
    return_dims: bool = False


class TextEmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name = Field(min_length=1)
    input: Text
    options: Options = Options()


class ImageEmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name = Field(min_length=1)
    image: str = Field(description="base64 or data URI")
    options: Options = Options()


class ImageUploadFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name = Field(min_length=1)
    normalize: bool = True
    return_dims: bool = False


async def _embed(svc: Services, model: str, items: list[Item], options: Options) -> dict[str, Any]:
    result = await svc.engine.embed(model, items, EmbedOptions(normalize=options.normalize))
    body: dict[str, Any] = {"model": result.model}
    if len(items) == 1:
        body["embedding"] = result.embeddings[0]
    else:
        body["embeddings"] = list(result.embeddings)
    if options.return_dims:
        body["dims"] = int(result.embeddings.shape[1])
    return body


@router.post("/v1/embeddings/text", openapi_extra=request_body(TextEmbeddingRequest))
async def embed_text(request: Request) -> ORJSONResponse:
    """One text → one vector (Llama Stack proposal)."""
    svc = services(request)
    body = await read_json(request, TextEmbeddingRequest)
    item = text_item(body.input, svc.settings, "input")
    return ORJSONResponse(await _embed(svc, body.model, [item], body.options))


@router.post(
    "/v1/embeddings/image", openapi_extra=request_body(ImageEmbeddingRequest, multipart=MULTIPART_SCHEMA)
)
async def embed_image(request: Request) -> ORJSONResponse:
    """One image (base64, data URI, or an uploaded file) → one vector (Llama Stack proposal)."""
    svc = services(request)
    if media_type(request) == "multipart/form-data":
        upload = await read_upload(request, svc.settings, allow_text=False, kind="image")
        fields = validate(upload.options, ImageUploadFields)
        options = Options(normalize=fields.normalize, return_dims=fields.return_dims)
        return ORJSONResponse(await _embed(svc, fields.model, upload.items, options))
    body = await read_json(request, ImageEmbeddingRequest)
    return ORJSONResponse(await _embed(svc, body.model, [image_item(body.image, "image")], body.options))
