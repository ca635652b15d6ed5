"""vLLM's `POST /pooling` (vllm/entrypoints/pooling/pooling: PoolingCompletionRequest and
PoolingChatRequest → PoolingResponse) for the tasks an embedding server has: `token_embed`, one matrix
of token vectors per item (`data[i].data`, what late-interaction models give), and `embed`, one vector.

The body is `/v1/embeddings`'s (vLLM builds both from the same mixins) plus `task`; `encoding_format`
is vLLM's `float` or `base64` (with `token_embed`, one string per item: the matrix row-major, in
`embed_dtype` and `endianness`; `shape` says how to reshape it). Without `task`, the model's own:
`token_embed` for a late-interaction model, else `embed`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from omniembed.api.body import read_json, request_body
from omniembed.api.errors import Request, error_responses
from omniembed.api.fields import Name
from omniembed.api.modality import require_modality
from omniembed.api.openai import serving
from omniembed.api.openai.protocol import EmbedFields
from omniembed.api.params import named_as
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.api.usage import embed_usage
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedResult
from omniembed.engine.postprocess import encode_matrices, to_base64
from omniembed.settings import Settings

router = APIRouter(tags=["vllm"], responses=error_responses())

# The engine's `output` is this route's `task`.
PARAMS = {"output": "task"}


class PoolingRequest(EmbedFields):
    task: Literal["token_embed", "embed"] | None = Field(
        default=None,
        description="token_embed: per item its token vectors; embed: one vector (default: the model's)",
    )
    encoding_format: Literal["float", "base64"] = Field(
        default="float", description="float, or base64 of the raw values (see embed_dtype, endianness)"
    )
    request_id: Name | None = Field(default=None, description="vLLM: accepted, unused")


@router.post("/pooling", openapi_extra=request_body(PoolingRequest))
async def pooling(request: Request) -> ORJSONResponse:
    """vLLM's pooling API: `token_embed` gives each item's token vectors, `embed` one vector."""
    svc = services(request)
    body = await read_json(request, PoolingRequest, strict_content_type=False)
    return ORJSONResponse(await create_pooling(body, svc.engine, svc.settings))


async def create_pooling(body: PoolingRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    serving.check_truncation_limit(body, engine)
    require_modality(engine, body.model, body.modality)
    output = engine.runner(body.model).spec.output
    task = body.task or ("token_embed" if output == "multivector" else "embed")
    options = serving.to_options(body, "multivector" if task == "token_embed" else "dense")
    with named_as(serving.NAMES, PARAMS):
        result = await engine.embed(body.model, serving.to_items(body, settings), options)
    return to_response(result, body)


def to_response(result: EmbedResult, body: PoolingRequest) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    if result.multivectors is not None:
        matrices = result.multivectors
        encoded = encode_matrices(matrices, body.encoding_format, body.embed_dtype, body.endianness)
        for index, (matrix, payload) in enumerate(zip(matrices, encoded, strict=True)):
            rows.append({"index": index, "object": "pooling", "data": payload, "shape": list(matrix.shape)})
    else:
        vectors: list[Any] = (
            to_base64(result.embeddings, body.embed_dtype, body.endianness)
            if body.encoding_format == "base64"
            else list(result.embeddings)
        )
        rows = [{"index": index, "object": "pooling", "data": vector} for index, vector in enumerate(vectors)]
    return {
        "id": f"pool-{uuid.uuid4().hex}",
        "object": "list",
        "created": int(time.time()),
        "model": result.model,
        "data": rows,
        "usage": embed_usage(result),
    }
