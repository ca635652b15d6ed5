"""Turning request fields into the engine's neutral items, with the per-request limits.

Shared by every dialect (they translate the same kinds of values), so each limit lives once.
"""

from __future__ import annotations

from omniembed.engine.items import ImageInput, TextInput, VideoInput, VideoOptions
from omniembed.errors import InvalidInputError, PayloadTooLargeError, TooManyInputsError
from omniembed.media.payload import MediaReference, parse_media_reference
from omniembed.settings import Settings


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
