"""Request schemas of the collection routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = str | int | bool


class CreateCollectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    model: str | None = Field(default=None, description="served model (default: the first served model)")
    quantization: Literal["none", "int8", "binary"] = "none"
    ocr: bool = Field(default=False, description="read text in images and index it for keyword search")


class ItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=256)
    text: str | None = None
    image: str | None = Field(default=None, description="base64, data URI or http(s) URL")
    video: str | None = Field(default=None, description="base64, data URI or http(s) URL")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> ItemBody:
        if sum(value is not None for value in (self.text, self.image, self.video)) != 1:
            raise ValueError("an item has exactly one of text, image or video")
        return self


class AddItemsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemBody]
    model: str | None = Field(default=None, description="must be the collection's model if given")


class QueryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    image: str | None = Field(default=None, description="base64, data URI or http(s) URL")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: QueryBody
    top_k: int = Field(default=10, ge=1, le=1000)
    mode: Literal["dense", "keyword", "hybrid"] = "hybrid"
    filter: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="metadata field equals value (or one of)"
    )
    modality: list[Literal["text", "image", "video"]] = Field(default_factory=list)
