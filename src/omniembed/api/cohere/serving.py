"""Translate `/v2/embed` into the engine's neutral call and back into Cohere's response."""

from __future__ import annotations

import uuid
from typing import Any

from omniembed.api.cohere.protocol import (
    CohereEmbedRequest,
    CohereImageContent,
    CohereInput,
    CohereVideoContent,
)
from omniembed.api.inputs import check_count, image_item, text_item, video_item
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, InterleavedInput, Item, VideoOptions
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
    if not value.content:
        raise InvalidInputError("An input has no content.", param=param)
    parts: list[Any] = []
    for index, part in enumerate(value.content):
        where = f"{param}.content[{index}]"
        if isinstance(part, CohereImageContent):
            url = part.image_url if isinstance(part.image_url, str) else part.image_url.url
            parts.append(image_item(url, where))
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


def to_items(body: CohereEmbedRequest, settings: Settings) -> list[Item]:
    given = [name for name in ("texts", "images", "inputs") if getattr(body, name) is not None]
    if len(given) != 1:
        raise InvalidInputError("Send exactly one of 'texts', 'images' or 'inputs'.", param="texts")
    if body.texts is not None:
        check_count(len(body.texts), settings, "texts")
        return [text_item(text, settings, f"texts[{i}]") for i, text in enumerate(body.texts)]
    if body.images is not None:
        check_count(len(body.images), settings, "images")
        return [image_item(image, f"images[{i}]") for i, image in enumerate(body.images)]
    inputs = body.inputs or []
    check_count(len(inputs), settings, "inputs")
    return [_input_item(value, settings, f"inputs[{i}]") for i, value in enumerate(inputs)]


def to_options(body: CohereEmbedRequest) -> EmbedOptions:
    return EmbedOptions(
        normalize=body.normalize,
        dimensions=body.output_dimension,
        input_type=body.input_type,
        truncation=_TRUNCATION[body.truncate or "END"],
        max_tokens=body.max_tokens,
    )


async def embed(body: CohereEmbedRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    result = await engine.embed(body.model, to_items(body, settings), to_options(body))
    types = list(dict.fromkeys(body.embedding_types or ["float"]))
    return {
        "id": uuid.uuid4().hex,
        "response_type": "embeddings_by_type",
        "embeddings": {kind: encode_vectors(result.embeddings, kind) for kind in types},
        "texts": list(body.texts or []),
        "meta": {
            "api_version": {"version": "2"},
            "billed_units": {"input_tokens": result.prompt_tokens, "images": result.image_count},
        },
    }
