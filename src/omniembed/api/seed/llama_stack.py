"""`POST /v1/embeddings/text` and `/v1/embeddings/image` as proposed for Llama Stack."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.body import read_json, request_body
from omniembed.api.inputs import image_item, text_item
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import Services, services
from omniembed.engine.items import EmbedOptions, Item

router = APIRouter(tags=["llama-stack"])


class Options(BaseModel):
    normalize: bool = True
    return_dims: bool = False


class TextEmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1)
    input: str
    options: Options = Options()


class ImageEmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1)
    image: str = Field(description="base64 or data URI")
    options: Options = Options()


async def _embed_one(svc: Services, model: str, item: Item, options: Options) -> dict[str, Any]:
    result = await svc.engine.embed(model, [item], EmbedOptions(normalize=options.normalize))
    vector = result.embeddings[0]
    body: dict[str, Any] = {"model": result.model, "embedding": vector}
    if options.return_dims:
        body["dims"] = int(vector.shape[0])
    return body


@router.post("/v1/embeddings/text", openapi_extra=request_body(TextEmbeddingRequest))
async def embed_text(request: Request) -> ORJSONResponse:
    """One text → one vector (Llama Stack proposal)."""
    svc = services(request)
    body = await read_json(request, TextEmbeddingRequest)
    item = text_item(body.input, svc.settings, "input")
    return ORJSONResponse(await _embed_one(svc, body.model, item, body.options))


@router.post("/v1/embeddings/image", openapi_extra=request_body(ImageEmbeddingRequest))
async def embed_image(request: Request) -> ORJSONResponse:
    """One image (base64 or data URI) → one vector (Llama Stack proposal)."""
    svc = services(request)
    body = await read_json(request, ImageEmbeddingRequest)
    return ORJSONResponse(await _embed_one(svc, body.model, image_item(body.image, "image"), body.options))
