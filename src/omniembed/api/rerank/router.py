"""HTTP routes of reranking.

`/v2/rerank` and `/v1/rerank` are Cohere's paths (errors in Cohere's `{"message", "code"}` shape,
which vLLM's and Jina's clients, reading the status, take as well); `/v1/rerank` is also Jina's and
vLLM's, so it reads their bodies too and answers with both families' keys. `/rerank` is TEI's
(`texts`) and Jina's / vLLM's (`documents`): the body tells them apart, as `/embeddings` tells
Infinity's from MES's (shared_paths.py), and each is then validated strictly by its own schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import RootModel

from omniembed.api.body import limits, read_json, request_body, validate
from omniembed.api.errors import Request, error_responses
from omniembed.api.rerank import serving
from omniembed.api.rerank.protocol import (
    CohereRerankRequest,
    CohereRerankResponse,
    JinaRerankRequest,
    RerankEitherResponse,
    RerankV1Request,
    RerankV1Response,
    TeiRerankRequest,
)
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services

cohere_router = APIRouter(tags=["cohere", "rerank"], responses=error_responses("cohere"))
router = APIRouter(tags=["rerank"], responses=error_responses())


@cohere_router.post(
    "/v2/rerank", openapi_extra=request_body(CohereRerankRequest), response_model=CohereRerankResponse
)
async def rerank_v2(request: Request) -> ORJSONResponse:
    """Cohere Rerank v2: `documents` ordered by relevance to `query`, with `top_n` and
    `max_tokens_per_doc`."""
    svc = services(request)
    body = await read_json(request, CohereRerankRequest, strict_content_type=False)
    return ORJSONResponse(await serving.cohere_v2(body, svc.engine, svc.settings))


@cohere_router.post(
    "/v1/rerank", openapi_extra=request_body(RerankV1Request), response_model=RerankV1Response
)
async def rerank_v1(request: Request) -> ORJSONResponse:
    """Cohere Rerank v1 (`rank_fields`, `return_documents`), and Jina's and vLLM's `/v1/rerank`."""
    svc = services(request)
    body = await read_json(request, RerankV1Request, strict_content_type=False)
    return ORJSONResponse(await serving.v1(body, svc.engine, svc.settings))


class _JsonObject(RootModel[dict[str, Any]]):
    pass


def _either_body() -> dict[str, Any]:
    """`openapi_extra`: the request body is one of the two schemas."""
    refs = [
        request_body(model)["requestBody"]["content"]["application/json"]["schema"]
        for model in (TeiRerankRequest, JinaRerankRequest)
    ]
    content = {"application/json": {"schema": {"anyOf": refs}}}
    return {"requestBody": {"required": True, "content": content}}


@router.post("/rerank", openapi_extra=_either_body(), response_model=RerankEitherResponse)
async def rerank(request: Request) -> ORJSONResponse:
    """TEI (`query`, `texts`, `raw_scores`, `return_text`) → ranks; Jina / vLLM (`query`,
    `documents`, `top_n`, `return_documents`) → `{"model", "results", "usage"}`."""
    svc = services(request)
    raw = (await read_json(request, _JsonObject, strict_content_type=False)).root
    if "texts" in raw:
        tei = validate(raw, TeiRerankRequest, limits(request))
        return ORJSONResponse(await serving.tei(tei, svc.engine, svc.settings))
    body = validate(raw, JinaRerankRequest, limits(request))
    return ORJSONResponse(await serving.jina(body, svc.engine, svc.settings))
