"""The built-in calibration set for int8 post-training quantization: 8 photos (scikit-image's
public-domain/CC0 samples at 256 px) and 32 captions, queries and passages."""

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
