"""`/v1/embeddings` for models whose output is not one vector per item: a late-interaction model's
matrix of token vectors (Jina's `return_multivector`) and a learned-sparse model's `{indices, values}`
(`output: "sparse"`). Which kind a model gives, and the 400 for the wrong kind, are the engine's."""

from __future__ import annotations

from typing import Any

from omniembed.api.openai.protocol import EmbeddingRequest
from omniembed.engine.items import EmbedResult
from omniembed.engine.postprocess import encode_matrices
from omniembed.errors import InvalidInputError
from omniembed.models.base import OutputKind


def output_kind(body: EmbeddingRequest) -> OutputKind:
    kind: OutputKind = body.output or ("multivector" if body.return_multivector else "dense")
    if body.return_multivector is not None and body.return_multivector != (kind == "multivector"):
        raise InvalidInputError(
            f"'return_multivector': {str(body.return_multivector).lower()} contradicts "
            f"'output': '{body.output}'; send one.",
            param="return_multivector",
        )
    return kind


def output_options(body: EmbeddingRequest) -> dict[str, Any]:
    """The EmbedOptions fields of the output kind; options of another kind are refused, not ignored."""
    kind = output_kind(body)
    if kind != "sparse":
        for name in ("sparse_top_k", "sparse_min_weight"):
            if getattr(body, name) is not None:
                raise InvalidInputError(f"'{name}' applies only to 'output': 'sparse'.", param=name)
        if body.return_tokens:
            raise InvalidInputError(
                "'return_tokens' applies only to 'output': 'sparse'.", param="return_tokens"
            )
    elif body.encoding_format != "float":
        # The openai SDK sends base64 unless told otherwise: say what to send.
        raise InvalidInputError(
            "Sparse output is indices with float values: send 'encoding_format': 'float'.",
            param="encoding_format",
        )
    return {
        "output": kind,
        "sparse_top_k": body.sparse_top_k,
        "sparse_min_weight": body.sparse_min_weight,
    }


def other_rows(
    result: EmbedResult, body: EmbeddingRequest, tokens: list[list[str]] | None
) -> list[dict[str, Any]] | None:
    """The `data` rows of multi-vector or sparse output; None for one vector per item."""
    if result.multivectors is not None:
        matrices = result.multivectors
        encoded = encode_matrices(matrices, body.encoding_format, body.embed_dtype, body.endianness)
        return [
            {"object": "embedding", "index": index, "embedding": payload, "shape": list(matrix.shape)}
            for index, (matrix, payload) in enumerate(zip(matrices, encoded, strict=True))
        ]
    if result.sparse is not None:
        rows = []
        for index, vector in enumerate(result.sparse):
            sparse: dict[str, Any] = {"indices": vector.indices, "values": vector.values}
            if tokens is not None:
                sparse["tokens"] = tokens[index]
            rows.append({"object": "embedding", "index": index, "embedding": sparse})
        return rows
    return None
