"""The real-photo set the starter model's quality is measured and regression-tested on."""

from __future__ import annotations

import numpy as np
from PIL import Image

# (skimage image, description for text→image retrieval, zero-shot label)
PHOTOS: tuple[tuple[str, str, str], ...] = (
    ("chelsea", "a photo of a cat", "cat"),
    ("coffee", "a cup of coffee", "cup of coffee"),
    ("rocket", "a rocket launching into space", "rocket"),
    ("astronaut", "an astronaut in a space suit", "astronaut"),
    ("horse", "a horse", "horse"),
    ("stereo_motorcycle", "a motorcycle", "motorcycle"),
    ("camera", "a photographer with a camera on a tripod", "camera"),
    ("clock", "a clock on the wall", "clock"),
)
DISTRACTOR_LABELS = ("dog", "car", "airplane", "bird", "tree", "building", "pizza", "boat")
LABELS = tuple(label for _, _, label in PHOTOS) + DISTRACTOR_LABELS


def load(name: str) -> Image.Image:
    import skimage.data

    pixels = getattr(skimage.data, name)()
    if isinstance(pixels, tuple):  # stereo_motorcycle: (left, right, disparity)
        pixels = pixels[0]
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    return Image.fromarray(pixels).convert("RGB")
