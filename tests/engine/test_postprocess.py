"""Normalization, Matryoshka truncation, fusion and encodings against numpy."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from omniembed.engine.postprocess import check_dimensions, finalize, fuse, to_base64
from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.models.base import ModelSpec

RNG = np.random.default_rng(0)
FIXED = ModelSpec(name="fixed", family="x", source="x", modalities=("text",), dimension=8)
MATRYOSHKA = ModelSpec(
    name="mrl", family="x", source="x", modalities=("text",), dimension=8, matryoshka_dims=(4, 8)
)


def test_finalize_normalizes_by_default_and_on_request():
    raw = RNG.normal(size=(3, 8)).astype(np.float32)
    np.testing.assert_allclose(
        np.linalg.norm(finalize(raw, FIXED, normalize=None, dimensions=None), axis=1), 1, atol=1e-6
    )
    np.testing.assert_array_equal(finalize(raw, FIXED, normalize=False, dimensions=None), raw)


def test_matryoshka_truncates_then_renormalizes():
    raw = RNG.normal(size=(2, 8)).astype(np.float32)
    out = finalize(raw, MATRYOSHKA, normalize=False, dimensions=4)
    expected = raw[:, :4] / np.linalg.norm(raw[:, :4], axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_dimension_guard():
    check_dimensions(FIXED, None)
    check_dimensions(FIXED, 8)
    with pytest.raises(CapabilityError):
        check_dimensions(FIXED, 4)
    check_dimensions(MATRYOSHKA, 5)
    with pytest.raises(InvalidInputError):
        check_dimensions(MATRYOSHKA, 2)
    with pytest.raises(InvalidInputError):
        check_dimensions(MATRYOSHKA, 16)


def test_fuse_is_weighted_normalized_mean():
    a, b = RNG.normal(size=8), RNG.normal(size=8)
    expected = 3 * a / np.linalg.norm(a) + 1 * b / np.linalg.norm(b)
    np.testing.assert_allclose(fuse([a, b], [3, 1]), expected / np.linalg.norm(expected), atol=1e-6)


def test_base64_is_little_endian_float32():
    vectors = RNG.normal(size=(2, 5)).astype(np.float32)
    for row, encoded in zip(vectors, to_base64(vectors), strict=True):
        np.testing.assert_array_equal(np.frombuffer(base64.b64decode(encoded), dtype="<f4"), row)


def numpy_reference(vectors: np.ndarray, kind: str) -> np.ndarray:
    """Independent reference of the documented quantization rules."""
    if kind == "int8":
        return np.array(
            [[max(-128, min(127, round(float(x) * 127))) for x in row] for row in vectors], dtype=np.int8
        )
    if kind == "uint8":
        return np.array(
            [[max(0, min(255, round(float(x) * 127) + 128)) for x in row] for row in vectors], dtype=np.uint8
        )
    rows = []
    for row in vectors:
        bits = [1 if x > 0 else 0 for x in row] + [0] * (-len(row) % 8)
        packed = [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8)]
        rows.append([b - 128 for b in packed] if kind == "binary" else packed)
    return np.array(rows, dtype=np.int8 if kind == "binary" else np.uint8)


@pytest.mark.parametrize("kind", ["int8", "uint8", "binary", "ubinary"])
@pytest.mark.parametrize("dimension", [8, 13, 384])
def test_quantized_outputs_match_numpy_reference(kind, dimension):
    from omniembed.engine.postprocess import l2_normalize, quantize

    vectors = l2_normalize(RNG.normal(size=(5, dimension)).astype(np.float32))
    vectors[0, 0] = 0.0  # zero is not positive: its sign bit is 0
    np.testing.assert_array_equal(quantize(vectors, kind), numpy_reference(vectors, kind))


def test_encode_vectors_types():
    from omniembed.engine.postprocess import encode_vectors

    vectors = RNG.normal(size=(2, 16)).astype(np.float32)
    assert len(encode_vectors(vectors, "binary")[0]) == 2
    assert isinstance(encode_vectors(vectors, "base64")[0], str)
    with pytest.raises(InvalidInputError):
        encode_vectors(vectors, "int4")
