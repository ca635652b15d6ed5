"""`POST /v1/embeddings/audio`: sounds → one vector each, in OpenAI's response shape. JSON (`input`:
base64, data URIs or http(s) URLs) or multipart (files in `file`, options as form fields)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.body import media_type, read_json, request_body, validate
from omniembed.api.errors import Request, error_responses
from omniembed.api.fields import Dimensions, Name, Text
from omniembed.api.inputs import AudioFormat, audio_item, check_count
from omniembed.api.modality import require_modality
from omniembed.api.multipart import MULTIPART_SCHEMA, read_upload
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.engine.items import EmbedOptions, EmbedResult, Item
from omniembed.engine.postprocess import encode_vectors
from omniembed.settings import Settings

router = APIRouter(tags=["audio"], responses=error_responses())


class AudioEmbeddingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 400 naming it
    model: Name | None = None
    normalize: bool | None = None
    dimensions: Dimensions | None = None
    input_type: Name | None = Field(default=None, description="prompt name, where the model has prompts")
    encoding_format: Literal["float", "base64", "int8", "uint8", "binary", "ubinary"] = "float"
    user: Text | None = None


class AudioEmbeddingRequest(AudioEmbeddingOptions):
    input: str | list[str] = Field(
        description="base64, data URIs (audio/wav, audio/mpeg, ...) or http(s) URLs"
    )
    format: AudioFormat | None = Field(
        default=None, description="the type of bare base64 (default: read off the bytes)"
    )


def _items(body: AudioEmbeddingRequest, settings: Settings) -> list[Item]:
    values = [body.input] if isinstance(body.input, str) else body.input
    check_count(len(values), settings, "input", as_invalid=True)
    return [audio_item(value, f"input[{i}]", body.format) for i, value in enumerate(values)]


def _response(result: EmbedResult, options: AudioEmbeddingOptions) -> dict[str, Any]:
    vectors = encode_vectors(result.embeddings, options.encoding_format)
    data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
    usage = {
        "prompt_tokens": result.prompt_tokens,
        "total_tokens": result.prompt_tokens,
        "audio_seconds": result.audio_seconds,
    }
    return {"object": "list", "data": data, "model": result.model, "usage": usage}


@router.post(
    "/v1/embeddings/audio", openapi_extra=request_body(AudioEmbeddingRequest, multipart=MULTIPART_SCHEMA)
)
async def embed_audio(request: Request) -> ORJSONResponse:
    """Embed sounds (WAV, FLAC, MP3, Ogg/Opus, M4A/AAC) with the model's audio tower."""
    svc = services(request)
    items: list[Item]
    options: AudioEmbeddingOptions
    if media_type(request) == "multipart/form-data":
        upload = await read_upload(request, svc.settings, allow_text=False, kind="audio")
        options = validate(upload.options, AudioEmbeddingOptions)
        items = upload.items
    else:
        body = await read_json(request, AudioEmbeddingRequest, strict_content_type=False)
        options, items = body, _items(body, svc.settings)
    require_modality(svc.engine, options.model, "audio")
    embed_options = EmbedOptions(
        normalize=options.normalize, dimensions=options.dimensions, input_type=options.input_type
    )
    result = await svc.engine.embed(options.model, items, embed_options)
    return ORJSONResponse(_response(result, options))
