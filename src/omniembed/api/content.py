"""Content parts (text / image_url / video_url) and their translation into neutral items.

The OpenAI dialect, `/v1/score` and `/v1/classify` accept the same item shapes; this module is the
single definition of those shapes, so each route stays a thin translation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.fields import Fps, Name, NumFrames, Text
from omniembed.api.inputs import image_item, text_item, video_item
from omniembed.engine.items import InterleavedInput, Item, VideoOptions
from omniembed.errors import InvalidInputError
from omniembed.settings import Settings

# An unknown key in a part is a 400 naming it, never silently dropped.
_STRICT = ConfigDict(extra="forbid")


class ImageURL(BaseModel):
    model_config = _STRICT

    url: str = Field(description="data URI, bare base64, or http(s) URL")
    detail: Name | None = None


class VideoURL(BaseModel):
    model_config = _STRICT

    url: str = Field(description="data URI (video/mp4, ...), bare base64, or http(s) URL")
    num_frames: NumFrames | None = Field(default=None, description="frames sampled uniformly (clamped)")
    fps: Fps | None = Field(default=None, description="sample at this rate instead (0 < fps <= 60)")
    pooling: Literal["mean", "none"] = "mean"


class TextPart(BaseModel):
    model_config = _STRICT

    type: Literal["text"]
    text: Text


class ImagePart(BaseModel):
    model_config = _STRICT

    type: Literal["image_url"]
    image_url: ImageURL | str


class VideoPart(BaseModel):
    model_config = _STRICT

    type: Literal["video_url"]
    video_url: VideoURL | str


ContentPart = Annotated[TextPart | ImagePart | VideoPart, Field(discriminator="type")]
ContentItem = Text | ContentPart | list[ContentPart]

TOKEN_IDS_MESSAGE = (
    "Token-id inputs are not supported: ids from another tokenizer mean nothing to this model. Send text "
    "(LangChain's OpenAIEmbeddings: set check_embedding_ctx_length=False)."
)


def part_item(part: TextPart | ImagePart | VideoPart, settings: Settings, param: str) -> Item:
    if isinstance(part, TextPart):
        return text_item(part.text, settings, param)
    if isinstance(part, ImagePart):
        url = part.image_url if isinstance(part.image_url, str) else part.image_url.url
        return image_item(url, param)
    video = part.video_url
    if isinstance(video, str):
        return video_item(video, VideoOptions(), param)
    options = VideoOptions(num_frames=video.num_frames, fps=video.fps, pooling=video.pooling)
    return video_item(video.url, options, param)


def content_item(value: object, settings: Settings, param: str) -> Item:
    """A string, a part, or a list of parts (fused into one vector)."""
    if isinstance(value, int) or (isinstance(value, list) and any(isinstance(v, int) for v in value)):
        raise InvalidInputError(TOKEN_IDS_MESSAGE, param=param)
    if isinstance(value, str):
        return text_item(value, settings, param)
    if isinstance(value, list):
        if not value:
            raise InvalidInputError("An item's list of parts is empty.", param=param)
        parts = [part_item(p, settings, f"{param}[{i}]") for i, p in enumerate(value)]
        return InterleavedInput(tuple(parts))  # type: ignore[arg-type]
    if isinstance(value, TextPart | ImagePart | VideoPart):
        return part_item(value, settings, param)
    raise InvalidInputError("Unsupported item.", param=param)
