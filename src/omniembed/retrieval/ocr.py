"""OCR for screenshots and scanned text, with rapidocr-onnxruntime (its wheel ships the models)."""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np
from PIL import Image

from omniembed.errors import ConfigurationError

_LOCK = threading.Lock()


@functools.cache
def _engine() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as error:
        raise ConfigurationError(
            "OCR needs rapidocr-onnxruntime (pip install 'omniembed[retrieval]')."
        ) from error
    return RapidOCR()


def available() -> bool:
    try:
        _engine()
    except ConfigurationError:
        return False
    return True


def read_text(image: Image.Image) -> str:
    """All text lines found in the image, in reading order, joined by newlines."""
    engine = _engine()
    with _LOCK:  # one ONNX session; serialize rather than oversubscribe two cores
        result, _ = engine(np.asarray(image.convert("RGB")))
    if not result:
        return ""
    lines = sorted(result, key=lambda entry: (round(entry[0][0][1] / 10), entry[0][0][0]))
    return "\n".join(str(entry[1]) for entry in lines)
