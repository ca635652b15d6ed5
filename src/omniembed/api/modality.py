"""Infinity's `modality` switch: the strings of a request's `input` are texts, images or audio.

Shared by the OpenAI dialect (Infinity clients whose base URL ends in /v1) and the Infinity
dialect, so both read `modality` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from omniembed.api.content import content_item
from omniembed.api.inputs import check_count, image_item
from omniembed.engine.items import Item
from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.settings import Settings

NO_AUDIO = "This model has no audio: omniembed embeds text, images and video, not audio."


def modality_items(
    values: Sequence[object], modality: str | None, settings: Settings, param: str = "input"
) -> list[Item]:
    """One item per value: text (or content parts) by default, an image reference per string with
    modality 'image'; audio is refused (no served model has an audio tower)."""
    check_count(len(values), settings, param, as_invalid=True)
    if modality == "audio":
        raise CapabilityError(NO_AUDIO, param="modality")
    if modality != "image":
        return [content_item(value, settings, f"{param}[{i}]") for i, value in enumerate(values)]
    items: list[Item] = []
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise InvalidInputError(
                "With modality 'image' every input is an image data URI or URL string.",
                param=f"{param}[{index}]",
            )
        items.append(image_item(value, f"{param}[{index}]"))
    return items
