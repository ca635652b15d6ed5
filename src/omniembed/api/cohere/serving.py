"""Translate `/v2/embed` and `/v1/embed` into the engine's neutral call and back into Cohere's
responses; both versions share the translation of `texts`, `images`, `truncate` and the types."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from omniembed.api.cohere.protocol import (
    CohereEmbedRequest,
    CohereEmbedV1Request,
    CohereImageContent,
    CohereInput,
    CohereVideoContent,
)
from omniembed.api.content import AudioPart, InputAudioPart, part_item
from omniembed.api.inputs import check_count, image_item, text_item, video_item
from omniembed.api.params import named_as
from omniembed.api.usage import cohere_billed_units
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, EmbedResult, InterleavedInput, Item, VideoOptions
from omniembed.engine.postprocess import encode_vectors
from omniembed.errors import InvalidInputError
from omniembed.models.base import Truncation
from omniembed.settings import Settings

_TRUNCATION = {
    "END": Truncation.END,
    "START": Truncation.START,
    "NONE": Truncation.NONE,
    "CHUNK": Truncation.CHUNK,
}


def _input_item(value: CohereInput, settings: Settings, param: str) -> Item:
    """One model input per item: its parts, in order, are one interleaved item."""
    if not value.content:
        raise InvalidInputError("An input has no content.", param=param)
    parts: list[Any] = []
    for index, part in enumerate(value.content):
        where = f"{param}.content[{index}]"
        if isinstance(part, CohereImageContent):
            url = part.image_url if isinstance(part.image_url, str) else part.image_url.url
            parts.append(image_item(url, where))
        elif isinstance(part, InputAudioPart | AudioPart):
            parts.append(part_item(part, settings, where))
        elif isinstance(part, CohereVideoContent):
            video = part.video_url
            if isinstance(video, str):
                parts.append(video_item(video, VideoOptions(), where))
            else:
                options = VideoOptions(num_frames=video.num_frames, fps=video.fps)
                parts.append(video_item(video.url, options, where))
        else:
            parts.append(text_item(part.text, settings, where))
    return InterleavedInput(tuple(parts))


def _flat_items(texts: list[str] | None, images: list[str] | None, settings: Settings) -> list[Item]:
    """`texts` or `images`, as both Embed v1 and v2 accept them."""
    if texts is not None:
        check_count(len(texts), settings, "texts", as_invalid=True)
        return [text_item(text, settings, f"texts[{i}]") for i, text in enumerate(texts)]
    images = images or []
    check_count(len(images), settings, "images", as_invalid=True)
    return [image_item(image, f"images[{i}]") for i, image in enumerate(images)]


def _given(body: CohereEmbedRequest | CohereEmbedV1Request, fields: tuple[str, ...]) -> str:
    given = [name for name in fields if getattr(body, name) is not None]
    if len(given) != 1:
        listing = " or ".join(f"'{name}'" for name in fields)
        raise InvalidInputError(f"Send exactly one of {listing}.", param=fields[0])
    return given[0]


def to_items(body: CohereEmbedRequest, settings: Settings) -> list[Item]:
    if _given(body, ("texts", "images", "inputs")) != "inputs":
        return _flat_items(body.texts, body.images, settings)
    inputs = body.inputs or []
    check_count(len(inputs), settings, "inputs", as_invalid=True)
    return [_input_item(value, settings, f"inputs[{i}]") for i, value in enumerate(inputs)]


def to_options(body: CohereEmbedRequest) -> EmbedOptions:
    return EmbedOptions(
        normalize=body.normalize,
        dimensions=body.output_dimension,
        input_type=body.input_type,
        truncation=_TRUNCATION[body.truncate or "END"],
        max_tokens=body.max_tokens,
    )


def _meta(version: str, result: EmbedResult) -> dict[str, Any]:
    return {"api_version": {"version": version}, "billed_units": cohere_billed_units(result)}


def _by_type(result: EmbedResult, types: Sequence[str]) -> dict[str, Any]:
    return {kind: encode_vectors(result.embeddings, kind) for kind in dict.fromkeys(types)}


async def embed(body: CohereEmbedRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    names = {"dimensions": "output_dimension", "input": _given(body, ("texts", "images", "inputs"))}
    with named_as(names):
        result = await engine.embed(body.model, to_items(body, settings), to_options(body))
    return {
        "id": uuid.uuid4().hex,
        "response_type": "embeddings_by_type",
        "embeddings": _by_type(result, body.embedding_types or ["float"]),
        "texts": list(body.texts or []),
        "meta": _meta("2", result),
    }


async def embed_v1(body: CohereEmbedV1Request, engine: Engine, settings: Settings) -> dict[str, Any]:
    """Embed v1: `embeddings` is a list of float lists unless `embedding_types` is given."""
    given = _given(body, ("texts", "images"))
    options = EmbedOptions(
        dimensions=body.output_dimension,
        input_type=body.input_type,
        truncation=_TRUNCATION[body.truncate or "END"],
    )
    with named_as({"input": given, "dimensions": "output_dimension"}):
        result = await engine.embed(body.model, _flat_items(body.texts, body.images, settings), options)
    response: dict[str, Any] = {"id": uuid.uuid4().hex, "texts": list(body.texts or [])}
    if body.embedding_types is None:
        response["response_type"] = "embeddings_floats"
        response["embeddings"] = encode_vectors(result.embeddings, "float")
    else:
        response["response_type"] = "embeddings_by_type"
        response["embeddings"] = _by_type(result, body.embedding_types)
    response["meta"] = _meta("1", result)
    return response
