"""Paths that two dialects both define, served once with a body that satisfies both.

`GET /models` is Intel MES's model listing (`current_model`, `available_models`, `total_models`)
and Infinity's (`object: "list"`, `data`); each client reads its own keys and ignores the others.
Neither dialect's router defines the path itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from omniembed.api.errors import Request, error_responses
from omniembed.api.infinity import serving as infinity
from omniembed.api.responses import ORJSONResponse
from omniembed.api.seed import mes
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
