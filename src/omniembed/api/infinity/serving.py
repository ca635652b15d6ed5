"""Translate Infinity's requests into the engine's neutral call and back into its response
(`OpenAIEmbeddingResult`: `object`, `data`, `model`, `usage`, `id` "infinity-<uuid>", `created`)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from omniembed.api.infinity.protocol import DEFAULT_MODEL, InfinityEmbeddingRequest, InfinityMediaRequest
from omniembed.api.modality import modality_items, require_modality
from omniembed.api.usage import embed_usage
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, EmbedResult
from omniembed.engine.postprocess import encode_vectors
from omniembed.settings import Settings


def _model(name: str) -> str | None:
    return None if name == DEFAULT_MODEL else name


def to_response(result: EmbedResult, encoding_format: str) -> dict[str, Any]:
    data = [
        {"object": "embedding", "embedding": payload, "index": index}
        for index, payload in enumerate(encode_vectors(result.embeddings, encoding_format))
    ]
    return {
        "object": "list",
        "data": data,
        "model": result.model,
        "usage": embed_usage(result),
        "id": f"infinity-{uuid.uuid4()}",
        "created": int(time.time()),
    }


async def embed(
    body: InfinityMediaRequest, modality: str, engine: Engine, settings: Settings
) -> dict[str, Any]:
    require_modality(engine, _model(body.model), modality)
    values = [body.input] if isinstance(body.input, str) else body.input
    if modality == "text":  # Infinity strips the whitespace around each text (INPUT_STRING)
        values = [value.strip() for value in values]
    items = modality_items(values, modality, settings)
    # Infinity's client sends dimensions=0 by default: the full size.
    dimensions = body.dimensions if isinstance(body, InfinityEmbeddingRequest) and body.dimensions else None
    result = await engine.embed(_model(body.model), items, EmbedOptions(dimensions=dimensions))
    return to_response(result, body.encoding_format)


def model_list(engine: Engine, created: int) -> dict[str, Any]:
    """Infinity's `OpenAIModelInfo`: each model's id, stats, backend and capabilities."""
    data = []
    for runner in engine.runners.values():
        spec = runner.spec
        data.append(
            {
                "id": spec.name,
                "object": "model",
                "owned_by": "omniembed",
                "created": created,
                "backend": "omniembed",
                "stats": {},
                "capabilities": [
                    "embed",
                    *(["image_embed"] if "image" in spec.modalities else []),
                    *(["audio_embed"] if "audio" in spec.modalities else []),
                ],
            }
        )
    return {"object": "list", "data": data}
