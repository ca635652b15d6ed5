"""Translate `/v1/embeddings` requests into the engine's neutral call and results back."""

from __future__ import annotations

from typing import Any

from omniembed.api.content import content_item
from omniembed.api.inputs import check_count
from omniembed.api.openai.protocol import EmbeddingRequest
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, EmbedResult, Item
from omniembed.engine.postprocess import encode_vectors
from omniembed.models.base import Truncation
from omniembed.settings import Settings


def to_items(body: EmbeddingRequest, settings: Settings) -> list[Item]:
    raw = [body.input] if isinstance(body.input, str) else body.input
    check_count(len(raw), settings)
    return [content_item(value, settings, f"input[{index}]") for index, value in enumerate(raw)]


def to_options(body: EmbeddingRequest) -> EmbedOptions:
    return EmbedOptions(
        normalize=body.normalize,
        dimensions=body.dimensions,
        input_type=body.input_type,
        truncation=Truncation(body.truncation),
    )


def to_response(result: EmbedResult, encoding_format: str) -> dict[str, Any]:
    payloads = encode_vectors(result.embeddings, encoding_format)
    data: list[dict[str, Any]] = []
    for index, payload in enumerate(payloads):
        row: dict[str, Any] = {"object": "embedding", "index": index, "embedding": payload}
        frames = result.frames.get(index)
        if frames is not None:
            encoded = encode_vectors(frames.vectors, encoding_format)
            row["frames"] = [
                {"timestamp": stamp, "embedding": vector}
                for stamp, vector in zip(frames.timestamps, encoded, strict=True)
            ]
        data.append(row)
    usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
    return {"object": "list", "data": data, "model": result.model, "usage": usage}


async def create_embeddings(body: EmbeddingRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    result = await engine.embed(body.model, to_items(body, settings), to_options(body))
    return to_response(result, body.encoding_format)
