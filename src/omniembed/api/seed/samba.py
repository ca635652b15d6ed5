"""SambaStudio-compatible CLIP endpoint routes.

- `POST /api/predict/nlp` with JSON `{"inputs": ["...", ...]}` → `{"data": [[...], ...]}`
- `POST /api/predict/file` with multipart field `predict_file` → `{"data": [[...]]}`

The model is the `?model=` query parameter, else the first served model.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from omniembed.api.body import read_json, request_body
from omniembed.api.errors import Request, error_responses
from omniembed.api.fields import Text
from omniembed.api.inputs import check_count, text_item
from omniembed.api.multipart import MULTIPART_SCHEMA, read_upload
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services

router = APIRouter(tags=["sambastudio"], responses=error_responses())


class NLPRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    inputs: list[Text]


@router.post("/api/predict/nlp", openapi_extra=request_body(NLPRequest))
async def predict_nlp(request: Request, model: str | None = None) -> ORJSONResponse:
    """Text embeddings, SambaStudio style."""
    svc = services(request)
    body = await read_json(request, NLPRequest, strict_content_type=False)
    check_count(len(body.inputs), svc.settings, "inputs")
    items = [text_item(text, svc.settings, f"inputs[{i}]") for i, text in enumerate(body.inputs)]
    result = await svc.engine.embed(model, items)
    return ORJSONResponse({"data": list(result.embeddings)})


@router.post("/api/predict/file", openapi_extra=request_body(multipart=MULTIPART_SCHEMA))
async def predict_file(request: Request, model: str | None = None) -> ORJSONResponse:
    """Image (or video) embeddings from an uploaded `predict_file`, SambaStudio style."""
    svc = services(request)
    upload = await read_upload(request, svc.settings, allow_text=False)
    result = await svc.engine.embed(model, upload.items)
    return ORJSONResponse({"data": list(result.embeddings)})
