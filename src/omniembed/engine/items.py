"""The neutral request every HTTP dialect, the Python API and the CLI translate into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from omniembed.media.payload import MediaReference
from omniembed.media.video import check_sampling
from omniembed.models.base import AudioClip, OutputKind, SparseVector, Truncation


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
class AudioInput:
    """Encoded bytes, a URL to fetch, or already-decoded samples (Python API)."""

    reference: MediaReference | None = None
    clip: AudioClip | None = None


Part = TextInput | ImageInput | VideoInput | AudioInput


@dataclass(frozen=True)
class InterleavedInput:
    """Several parts, in order, embedded as one item: one model input for a model that reads
    interleaved content (`interleaved: native`), else the normalized mean of the parts' vectors."""

    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class ChatInput:
    """A chat-style conversation (vLLM's `messages` body) embedded as one item: through the model's
    chat template when it has one, else as the interleaved parts of every message."""

    messages: tuple[Message, ...]


Item = TextInput | ImageInput | VideoInput | AudioInput | InterleavedInput | ChatInput


@dataclass(frozen=True)
class EmbedOptions:
    normalize: bool | None = None  # None: the model's default
    dimensions: int | None = None
    input_type: str | None = None
    truncation: Truncation = Truncation.END
    max_tokens: int | None = None  # a per-request context shorter than the model's
    add_special_tokens: bool = True  # vLLM's flag: False leaves out the tokenizer's special tokens
    output: OutputKind = "dense"  # multivector: a matrix per item; sparse: a SparseVector per item
    sparse_top_k: int | None = None  # keep the k largest weights of each sparse vector
    sparse_min_weight: float | None = None  # drop weights below this


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
    item_tokens: list[int] = field(default_factory=list)
    # The other output kinds (EmbedOptions.output); `embeddings` is then [n_items, 0].
    multivectors: list[np.ndarray] | None = None  # per item [n_tokens, dim] float32, tokens normalized
    sparse: list[SparseVector] | None = None  # per item: text tokens (all tokens, native)
    audio_seconds: float = 0.0
