"""The built-in calibration set for int8 post-training quantization: 8 photos (scikit-image's
public-domain/CC0 samples at 256 px) and 32 captions, queries and passages; and the probes its
accuracy is checked on: those plus mirrored photos and the one-token texts that int8 text towers
get most wrong (a lone token's activations are the least like the calibration set's averages)."""

from __future__ import annotations

import io
from importlib import resources

from PIL import Image


def images() -> list[Image.Image]:
    found = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".jpg"):
            found.append(Image.open(io.BytesIO(entry.read_bytes())).convert("RGB"))
    return found


def texts() -> list[str]:
    text = resources.files(__package__).joinpath("captions.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


SHORT_TEXTS = ["x", "?", "a", "the", "dog", "hi", "ok", "1", "hello world", "New York"]


def probe_images() -> list[Image.Image]:
    photos = images()
    return photos + [photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for photo in photos]


def probe_texts() -> list[str]:
    return SHORT_TEXTS + texts()
