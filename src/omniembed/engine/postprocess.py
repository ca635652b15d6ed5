"""Post-processing in one place: normalization, Matryoshka truncation, quantization, encodings."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.models.base import ModelSpec

EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def check_dimensions(spec: ModelSpec, dimensions: int | None) -> None:
    """vLLM's guard: only Matryoshka-trained models may be truncated, and only to sizes they allow
    (`ModelSpec.matryoshka_rule`: a range from the smallest trained size, exactly the listed sizes,
    or any size)."""
    if dimensions is None or dimensions == spec.dimension:
        return
    allowed = spec.matryoshka_range
    if allowed is None:
        raise CapabilityError(
            f"Model '{spec.name}' does not support Matryoshka representation; "
            f"'dimensions' must be omitted or equal {spec.dimension}.",
            param="dimensions",
        )
    if spec.matryoshka_rule == "listed":
        if dimensions not in spec.matryoshka_dims:
            sizes = ", ".join(map(str, sorted({*spec.matryoshka_dims, spec.dimension})))
            raise InvalidInputError(
                f"'dimensions' must be one of {sizes} for model '{spec.name}'.", param="dimensions"
            )
        return
    smallest, largest = allowed
    if not smallest <= dimensions <= largest:
        trained = (
            f" (trained sizes: {', '.join(map(str, spec.matryoshka_dims))})" if spec.matryoshka_dims else ""
        )
        raise InvalidInputError(
            f"'dimensions' must be between {smallest} and {largest} for model '{spec.name}'{trained}.",
            param="dimensions",
        )


def finalize(
    vectors: np.ndarray, spec: ModelSpec, *, normalize: bool | None, dimensions: int | None
) -> np.ndarray:
    """Raw model outputs → what the caller asked for. Truncated vectors are always renormalized."""
    output = np.ascontiguousarray(vectors, dtype=np.float32)
    truncated = dimensions is not None and dimensions < output.shape[-1]
    if truncated:
        output = output[..., :dimensions]
    if truncated or (spec.normalize if normalize is None else normalize):
        output = l2_normalize(output)
    return np.ascontiguousarray(output)


def fuse(vectors: Sequence[np.ndarray], weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted mean of L2-normalized vectors, renormalized: how parts, chunks and frames combine."""
    stacked = l2_normalize(np.stack([np.asarray(v, dtype=np.float32) for v in vectors]))
    if weights is None:
        mean = stacked.mean(axis=0)
    else:
        w = np.asarray(weights, dtype=np.float32)
        mean = (stacked * w[:, None]).sum(axis=0) / w.sum()
    return l2_normalize(mean[None, :])[0]


def to_bfloat16_bits(vectors: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bit patterns (uint16), rounding to nearest even as torch does."""
    bits = np.ascontiguousarray(vectors, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def to_base64(vectors: np.ndarray, dtype: str = "float32", endianness: str = "little") -> list[str]:
    """Each row as base64 of its raw values: little-endian float32 by default (OpenAI's
    `encoding_format=base64`); vLLM's `embed_dtype` and `endianness` choose others."""
    order = {"native": "=", "big": ">", "little": "<"}[endianness]
    if dtype == "bfloat16":
        raw = to_bfloat16_bits(vectors).astype(f"{order}u2")
    else:
        raw = np.ascontiguousarray(vectors, dtype=f"{order}{'f2' if dtype == 'float16' else 'f4'}")
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in raw]


def encode_vectors(vectors: np.ndarray, embedding_type: str) -> list[Any]:
    """Rows in one of EMBEDDING_TYPES: numpy rows (orjson writes them), base64 strings, or int rows."""
    if embedding_type == "float":
        return list(np.ascontiguousarray(vectors, dtype=np.float32))
    if embedding_type == "base64":
        return to_base64(vectors)
    return list(quantize(vectors, embedding_type))


def encode_matrices(
    matrices: Sequence[np.ndarray], encoding: str, dtype: str = "float32", endianness: str = "little"
) -> list[Any]:
    """Per item a matrix [n_tokens, dim] (multi-vector output): float rows; one base64 string of the
    whole matrix, row-major (vLLM's token_embed encoding: one string decodes and reshapes by the
    item's shape); or quantized rows, each token vector quantized (and bit-packed) on its own."""
    if encoding == "float":
        return [np.ascontiguousarray(matrix, dtype=np.float32) for matrix in matrices]
    if encoding == "base64":
        return [to_base64(np.reshape(matrix, (1, -1)), dtype, endianness)[0] for matrix in matrices]
    return [quantize(np.asarray(matrix, dtype=np.float32), encoding) for matrix in matrices]


def quantize(vectors: np.ndarray, embedding_type: str) -> np.ndarray:
    """Cohere-style quantized outputs of (normalized) float vectors.

    int8:    round(x * 127), clipped to [-128, 127]
    uint8:   round(x * 127) + 128, clipped to [0, 255]
    binary:  sign bits (1 where x > 0) packed 8 per byte, big-endian bit order, minus 128 → int8
    ubinary: the same packed bits as unsigned bytes (uint8)
    """
    if embedding_type == "int8":
        return np.clip(np.rint(vectors * 127.0), -128, 127).astype(np.int8)
    if embedding_type == "uint8":
        return np.clip(np.rint(vectors * 127.0) + 128, 0, 255).astype(np.uint8)
    if embedding_type in ("binary", "ubinary"):
        packed = np.packbits(vectors > 0, axis=-1)
        if embedding_type == "ubinary":
            return packed
        return (packed.astype(np.int16) - 128).astype(np.int8)
    raise InvalidInputError(f"Unknown embedding type '{embedding_type}'.", param="embedding_types")
