"""Intel Multimodal Embedding Serving's (MES) routes: `/models`, `/model/current`,
`/model/capabilities`, and our `/model/list`.

`GET /models` is also Infinity's path: `api/shared_paths.py` serves both shapes in one body. MES's
`POST /embeddings` (Infinity's path too) is `seed/mes_embeddings.py`, also routed there.

Shapes follow MES's own `src/app.py` and API reference (open-edge-platform/edge-ai-libraries,
microservices/multimodal-embedding-serving): `/models` lists the short names of each group
(`{"CLIP": ["clip-vit-b-32", ...]}`); `/model/current` reports the device the OpenVINO way
(`CPU`/`GPU`) and `use_openvino` true when the model runs on OpenVINO.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from omniembed.api.errors import Request, error_responses
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.catalog import load_catalog
from omniembed.engine.runner import ModelRunner

router = APIRouter(tags=["mes"], responses=error_responses())


class ModelsResponse(BaseModel):
    current_model: str | None
    available_models: dict[str, list[str]] = Field(description="group → short model names")
    total_models: int


class ModelListResponse(ModelsResponse):
    served_models: list[str]
    models: list[dict[str, Any]] = Field(description="catalog cards; `id` is the full catalog id")


class CurrentModelResponse(BaseModel):
    model: str
    device: str = Field(description="where the model runs: CPU or GPU")
    use_openvino: bool
    runtime: str = Field(description="extension: the runtime the model runs on, e.g. openvino, torch")
    precision: str = Field(description="extension")
    served_models: list[str] = Field(description="extension")


class CapabilitiesResponse(BaseModel):
    model: str
    modalities: list[str]
    supports_text: bool
    supports_image: bool
    supports_video: bool
    models: dict[str, dict[str, Any]] = Field(default_factory=dict, description="extension: per model")


def _capabilities(runner: ModelRunner) -> dict[str, Any]:
    modalities = runner.spec.capabilities()["modalities"]
    return {
        "model": runner.spec.name,
        "modalities": modalities,
        "supports_text": "text" in modalities,
        "supports_image": "image" in modalities,
        "supports_video": "video" in modalities,
    }


def _device(runner: ModelRunner) -> str:
    """MES spells devices the OpenVINO way. Torch towers know theirs; compiled ones run on the CPU."""
    kinds = {getattr(getattr(t, "device", None), "type", "cpu") for t in runner.adapter.towers().values()}
    return "GPU" if "cuda" in kinds else "CPU"


def models_body(request: Request) -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for entry in load_catalog().entries:
        group, _, short = entry.id.rpartition("/")
        groups.setdefault(group or entry.family, []).append(short)
    served = services(request).engine.names()
    return {
        "current_model": served[0] if served else None,
        "available_models": groups,
        "total_models": sum(len(names) for names in groups.values()),
    }


@router.get("/model/list", response_model=ModelListResponse)
async def model_list(request: Request) -> ORJSONResponse:
    """`/models`, plus the served models and the full catalog cards."""
    body = models_body(request)
    body["served_models"] = services(request).engine.names()
    body["models"] = [entry.public() for entry in load_catalog().entries]
    return ORJSONResponse(body)


@router.get("/model/current", response_model=CurrentModelResponse)
async def model_current(request: Request) -> ORJSONResponse:
    """The default model and where and how it runs."""
    svc = services(request)
    runner = svc.engine.runner(None)
    return ORJSONResponse(
        {
            "model": runner.spec.name,
            "device": _device(runner),
            "use_openvino": runner.spec.runtime.startswith("openvino"),
            "runtime": runner.spec.runtime,
            "precision": runner.spec.precision,
            "served_models": svc.engine.names(),
        }
    )


@router.get("/model/capabilities", response_model=CapabilitiesResponse)
async def model_capabilities(request: Request, model: str | None = None) -> ORJSONResponse:
    """Modalities of the default (or `?model=`) model, plus every loaded model's."""
    engine = services(request).engine
    body = _capabilities(engine.runner(model))
    body["models"] = {name: _capabilities(runner) for name, runner in engine.runners.items()}
    return ORJSONResponse(body)
