"""Intel Multimodal Embedding Serving's routes: `/model/list`, `/model/current`, `/model/capabilities`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from omniembed.api.errors import Request, error_responses
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.catalog import load_catalog
from omniembed.engine.runner import ModelRunner

router = APIRouter(tags=["mes"], responses=error_responses())


def _capabilities(runner: ModelRunner) -> dict[str, Any]:
    modalities = runner.spec.capabilities()["modalities"]
    return {
        "model": runner.spec.name,
        "modalities": modalities,
        "supports_text": "text" in modalities,
        "supports_image": "image" in modalities,
        "supports_video": "video" in modalities,
    }


@router.get("/model/list")
async def model_list(request: Request) -> ORJSONResponse:
    """The whole catalog (what can be served) and what this process serves."""
    svc = services(request)
    catalog = load_catalog()
    groups: dict[str, list[str]] = {}
    for entry in catalog.entries:
        group, _, _ = entry.id.rpartition("/")
        groups.setdefault(group or entry.family, []).append(entry.id)
    served = svc.engine.names()
    return ORJSONResponse(
        {
            "current_model": served[0] if served else None,
            "served_models": served,
            "available_models": groups,
            "total_models": len(catalog.entries),
            "models": [entry.public() for entry in catalog.entries],
        }
    )


@router.get("/model/current")
async def model_current(request: Request) -> ORJSONResponse:
    """The default model and how it runs."""
    svc = services(request)
    settings = svc.settings
    runner = svc.engine.runner(None)
    return ORJSONResponse(
        {
            "model": runner.spec.name,
            "device": settings.device,
            "runtime": settings.effective_runtime(),
            "precision": settings.precision,
            "use_openvino": settings.effective_runtime() == "openvino",
            "served_models": svc.engine.names(),
        }
    )


@router.get("/model/capabilities")
async def model_capabilities(request: Request, model: str | None = None) -> ORJSONResponse:
    """Modalities of the default (or `?model=`) model, plus every loaded model's."""
    engine = services(request).engine
    body = _capabilities(engine.runner(model))
    body["models"] = {name: _capabilities(runner) for name, runner in engine.runners.items()}
    return ORJSONResponse(body)
