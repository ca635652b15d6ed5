"""Request schemas of Infinity's embedding routes (infinity_emb/fastapi_schemas/pymodels.py).

`/embeddings` takes `MultiModalOpenAIEmbedding`: `model`, `input` (a string or a list), `encoding_format`
(float | base64), `user`, `dimensions` (0, what Infinity's client sends by default, means full
size) and `modality` (text | image | audio, default text). The deprecated `/embeddings_image` and
`/embeddings_audio` take the same without `dimensions` and `modality`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.fields import MAX_DIMENSIONS, Name, Text

# Infinity's placeholder when the client names no model: the first served model here.
DEFAULT_MODEL = "default/not-specified"


class InfinityMediaRequest(BaseModel):
    """`/embeddings_image` and `/embeddings_audio` (Infinity's ImageEmbeddingInput)."""

    model_config = ConfigDict(extra="forbid")

    model: Name = DEFAULT_MODEL
    # Not `Text`: data URIs outgrow any text limit; texts are checked once read (api/inputs.py).
    input: str | list[str] = Field(description="data URIs or URLs (or one)")
    encoding_format: Literal["float", "base64"] = "float"
    user: Text | None = None


class InfinityEmbeddingRequest(InfinityMediaRequest):
    """`/embeddings` (Infinity's MultiModalOpenAIEmbedding)."""

    input: str | list[str] = Field(description="texts, or data URIs / URLs with modality image or audio")
    dimensions: int = Field(default=0, ge=0, le=MAX_DIMENSIONS, description="0: the full size")
    modality: Literal["text", "image", "audio"] = "text"
