"""Thumbnails stay within their documented bounds whatever the picture."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from omniembed.retrieval.thumbnails import MAX_THUMBNAIL_BYTES, THUMBNAIL_SIDE, render


def test_noise_is_bounded_in_size_and_bytes():
    noise = np.random.default_rng(0).integers(0, 256, (1500, 900, 3), dtype=np.uint8)
    jpeg = render(Image.fromarray(noise))
    assert jpeg is not None and len(jpeg) <= MAX_THUMBNAIL_BYTES
    assert Image.open(io.BytesIO(jpeg)).size == (154, THUMBNAIL_SIDE)  # aspect ratio kept


def test_small_and_transparent_images_are_not_enlarged():
    jpeg = render(Image.new("RGBA", (40, 20), (255, 0, 0, 128)))
    assert jpeg is not None and Image.open(io.BytesIO(jpeg)).size == (40, 20)
