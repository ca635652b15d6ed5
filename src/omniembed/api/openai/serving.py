"""Translate `/v1/embeddings` requests into the engine's neutral call and results back."""

from __future__ import annotations

from typing import Any

from omniembed.api.content import chat_item
from omniembed.api.modality import modality_items, require_modality
from omniembed.api.openai.outputs import other_rows, output_options
from omniembed.api.openai.protocol import EmbeddingRequest, EmbedFields
from omniembed.api.params import named_as
from omniembed.api.usage import embed_usage
from omniembed.engine import tokenize as engine_tokenize
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, EmbedResult, Item
from omniembed.engine.postprocess import encode_vectors, to_base64
from omniembed.errors import InvalidInputError
from omniembed.models.base import OutputKind, Truncation
from omniembed.settings import Settings

# The engine's names for what this route calls otherwise.
NAMES = {"max_tokens": "truncate_prompt_tokens"}


def to_items(body: EmbedFields, settings: Settings) -> list[Item]:
    """`input`: one item per entry; vLLM's `messages`: the whole conversation is one item."""
    if body.messages is not None and body.input is None:
        if body.modality not in (None, "text"):
            raise InvalidInputError("'modality' applies to 'input', not to 'messages'.", param="modality")
        return [chat_item(body.messages, settings)]
    if body.input is None or body.messages is not None:
        raise InvalidInputError("Send exactly one of 'input' or 'messages'.", param="input")
    raw = [body.input] if isinstance(body.input, str) else body.input
    return modality_items(raw, body.modality, settings)


def _check_chat_options(body: EmbedFields) -> None:
    """vLLM's chat and processor options, where they would change what the model reads: refused
    rather than ignored, as the model's own template and processor settings always apply."""
    if body.messages is not None and body.add_special_tokens:  # vLLM's default for chat: false
        raise InvalidInputError(
            "'add_special_tokens': true with 'messages' is not supported (the chat template adds the "
            "model's special tokens).",
            param="add_special_tokens",
        )
    for name in ("add_generation_prompt", "continue_final_message"):
        if getattr(body, name):
            raise InvalidInputError(f"'{name}': true is not supported.", param=name)
    for name in ("chat_template", "chat_template_kwargs", "mm_processor_kwargs"):
        if getattr(body, name):
            raise InvalidInputError(
                f"'{name}' is not supported: the model's own chat template and processor apply.", param=name
            )


def _normalize(body: EmbedFields) -> bool | None:
    if body.use_activation is not None and body.normalize not in (None, body.use_activation):
        raise InvalidInputError(
            "'use_activation' and 'normalize' disagree; send one.", param="use_activation"
        )
    return body.use_activation if body.use_activation is not None else body.normalize


def _truncation(body: EmbedFields) -> tuple[Truncation, int | None]:
    """vLLM's `truncate_prompt_tokens`: k keeps the last k tokens (the first with
    truncation_side='right'); -1 the model's whole context."""
    limit = body.truncate_prompt_tokens
    if limit is None:
        if body.truncation_side is not None:
            raise InvalidInputError(
                "'truncation_side' needs 'truncate_prompt_tokens'.", param="truncation_side"
            )
        return Truncation(body.truncation), None
    if "truncation" in body.model_fields_set:
        raise InvalidInputError(
            "Send either 'truncation' or 'truncate_prompt_tokens', not both.", param="truncate_prompt_tokens"
        )
    if limit == 0:
        raise InvalidInputError(
            "'truncate_prompt_tokens' must be -1 or at least 1.", param="truncate_prompt_tokens"
        )
    side = Truncation.END if body.truncation_side == "right" else Truncation.START
    return side, (None if limit == -1 else limit)


def to_options(body: EmbedFields, output: OutputKind = "dense") -> EmbedOptions:
    """`output`: what the route asks for (`/pooling`'s task); `/v1/embeddings` says it in the body."""
    _check_chat_options(body)
    for name, default in (("embed_dtype", "float32"), ("endianness", "native")):
        if body.encoding_format != "base64" and getattr(body, name) != default:
            raise InvalidInputError(f"'{name}' applies only to encoding_format 'base64'.", param=name)
    truncation, max_tokens = _truncation(body)
    return EmbedOptions(
        normalize=_normalize(body),
        dimensions=body.dimensions,
        input_type=body.input_type,
        truncation=truncation,
        max_tokens=max_tokens,
        add_special_tokens=body.messages is not None or body.add_special_tokens is not False,
        **(output_options(body) if isinstance(body, EmbeddingRequest) else {"output": output}),
    )


def _encode(vectors: Any, body: EmbeddingRequest) -> list[Any]:
    if body.encoding_format == "base64":
        return to_base64(vectors, body.embed_dtype, body.endianness)
    return encode_vectors(vectors, body.encoding_format)


def to_response(
    result: EmbedResult, body: EmbeddingRequest, tokens: list[list[str]] | None = None
) -> dict[str, Any]:
    """`tokens`: the sparse indices' token strings, when asked for (see `respond`)."""
    rows = other_rows(result, body, tokens)
    if rows is not None:
        return {"object": "list", "data": rows, "model": result.model, "usage": embed_usage(result)}
    data: list[dict[str, Any]] = []
    for index, payload in enumerate(_encode(result.embeddings, body)):
        row: dict[str, Any] = {"object": "embedding", "index": index, "embedding": payload}
        frames = result.frames.get(index)
        if frames is not None:
            encoded = _encode(frames.vectors, body)
            row["frames"] = [
                {"timestamp": stamp, "embedding": vector}
                for stamp, vector in zip(frames.timestamps, encoded, strict=True)
            ]
        data.append(row)
    return {"object": "list", "data": data, "model": result.model, "usage": embed_usage(result)}


def check_truncation_limit(body: EmbedFields, engine: Engine) -> None:
    """vLLM refuses a `truncate_prompt_tokens` above the model's context rather than clamping it."""
    limit = body.truncate_prompt_tokens
    if limit is None or limit <= 0:
        return
    context = engine.runner(body.model).spec.max_text_tokens
    if context is not None and limit > context:
        raise InvalidInputError(
            f"'truncate_prompt_tokens' ({limit}) is greater than the model's context ({context}); "
            "request a smaller truncation size.",
            param="truncate_prompt_tokens",
        )


async def create_embeddings(body: EmbeddingRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    check_truncation_limit(body, engine)
    require_modality(engine, body.model, body.modality)
    with named_as(NAMES):
        result = await engine.embed(body.model, to_items(body, settings), to_options(body))
    return await respond(result, body, engine)


async def respond(result: EmbedResult, body: EmbeddingRequest, engine: Engine) -> dict[str, Any]:
    """The response body, with the sparse indices' tokens decoded first where asked for."""
    tokens = None
    if body.return_tokens and result.sparse is not None:
        indices = [vector.indices.tolist() for vector in result.sparse]
        tokens = await engine_tokenize.vocabulary_tokens(engine, result.model, indices)
    return to_response(result, body, tokens)
