"""Request schemas of the collection routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omniembed.api.fields import Text
from omniembed.retrieval import payload as limits
from omniembed.retrieval.service import MAX_PAGE_ITEMS

Scalar = str | int | bool


class CreateCollectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    model: str | None = Field(default=None, description="served model (default: the first served model)")
    quantization: Literal["none", "int8", "binary"] = "none"
    ocr: bool = Field(default=False, description="read text in images and index it for keyword search")
    sparse: str = Field(
        default="bm25",
        min_length=1,
        max_length=256,
        description="sparse side of keyword and hybrid search: 'bm25', or a served sparse model (SPLADE)",
    )


class ItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=limits.MAX_ID_CHARS)
    text: Text | None = None
    image: str | None = Field(default=None, description="base64, data URI or http(s) URL")
    video: str | None = Field(default=None, description="base64, data URI or http(s) URL")
    audio: str | None = Field(default=None, description="base64, data URI or http(s) URL")
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=f"JSON object: {limits.KEY_RULE}; objects and arrays nest at most {limits.MAX_DEPTH} "
        f"deep; at most {limits.MAX_METADATA_BYTES} bytes as JSON, strings of "
        f"{limits.MAX_STRING_CHARS} characters, arrays of {limits.MAX_LIST_ITEMS} items; integers "
        "within int64, finite numbers",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> ItemBody:
        if sum(value is not None for value in (self.text, self.image, self.video, self.audio)) != 1:
            raise ValueError("an item has exactly one of text, image, video or audio")
        return self


class AddItemsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemBody]
    model: str | None = Field(default=None, description="must be the collection's model if given")


class QueryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text | None = None
    image: str | None = Field(default=None, description="base64, data URI or http(s) URL")
    audio: str | None = Field(default=None, description="base64, data URI or http(s) URL")
    video: str | None = Field(default=None, description="base64, data URI or http(s) URL")


class DeleteItemsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=1, max_length=MAX_PAGE_ITEMS, description="item ids to delete")


class RerankBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=256, description="a served reranker")
    top_n: int | None = Field(
        default=None, ge=1, le=limits.MAX_TOP_K, description="hits kept (default top_k)"
    )
    candidates: int | None = Field(
        default=None,
        ge=1,
        le=limits.MAX_TOP_K,
        description="first-stage hits reranked (default max(top_n, 50))",
    )


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: QueryBody = Field(
        description='`{"text", "image", "audio", "video"}`, or a bare string for a text query'
    )
    top_k: int = Field(default=10, ge=1, le=limits.MAX_TOP_K)
    mode: Literal["dense", "keyword", "hybrid"] = "hybrid"
    filter: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        description=f"metadata field equals value (or one of a list of strings or of integers); "
        f"{limits.FILTER_RULE}",
    )
    modality: list[Literal["text", "image", "video", "audio"]] = Field(default_factory=list)
    exact: bool = Field(
        default=False, description="exhaustive search (multi-vector collections: MaxSim over every item)"
    )
    candidates: int | None = Field(
        default=None,
        ge=1,
        le=limits.MAX_CANDIDATES,
        description="multi-vector collections: first-stage hits MaxSim re-scores (default 10 x top_k)",
    )
    rerank: RerankBody | None = Field(
        default=None,
        description="read the first `candidates` hits' text again with a served reranker; keep `top_n`",
    )

    @field_validator("query", mode="before")
    @classmethod
    def _bare_text(cls, value: Any) -> Any:
        # `"query": "a cat"` is what people type first; it means a text query.
        return {"text": value} if isinstance(value, str) else value
