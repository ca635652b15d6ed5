"""Paths that two dialects both define, served once, each request answered in its own dialect.

`GET /models` is Intel MES's model listing (`current_model`, `available_models`, `total_models`)
and Infinity's (`object: "list"`, `data`); each client reads its own keys and ignores the others.

`POST /embeddings` is Infinity's (`input`: a string or a list of strings, with `modality`) and
MES's (`input`: one object with a `type`, see `seed/mes_embeddings.py`). The body's `input` tells
them apart without guessing: an object is MES's, anything else Infinity's, and each is then
validated strictly by its own schema (so an unknown field is a 400 naming it, in either). Errors
use the OpenAI shape, Infinity's; MES's clients read the status.

Neither dialect's router defines these paths itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, RootModel

from omniembed.api.body import limits, read_json, request_body, validate
from omniembed.api.errors import Request, error_responses
from omniembed.api.infinity import serving as infinity
from omniembed.api.infinity.protocol import InfinityEmbeddingRequest
from omniembed.api.responses import ORJSONResponse
from omniembed.api.seed import mes, mes_embeddings
from omniembed.api.seed.mes_embeddings import MesEmbeddingRequest
from omniembed.api.state import services

router = APIRouter(responses=error_responses())


class SharedModelsResponse(mes.ModelsResponse):
    object: str = Field(default="list", description="Infinity")
    data: list[dict[str, Any]] = Field(default_factory=list, description="Infinity: the served models")


@router.get("/models", response_model=SharedModelsResponse, tags=["mes", "infinity"])
async def models(request: Request) -> ORJSONResponse:
    """MES: the models this server can serve by group (short names) and the current one; Infinity:
    the served models with their capabilities."""
    svc = services(request)
    return ORJSONResponse({**infinity.model_list(svc.engine, int(svc.started)), **mes.models_body(request)})


class _JsonObject(RootModel[dict[str, Any]]):
    pass


def _either_body() -> dict[str, Any]:
    """`openapi_extra`: the request body is one of the two schemas."""
    refs = [
        request_body(model)["requestBody"]["content"]["application/json"]["schema"]
        for model in (InfinityEmbeddingRequest, MesEmbeddingRequest)
    ]
    content = {"application/json": {"schema": {"anyOf": refs}}}
    return {"requestBody": {"required": True, "content": content}}


@router.post("/embeddings", openapi_extra=_either_body(), tags=["infinity", "mes"])
async def embeddings(request: Request) -> ORJSONResponse:
    """Infinity: texts, or images or sounds with `modality`; Intel MES: `input` as one typed object
    (`text`, `image_url`, `image_base64`, `video_frames`, `video_url`, `video_base64`)."""
    svc = services(request)
    raw = (await read_json(request, _JsonObject, strict_content_type=False)).root
    if isinstance(raw.get("input"), dict):
        mes_body = mes_embeddings.parse(raw, limits(request))
        return ORJSONResponse(await mes_embeddings.embed(mes_body, svc.engine, svc.settings))
    body = validate(raw, InfinityEmbeddingRequest, limits(request))
    return ORJSONResponse(await infinity.embed(body, body.modality, svc.engine, svc.settings))
