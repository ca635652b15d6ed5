"""SambaStudio-compatible CLIP endpoint routes.

- `POST /api/predict/nlp` with JSON `{"inputs": ["...", ...]}` → `{"data": [[...], ...]}`
- `POST /api/predict/file` with multipart field `predict_file` → `{"data": [[...]]}`

The model is the `?model=` query parameter, else the first served model. An unknown body or form
field is a 400 naming it; `params`, which SambaStudio's clients send with every request (tuning
parameters of the deployed endpoint), is accepted and has no effect here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.body import read_json, request_body
from omniembed.api.errors import Request, error_responses
from omniembed.api.fields import Text
from omniembed.api.inputs import check_count, text_item
from omniembed.api.multipart import MULTIPART_SCHEMA, VIDEO_FIELDS, read_upload
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.errors import InvalidInputError

router = APIRouter(tags=["sambastudio"], responses=error_responses())


class NLPRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[Text]
    # Sent by SambaStudio's clients with every request; nothing here reads it.
    params: dict[str, Any] | None = Field(default=None, description="SambaStudio's; accepted, unused")


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
    unknown = sorted(set(upload.options) - VIDEO_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"Unknown form field '{unknown[0]}' (not supported here; leave it out).", param=unknown[0]
        )
    result = await svc.engine.embed(model, upload.items)
    return ORJSONResponse({"data": list(result.embeddings)})
