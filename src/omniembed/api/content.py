"""Content parts (text / image_url / video_url / input_audio / audio_url), chat messages, and their
translation into neutral items.

The OpenAI dialect, `/v1/score` and `/v1/classify` accept the same item shapes (and Cohere's
`inputs` the audio parts); this module is the single definition of those shapes, so each route
stays a thin translation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.fields import Fps, Name, NumFrames, Text
from omniembed.api.inputs import (
    AudioFormat,
    audio_item,
    check_count,
    image_item,
    input_audio_item,
    text_item,
    video_item,
)
from omniembed.engine.items import ChatInput, InterleavedInput, Item, Message, Part, VideoOptions
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


class InputAudio(BaseModel):
    model_config = _STRICT

    data: str = Field(description="base64 of the audio file (a data URI is taken too)")
    format: AudioFormat | None = Field(
        default=None, description="the file's type (default: read off the bytes)"
    )


class InputAudioPart(BaseModel):
    """OpenAI's audio content part."""

    model_config = _STRICT

    type: Literal["input_audio"]
    input_audio: InputAudio


class AudioURL(BaseModel):
    model_config = _STRICT

    url: str = Field(description="data URI (audio/wav, audio/mpeg, ...), bare base64, or http(s) URL")


class AudioPart(BaseModel):
    """vLLM's audio content part."""

    model_config = _STRICT

    type: Literal["audio_url"]
    audio_url: AudioURL | str


AnyPart = TextPart | ImagePart | VideoPart | InputAudioPart | AudioPart
ContentPart = Annotated[AnyPart, Field(discriminator="type")]
ContentItem = Text | ContentPart | list[ContentPart]


class ChatMessage(BaseModel):
    """One message of vLLM's chat-style embedding body."""

    model_config = _STRICT

    role: Literal["system", "user", "assistant"]
    content: Text | list[ContentPart] = Field(description="a text, or content parts in order")
    name: Name | None = Field(default=None, description="accepted, unused (OpenAI's participant name)")


TOKEN_IDS_MESSAGE = (
    "Token-id inputs are not supported: ids from another tokenizer mean nothing to this model. Send text "
    "(LangChain's OpenAIEmbeddings: set check_embedding_ctx_length=False)."
)


def part_item(part: AnyPart, settings: Settings, param: str) -> Part:
    if isinstance(part, TextPart):
        return text_item(part.text, settings, param)
    if isinstance(part, ImagePart):
        url = part.image_url if isinstance(part.image_url, str) else part.image_url.url
        return image_item(url, param)
    if isinstance(part, InputAudioPart):
        return input_audio_item(part.input_audio.data, part.input_audio.format, f"{param}.input_audio")
    if isinstance(part, AudioPart):
        url = part.audio_url if isinstance(part.audio_url, str) else part.audio_url.url
        return audio_item(url, param)
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
        return InterleavedInput(tuple(part_item(p, settings, f"{param}[{i}]") for i, p in enumerate(value)))
    if isinstance(value, AnyPart):
        return part_item(value, settings, param)
    raise InvalidInputError("Unsupported item.", param=param)


def chat_item(messages: list[ChatMessage], settings: Settings, param: str = "messages") -> ChatInput:
    """A whole conversation as one item; its parts count against the per-request item limit."""
    check_count(len(messages), settings, param, as_invalid=True)
    converted = []
    for index, message in enumerate(messages):
        where = f"{param}[{index}].content"
        if isinstance(message.content, str):
            parts: tuple[Part, ...] = (text_item(message.content, settings, where),)
        elif not message.content:
            raise InvalidInputError("A message's list of content parts is empty.", param=where)
        else:
            parts = tuple(part_item(p, settings, f"{where}[{i}]") for i, p in enumerate(message.content))
        converted.append(Message(role=message.role, parts=parts))
    check_count(sum(len(m.parts) for m in converted), settings, param, as_invalid=True)
    return ChatInput(tuple(converted))
