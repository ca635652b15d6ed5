"""The neutral request every HTTP dialect, the Python API and the CLI translate into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from omniembed.media.payload import MediaReference
from omniembed.media.video import check_sampling
from omniembed.models.base import Truncation


@dataclass(frozen=True)
class TextInput:
    text: str


@dataclass(frozen=True)
class ImageInput:
    """Encoded bytes, a URL to fetch, or an already-decoded image (Python API)."""

    reference: MediaReference | None = None
    image: Image.Image | None = None


@dataclass(frozen=True)
class VideoOptions:
    num_frames: int | None = None
    fps: float | None = None
    pooling: Literal["mean", "none"] = "mean"

    def __post_init__(self) -> None:
        # Every caller (each dialect, multipart forms, the Python API) builds these: one check for all.
        check_sampling(self.num_frames, self.fps)


@dataclass(frozen=True)
class VideoInput:
    reference: MediaReference
    options: VideoOptions = field(default_factory=VideoOptions)


@dataclass(frozen=True)
class InterleavedInput:
    """Several parts fused into one vector (normalized mean of the normalized part vectors)."""

    parts: tuple[TextInput | ImageInput | VideoInput, ...]


Item = TextInput | ImageInput | VideoInput | InterleavedInput


@dataclass(frozen=True)
class EmbedOptions:
    normalize: bool | None = None  # None: the model's default
    dimensions: int | None = None
    input_type: str | None = None
    truncation: Truncation = Truncation.END
    max_tokens: int | None = None  # a per-request context shorter than the model's


@dataclass(frozen=True)
class FrameVectors:
    """Per-frame vectors of one video item (`pooling: none`)."""

    timestamps: list[float]
    vectors: np.ndarray


@dataclass
class EmbedResult:
    model: str
    embeddings: np.ndarray  # [n_items, dim] float32
    prompt_tokens: int = 0
    image_count: int = 0
    frames: dict[int, FrameVectors] = field(default_factory=dict)
