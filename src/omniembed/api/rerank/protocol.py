"""Request and response schemas of the reranking routes, each dialect as its clients send it.

- Cohere Rerank v2 (`cohere.ClientV2().rerank`, LangChain's and LlamaIndex's `CohereRerank`) and
  v1 (`cohere.Client().rerank`); v1's path is also Jina's and vLLM's `/v1/rerank`, so its schema
  takes their fields too (Jina's image documents) and its response carries both families' keys.
- Jina / vLLM `/rerank`: `documents` as strings, or Jina's `{"text"}` / `{"image"}` objects.
- TEI `/rerank`: `query`, `texts`, `raw_scores`, `return_text`, `truncate`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from omniembed.api.fields import MaxTokens, Name, Text
from omniembed.api.response_schemas import CohereApiVersion

# An unknown field, also inside a document object, is a 400 naming it, never silently dropped.
_STRICT = ConfigDict(extra="forbid")
TopN = Field(default=None, ge=1, description="return the n most relevant (default: all)")


class JinaDocument(BaseModel):
    """Jina's multimodal document (jina-reranker-m0): a text, or an image URL or data URI."""

    model_config = _STRICT

    text: Text | None = None
    image: str | None = Field(default=None, description="data URI, bare base64, or http(s) URL")


# Cohere's object documents (`RerankDocument`: string fields), ranked by `rank_fields`.
CohereDocument = dict[str, Text]


class _CohereRerank(BaseModel):
    model_config = _STRICT

    model: Name | None = Field(default=None, description="a served reranker (default: the first)")
    query: Text
    documents: list[Text | CohereDocument]
    top_n: int | None = TopN
    return_documents: bool | None = Field(
        default=None, description="include each document in its result (v2: false, v1: true)"
    )
    rank_fields: list[Name] | None = Field(
        default=None,
        max_length=64,
        description="object documents: the fields read, as `field: value` lines (default: text)",
    )
    max_tokens_per_doc: MaxTokens | None = Field(
        default=None, description="cut each document to its first n tokens (default: the model's context)"
    )
    priority: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1, description="accepted, unused")


class RelevantSpans(BaseModel):
    model_config = _STRICT

    mode: Literal["enabled", "disabled"]
    threshold: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    max_spans: int | None = Field(default=None, ge=1, le=2**31 - 1)


class CohereRerankRequest(_CohereRerank):
    """Cohere Rerank v2 (`/v2/rerank`)."""

    relevant_spans: RelevantSpans | None = Field(
        default=None, description="only mode 'disabled': no reranker here returns spans"
    )


class RerankV1Request(_CohereRerank):
    """`/v1/rerank`: Cohere Rerank v1, and Jina's and vLLM's body on the same path."""

    documents: list[Text | JinaDocument | CohereDocument]  # type: ignore[assignment]
    max_chunks_per_doc: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="accepted: documents are cut to the model's context (or max_tokens_per_doc), not chunked",
    )


class JinaRerankRequest(BaseModel):
    """Jina's and vLLM's `/rerank` (and `/v1/rerank`)."""

    model_config = _STRICT

    model: Name | None = Field(default=None, description="a served reranker (default: the first)")
    query: Text | JinaDocument = Field(description="a text (or, for image rerankers, a Jina object)")
    documents: list[Text | JinaDocument]
    top_n: int | None = TopN
    return_documents: bool = Field(default=True, description="include each document in its result")
    max_tokens_per_doc: MaxTokens | None = Field(default=None, description="extension, as Cohere v2's")
    priority: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1, description="accepted, unused")


class TeiRerankRequest(BaseModel):
    """TEI's `/rerank` (text-embeddings-inference's router)."""

    model_config = _STRICT

    model: Name | None = Field(default=None, description="extension: a served reranker (default: the first)")
    query: Text
    texts: list[Text]
    raw_scores: bool = Field(default=False, description="the model's logits, without its activation")
    return_text: bool = False
    truncate: bool | None = Field(
        default=None, description="accepted: long pairs are always cut to the model's context"
    )
    truncation_direction: Literal["right", "Right", "left", "Left"] = Field(
        default="right", description="only right: the end of a long pair is cut"
    )


# --- responses (handlers build them by hand; these document them) ---------------------------------


class CohereRerankBilledUnits(BaseModel):
    search_units: int = Field(description="one per 100 documents")
    input_tokens: int = Field(description="tokens of every (query, document) pair read")


class CohereRerankMeta(BaseModel):
    api_version: CohereApiVersion
    billed_units: CohereRerankBilledUnits


class RerankResult(BaseModel):
    index: int
    relevance_score: float
    document: dict[str, Any] | None = Field(default=None, description="the document sent, as an object")


class RerankUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int
    document_tokens: list[int] | None = Field(default=None, description="tokens of each document's pair")


class CohereRerankResponse(BaseModel):
    id: str
    results: list[RerankResult] = Field(description="most relevant first")
    meta: CohereRerankMeta


class RerankV1Response(CohereRerankResponse):
    """Cohere v1's keys, plus Jina's and vLLM's (`model`, `usage`): each client reads its own."""

    model: str
    usage: RerankUsage


class JinaRerankResponse(BaseModel):
    id: str
    model: str
    results: list[RerankResult] = Field(description="most relevant first")
    usage: RerankUsage


class TeiRank(BaseModel):
    index: int
    score: float
    text: str | None = None


class RerankEitherResponse(RootModel[list[TeiRank] | JinaRerankResponse]):
    """`/rerank`: TEI's ranks (most relevant first) for TEI's body, Jina's/vLLM's object otherwise."""
