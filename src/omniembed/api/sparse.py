"""Hugging Face TEI's `POST /embed_sparse` (router/src/http/types.rs, EmbedSparseRequest): learned-sparse
vectors of texts, `{"inputs": str | [str], "truncate"?, "truncation_direction"?, "prompt_name"?}` →
per input the non-zero entries `[{"index", "value"}, ...]`, ascending by vocabulary id.

As TEI: `truncate` false (the default) refuses a text longer than the model reads; `prompt_name` picks
the model's prompt (and, for asymmetric models such as SPLADE, the query or document side). Extensions:
`model`, and pruning with `sparse_top_k` / `sparse_min_weight`. The body is TEI's bare list, so the
token counts travel in headers: `x-compute-tokens` (TEI's, the total) and `x-item-tokens` (per input,
comma-separated, in input order).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.body import read_json, request_body
from omniembed.api.errors import error_responses
from omniembed.api.fields import Name, Text
from omniembed.api.inputs import check_count, text_item
from omniembed.api.openai.protocol import TOP_K_LIMIT
from omniembed.api.params import named_as
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.engine.items import EmbedOptions, EmbedResult
from omniembed.models.base import Truncation

router = APIRouter(tags=["tei"], responses=error_responses())

# The engine's names for what this route calls otherwise.
NAMES = {"input": "inputs", "input_type": "prompt_name", "truncation": "truncate"}
PARAMS = {"output": "model"}  # the route fixes the output: a model without it is the wrong model


class TeiEmbedSparseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name | None = Field(default=None, description="extension: which served model (default: the first)")
    inputs: Text | list[Text]
    truncate: bool | None = Field(
        default=None, description="false (default): a text longer than the model reads is refused"
    )
    truncation_direction: Literal["right", "left", "Right", "Left"] = Field(
        default="right", description="with truncate: right keeps the start, left keeps the end"
    )
    prompt_name: Name | None = Field(default=None, description="the model's prompt (e.g. query, document)")
    sparse_top_k: int | None = Field(
        default=None, le=TOP_K_LIMIT, description="extension: keep the k largest weights of each input"
    )
    sparse_min_weight: float | None = Field(default=None, description="extension: drop weights below this")


class SparseValue(BaseModel):
    index: int
    value: float


def to_options(body: TeiEmbedSparseRequest) -> EmbedOptions:
    truncation = Truncation.NONE
    if body.truncate:
        truncation = Truncation.START if body.truncation_direction.lower() == "left" else Truncation.END
    return EmbedOptions(
        input_type=body.prompt_name,
        truncation=truncation,
        output="sparse",
        sparse_top_k=body.sparse_top_k,
        sparse_min_weight=body.sparse_min_weight,
    )


@router.post(
    "/embed_sparse",
    openapi_extra=request_body(TeiEmbedSparseRequest),
    response_model=list[list[SparseValue]],
)
async def embed_sparse(request: Request) -> ORJSONResponse:
    """TEI: the learned-sparse vector of each input, as its non-zero `{index, value}` entries."""
    svc = services(request)
    body = await read_json(request, TeiEmbedSparseRequest, strict_content_type=False)
    texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
    check_count(len(texts), svc.settings, "inputs")
    items = [text_item(text, svc.settings, f"inputs[{index}]") for index, text in enumerate(texts)]
    with named_as(NAMES, PARAMS):
        result = await svc.engine.embed(body.model, items, to_options(body))
    return ORJSONResponse(to_entries(result), headers=token_headers(result))


def to_entries(result: EmbedResult) -> list[list[dict[str, int | float]]]:
    assert result.sparse is not None  # output="sparse" was asked and checked by the engine
    return [
        [{"index": int(i), "value": float(v)} for i, v in zip(vector.indices, vector.values, strict=True)]
        for vector in result.sparse
    ]


def token_headers(result: EmbedResult) -> dict[str, str]:
    headers = {"x-compute-tokens": str(result.prompt_tokens)}
    if result.item_tokens:
        headers["x-item-tokens"] = ",".join(map(str, result.item_tokens))
    return headers
