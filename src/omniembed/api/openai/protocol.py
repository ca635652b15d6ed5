"""Request schema of OpenAI's `/v1/embeddings`, with omniembed's multimodal content parts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ImageURL(BaseModel):
    url: str = Field(description="data URI, bare base64, or http(s) URL")
    detail: str | None = None


class VideoURL(BaseModel):
    url: str = Field(description="data URI (video/mp4, ...), bare base64, or http(s) URL")
    num_frames: int | None = Field(default=None, ge=1, description="frames sampled uniformly (clamped)")
    fps: float | None = Field(default=None, gt=0, description="sample at this rate instead (clamped)")
    pooling: Literal["mean", "none"] = "mean"


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImagePart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageURL | str


class VideoPart(BaseModel):
    type: Literal["video_url"]
    video_url: VideoURL | str


ContentPart = Annotated[TextPart | ImagePart | VideoPart, Field(discriminator="type")]
InputItem = str | int | ContentPart | list[ContentPart | int]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(default=None, description="served model id (default: the first served model)")
    input: str | list[InputItem] = Field(
        description="a string, a list of strings, or a list whose items are content parts or lists of "
        "parts (one vector per item; a list of parts is fused into one vector)"
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1, description="Matryoshka models only")
    user: str | None = None
    # Extensions (ignored by OpenAI's own API, understood here):
    normalize: bool | None = Field(default=None, description="L2-normalize (default: the model's default)")
    input_type: str | None = Field(default=None, description="prompt name, e.g. query / document")
    truncation: Literal["end", "start", "none", "chunk"] = Field(
        default="end", description="long texts: keep the start, keep the end, refuse, or chunk and average"
    )
