"""HTTP routes for scoring and zero-shot classification."""

from __future__ import annotations

from fastapi import APIRouter

from omniembed.api.body import read_json, request_body
from omniembed.api.errors import Request, error_responses
from omniembed.api.responses import ORJSONResponse
from omniembed.api.scoring import serving
from omniembed.api.scoring.protocol import ClassifyRequest, ScoreRequest
from omniembed.api.state import services

router = APIRouter(tags=["scoring"], responses=error_responses())


@router.post("/v1/score", openapi_extra=request_body(ScoreRequest))
async def score(request: Request) -> ORJSONResponse:
    """Score matrix [queries][documents]: cosines, plus calibrated logits/probabilities where trained."""
    svc = services(request)
    body = await read_json(request, ScoreRequest, strict_content_type=False)
    return ORJSONResponse(await serving.score(body, svc.scoring, svc.settings))


@router.post("/v1/classify", openapi_extra=request_body(ClassifyRequest))
async def classify(request: Request) -> ORJSONResponse:
    """Zero-shot classification of images, texts or videos over candidate labels."""
    svc = services(request)
    body = await read_json(request, ClassifyRequest, strict_content_type=False)
    return ORJSONResponse(await serving.classify(body, svc.scoring, svc.settings))
