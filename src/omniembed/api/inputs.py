"""Turning request fields into the engine's neutral items, with the per-request limits.

Shared by every dialect (they translate the same kinds of values), so each limit lives once.
"""

from __future__ import annotations

from typing import Literal

from omniembed.engine.items import AudioInput, ImageInput, TextInput, VideoInput, VideoOptions
from omniembed.errors import InvalidInputError, PayloadTooLargeError, TooManyInputsError
from omniembed.media.payload import MediaReference, parse_media_reference
from omniembed.settings import Settings

AudioFormat = Literal["wav", "mp3", "flac", "ogg", "opus", "m4a", "aac"]
# OpenAI's `input_audio.format` names a file type; the MIME type is the decoder's hint.
AUDIO_FORMATS: dict[str, str] = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
}


def check_count(count: int, settings: Settings, param: str = "input", *, as_invalid: bool = False) -> None:
    """`as_invalid`: too many items is a 400 (what OpenAI and Cohere answer, and what their SDKs
    raise as a bad request) rather than the 413 of the other routes."""
    if count == 0:
        raise InvalidInputError("The input is empty; send at least one item.", param=param)
    if count > settings.max_items_per_request:
        refuse = TooManyInputsError if as_invalid else PayloadTooLargeError
        raise refuse(
            f"{count} items in one request; the limit is {settings.max_items_per_request}.", param=param
        )


def text_item(text: str, settings: Settings, param: str) -> TextInput:
    if not text.strip():
        raise InvalidInputError("Empty text cannot be embedded.", param=param)
    if len(text) > settings.max_text_chars:
        raise PayloadTooLargeError(
            f"Text of {len(text)} characters; the limit is {settings.max_text_chars}.", param=param
        )
    return TextInput(text)


def image_item(value: str, param: str) -> ImageInput:
    return ImageInput(reference=parse_media_reference(value, kind="image", param=param))


def image_bytes_item(data: bytes) -> ImageInput:
    return ImageInput(reference=MediaReference(data=data))


def video_item(value: str, options: VideoOptions, param: str) -> VideoInput:
    return VideoInput(parse_media_reference(value, kind="video", param=param), options)


def audio_item(value: str, param: str, audio_format: str | None = None) -> AudioInput:
    """A data URI, bare base64 or http(s) URL of a sound (`audio_url`, Infinity's audio strings);
    `audio_format` names the type of bare base64."""
    reference = parse_media_reference(value, kind="audio", param=param)
    if reference.mime is None and reference.data is not None and audio_format:
        reference = MediaReference(data=reference.data, mime=AUDIO_FORMATS.get(audio_format))
    return AudioInput(reference=reference)


def input_audio_item(data: str, audio_format: str | None, param: str) -> AudioInput:
    """OpenAI's `input_audio`: base64 bytes of a file of `format` (a data URI is taken too, as
    clients that build `image_url` parts that way send it)."""
    where = f"{param}.data"
    if data.lstrip()[:8].lower().startswith(("http://", "https://")):
        raise InvalidInputError("input_audio.data is base64; send a URL in an 'audio_url' part.", param=where)
    return audio_item(data, where, audio_format)
