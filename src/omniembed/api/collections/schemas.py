"""Response schemas of the collection routes added for the web console (listing, bulk delete), so
their OpenAPI answers are typed like the others (api/response_schemas.py types the older ones)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from omniembed.retrieval.store import LISTED_TEXT_CHARS


class ListedItem(BaseModel):
    id: str
    modality: str
    metadata: dict[str, Any]
    text: str | None = Field(description=f"the text or OCR text, cut at {LISTED_TEXT_CHARS} characters")
    has_thumbnail: bool = Field(description="GET .../items/{id}/thumbnail serves a JPEG")
    page: int | None = Field(default=None, description="PDF page items: the 1-based page number")


class ItemList(BaseModel):
    object: str = "list"
    data: list[ListedItem]
    next_offset: str | None = Field(description="pass as `offset` for the next page; null on the last")


class DeletedItems(BaseModel):
    deleted: list[str]
    count: int = Field(description="items left in the collection")
