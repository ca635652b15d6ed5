"""Helpers for comparing our vectors with the reference libraries' own outputs."""

from __future__ import annotations

import numpy as np


def normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def cosines(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return (normalized(ours) * normalized(reference)).sum(axis=-1)


def assert_parity(ours: np.ndarray, reference: np.ndarray, minimum: float = 0.9999) -> np.ndarray:
    assert ours.shape == reference.shape, (ours.shape, reference.shape)
    found = cosines(ours, reference)
    assert found.min() >= minimum, f"cosine {found.min():.6f} < {minimum} (all: {np.round(found, 6)})"
    return found
