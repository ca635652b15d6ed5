"""Liveness, readiness, metrics, and the OpenAI model listing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from omniembed.api.errors import Request, error_responses
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.catalog import load_catalog
from omniembed.engine.runner import ModelRunner
from omniembed.errors import ModelNotFoundError

router = APIRouter(tags=["system"], responses=error_responses())


@router.get("/health")
async def health() -> ORJSONResponse:
    """Liveness: the process is up and answering (never needs an API key)."""
    return ORJSONResponse({"status": "ok"})


@router.get("/ready")
async def ready(request: Request) -> ORJSONResponse:
    """Readiness: 200 once every model ran its warm-up forward; 503 while starting or draining."""
    svc = services(request)
    if svc.draining:
        return ORJSONResponse({"status": "draining"}, status_code=503, headers={"Retry-After": "1"})
    if not svc.engine.ready:
        return ORJSONResponse({"status": "starting"}, status_code=503, headers={"Retry-After": "1"})
    return ORJSONResponse({"status": "ready", "models": svc.engine.names()})


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    registry = services(request).engine.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def model_card(runner: ModelRunner, created: int) -> dict[str, Any]:
    spec = runner.spec
    entry = load_catalog().find(spec.name) or next(
        (found for alias in spec.aliases if (found := load_catalog().find(alias))), None
    )
    return {
        "id": spec.name,
        "object": "model",
        "created": created,
        "owned_by": "omniembed",
        "aliases": list(spec.aliases),
        "description": spec.description or (entry.description if entry else ""),
        "capabilities": spec.capabilities(),
        "catalog": entry.public() if entry else None,
    }


@router.get("/v1/models")
async def list_models(request: Request) -> ORJSONResponse:
    """OpenAI-style list of the served models."""
    svc = services(request)
    created = int(svc.started)
    data = [model_card(runner, created) for runner in svc.engine.runners.values()]
    return ORJSONResponse({"object": "list", "data": data})


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, request: Request) -> ORJSONResponse:
    """One served model with its capabilities and catalog card."""
    svc = services(request)
    if not model_id:  # "/v1/models/": the engine would read an empty name as the default model
        raise ModelNotFoundError(model_id, svc.engine.names())
    return ORJSONResponse(model_card(svc.engine.runner(model_id), int(svc.started)))
