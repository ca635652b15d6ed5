"""Infinity's `modality` switch: the strings of a request's `input` are texts, images or audio.

Shared by the OpenAI dialect (Infinity clients whose base URL ends in /v1) and the Infinity
dialect, so both read `modality` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from omniembed.api.content import content_item
from omniembed.api.inputs import audio_item, check_count, image_item
from omniembed.engine.engine import Engine
from omniembed.engine.items import Item
from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.settings import Settings


def require_modality(engine: Engine, model: str | None, modality: str | None) -> None:
    """A model without an audio tower is named before any decoding: the engine would refuse the
    first item anyway, but Infinity's clients chose the modality, so the error points at it."""
    if modality != "audio":
        return
    spec = engine.runner(model).spec
    if "audio" not in spec.modalities:
        raise CapabilityError(
            f"Model '{spec.name}' has no audio: it embeds {', '.join(spec.modalities)}. "
            "Serve a model with audio (such as CLAP) for modality 'audio'.",
            param="modality",
        )


def modality_items(
    values: Sequence[object], modality: str | None, settings: Settings, param: str = "input"
) -> list[Item]:
    """One item per value: text (or content parts) by default, an image or audio reference per
    string with modality 'image' or 'audio'."""
    check_count(len(values), settings, param, as_invalid=True)
    if modality not in ("image", "audio"):
        return [content_item(value, settings, f"{param}[{i}]") for i, value in enumerate(values)]
    to_item = image_item if modality == "image" else audio_item
    items: list[Item] = []
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise InvalidInputError(
                f"With modality '{modality}' every input is an {modality} data URI or URL string.",
                param=f"{param}[{index}]",
            )
        items.append(to_item(value, f"{param}[{index}]"))
    return items
