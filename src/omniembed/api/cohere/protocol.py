"""Request schemas of Cohere's Embed v2 API (as the `cohere` SDK sends it, and as vLLM accepts it)
and of its Embed v1 API (`cohere.Client().embed`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.content import AudioPart, InputAudioPart
from omniembed.api.fields import Dimensions, Fps, MaxTokens, Name, NumFrames, Text

# Nested objects refuse unknown fields too: a misspelt key must not be dropped without a word.
_STRICT = ConfigDict(extra="forbid")

EmbeddingType = Literal["float", "int8", "uint8", "binary", "ubinary", "base64"]


class CohereImageURL(BaseModel):
    model_config = _STRICT

    url: str


class CohereTextContent(BaseModel):
    model_config = _STRICT

    type: Literal["text"] = "text"
    text: Text


class CohereImageContent(BaseModel):
    model_config = _STRICT

    type: Literal["image_url"] = "image_url"
    image_url: CohereImageURL | str


class CohereVideoURL(BaseModel):
    model_config = _STRICT

    url: str
    num_frames: NumFrames | None = None
    fps: Fps | None = None


class CohereVideoContent(BaseModel):
    """Extension: a video part, embedded from sampled frames."""

    model_config = _STRICT

    type: Literal["video_url"] = "video_url"
    video_url: CohereVideoURL | str


# Extension: audio parts in OpenAI's (`input_audio`) and vLLM's (`audio_url`) shapes.
CohereContent = Annotated[
    CohereTextContent | CohereImageContent | CohereVideoContent | InputAudioPart | AudioPart,
    Field(discriminator="type"),
]


class CohereInput(BaseModel):
    model_config = _STRICT

    content: list[CohereContent]


class CohereEmbedRequest(BaseModel):
    # An unknown field is a 400 naming it, never silently ignored.
    model_config = ConfigDict(extra="forbid")

    model: Name | None = None
    input_type: Name | None = Field(
        default=None,
        description="search_document, search_query, classification, clustering, image, or a prompt name",
    )
    texts: list[Text] | None = None
    images: list[str] | None = Field(
        default=None, description="image data URIs (or URLs when fetching is on)"
    )
    inputs: list[CohereInput] | None = Field(default=None, description="one vector per input (parts fused)")
    embedding_types: list[EmbeddingType] | None = Field(default=None, description="default: ['float']")
    output_dimension: Dimensions | None = Field(default=None, description="Matryoshka models only")
    max_tokens: MaxTokens | None = None
    truncate: Literal["NONE", "START", "END", "CHUNK"] | None = Field(
        default=None, description="END (default) drops the end, START the start; NONE refuses long inputs"
    )
    priority: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1, description="accepted, unused")
    normalize: bool | None = Field(
        default=None, description="extension: L2-normalize (default: model default)"
    )


EmbeddingTypeV1 = Literal["float", "int8", "uint8", "binary", "ubinary"]


class CohereEmbedV1Request(BaseModel):
    """Cohere's Embed v1 (`cohere.Client().embed`, langchain-cohere, LiteLLM's cohere provider)."""

    model_config = ConfigDict(extra="forbid")

    model: Name | None = None
    texts: list[Text] | None = None
    images: list[str] | None = Field(
        default=None, description="image data URIs (or URLs when fetching is on)"
    )
    input_type: Name | None = Field(
        default=None,
        description="search_document, search_query, classification, clustering, image, or a prompt name",
    )
    embedding_types: list[EmbeddingTypeV1] | None = Field(
        default=None,
        description="omitted: `embeddings` is a list of float lists (response_type embeddings_floats)",
    )
    truncate: Literal["NONE", "START", "END"] | None = Field(
        default=None, description="END (default) drops the end, START the start; NONE refuses long inputs"
    )
    output_dimension: Dimensions | None = Field(
        default=None, description="Matryoshka models only (LiteLLM sends its `dimensions` here)"
    )
