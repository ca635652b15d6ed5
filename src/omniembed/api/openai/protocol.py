"""Request schema of OpenAI's `/v1/embeddings`, with omniembed's multimodal content parts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.content import ContentPart
from omniembed.api.fields import Dimensions, Name, Text

InputItem = Text | int | ContentPart | list[ContentPart | int]
EncodingFormat = Literal["float", "base64", "int8", "uint8", "binary", "ubinary"]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: Name | None = Field(default=None, description="served model id (default: the first served model)")
    input: Text | list[InputItem] = Field(
        description="a string, a list of strings, or a list whose items are content parts or lists of "
        "parts (one vector per item; a list of parts is fused into one vector)"
    )
    encoding_format: EncodingFormat = Field(
        default="float",
        description="float | base64 (float32 little-endian), or quantized: int8 | uint8 | binary | ubinary",
    )
    dimensions: Dimensions | None = Field(default=None, description="Matryoshka models only")
    user: Text | None = None
    # Extensions (ignored by OpenAI's own API, understood here):
    normalize: bool | None = Field(default=None, description="L2-normalize (default: the model's default)")
    input_type: Name | None = Field(default=None, description="prompt name, e.g. query / document")
    truncation: Literal["end", "start", "none", "chunk"] = Field(
        default="end", description="long texts: keep the start, keep the end, refuse, or chunk and average"
    )
