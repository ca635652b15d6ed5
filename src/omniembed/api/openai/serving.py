"""Translate `/v1/embeddings` requests into the engine's neutral call and results back."""

from __future__ import annotations

from typing import Any

from omniembed.api.inputs import check_count, image_item, text_item, video_item
from omniembed.api.openai.protocol import EmbeddingRequest, ImagePart, TextPart, VideoPart
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, EmbedResult, InterleavedInput, Item, VideoOptions
from omniembed.engine.postprocess import to_base64
from omniembed.errors import InvalidInputError
from omniembed.models.base import Truncation
from omniembed.settings import Settings

TOKEN_IDS_MESSAGE = (
    "Token-id inputs are not supported: ids from another tokenizer mean nothing to this model. Send text "
    "(LangChain's OpenAIEmbeddings: set check_embedding_ctx_length=False)."
)


def _part(part: TextPart | ImagePart | VideoPart, settings: Settings, param: str) -> Item:
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


def to_items(body: EmbeddingRequest, settings: Settings) -> list[Item]:
    raw = [body.input] if isinstance(body.input, str) else body.input
    check_count(len(raw), settings)
    items: list[Item] = []
    for index, value in enumerate(raw):
        param = f"input[{index}]"
        if isinstance(value, int) or (isinstance(value, list) and any(isinstance(v, int) for v in value)):
            raise InvalidInputError(TOKEN_IDS_MESSAGE, param=param)
        if isinstance(value, str):
            items.append(text_item(value, settings, param))
        elif isinstance(value, list):
            if not value:
                raise InvalidInputError("An item's list of parts is empty.", param=param)
            parts = [_part(p, settings, f"{param}[{i}]") for i, p in enumerate(value)]  # type: ignore[arg-type]
            items.append(InterleavedInput(tuple(parts)))  # type: ignore[arg-type]
        else:
            items.append(_part(value, settings, param))
    return items


def to_options(body: EmbeddingRequest) -> EmbedOptions:
    return EmbedOptions(
        normalize=body.normalize,
        dimensions=body.dimensions,
        input_type=body.input_type,
        truncation=Truncation(body.truncation),
    )


def to_response(result: EmbedResult, encoding_format: str) -> dict[str, Any]:
    vectors = result.embeddings
    payloads: Any = to_base64(vectors) if encoding_format == "base64" else list(vectors)
    data: list[dict[str, Any]] = []
    for index, payload in enumerate(payloads):
        row: dict[str, Any] = {"object": "embedding", "index": index, "embedding": payload}
        frames = result.frames.get(index)
        if frames is not None:
            row["frames"] = [
                {"timestamp": stamp, "embedding": vector}
                for stamp, vector in zip(frames.timestamps, frames.vectors, strict=True)
            ]
        data.append(row)
    usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
    return {"object": "list", "data": data, "model": result.model, "usage": usage}


async def create_embeddings(body: EmbeddingRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    items = to_items(body, settings)
    result = await engine.embed(body.model, items, to_options(body))
    return to_response(result, body.encoding_format)
