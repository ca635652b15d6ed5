"""Request schema of Cohere's Embed v2 API (as the `cohere` SDK sends it, and as vLLM accepts it)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.fields import Dimensions, Fps, MaxTokens, Name, NumFrames, Text

EmbeddingType = Literal["float", "int8", "uint8", "binary", "ubinary", "base64"]


class CohereImageURL(BaseModel):
    url: str


class CohereTextContent(BaseModel):
    type: Literal["text"] = "text"
    text: Text


class CohereImageContent(BaseModel):
    type: Literal["image_url"] = "image_url"
    image_url: CohereImageURL | str


class CohereVideoURL(BaseModel):
    url: str
    num_frames: NumFrames | None = None
    fps: Fps | None = None


class CohereVideoContent(BaseModel):
    """Extension: a video part, embedded from sampled frames."""

    type: Literal["video_url"] = "video_url"
    video_url: CohereVideoURL | str


CohereContent = Annotated[
    CohereTextContent | CohereImageContent | CohereVideoContent, Field(discriminator="type")
]


class CohereInput(BaseModel):
    content: list[CohereContent]


class CohereEmbedRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

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
