"""The adapter contract every model family implements.

A model is a `ModelSpec` (published facts) plus one tower per input modality. A tower has four
steps, each with its own place to run:

- `preprocess` (CPU threads, per request): tokenize texts or turn decoded images into pixels;
- `cost` (scheduler): how much of a batch budget one preprocessed item uses;
- `collate` (CPU thread, per batch): pad and stack features into arrays;
- `forward` (the model's device thread, per batch): arrays in, float32 `[n, dim]` numpy out.

Towers stay torch-free at this level, so alternative runtimes (ONNX Runtime, OpenVINO) replace only
`forward`, and the engine never imports torch.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from PIL import Image

Modality = Literal["text", "image"]
MatryoshkaRule = Literal["range", "listed", "any", "none"]


class Truncation(str, enum.Enum):
    """What to do with a text longer than the model's context."""

    END = "end"  # keep the beginning (drop the end)
    START = "start"  # keep the end (drop the beginning)
    NONE = "none"  # refuse
    CHUNK = "chunk"  # embed overlapping windows and average them, weighted by tokens


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    source: str
    modalities: tuple[Modality, ...]
    dimension: int
    max_text_tokens: int | None = None
    image_size: int | None = None
    normalize: bool = True
    matryoshka_dims: tuple[int, ...] = ()
    # range: any size from min(matryoshka_dims) up; listed: exactly those; any: 1 up; none: no truncation
    # (models/declared.py merges the catalog, model options and the model's own files into these).
    matryoshka_rule: MatryoshkaRule = "range"
    prompts: Mapping[str, str] = field(default_factory=dict)
    logit_scale: float | None = None
    logit_bias: float | None = None
    score_activation: Literal["softmax", "sigmoid"] | None = None
    description: str = ""
    aliases: tuple[str, ...] = ()
    runtime: str = "torch"
    precision: str = "fp32"

    @property
    def supports_video(self) -> bool:
        return "image" in self.modalities

    @property
    def matryoshka_range(self) -> tuple[int, int] | None:
        """The smallest and largest `dimensions` accepted; None when the model cannot be truncated."""
        if self.matryoshka_rule == "any":
            return 1, self.dimension
        if self.matryoshka_rule == "none" or not self.matryoshka_dims:
            return None
        return min(self.matryoshka_dims), self.dimension

    def capabilities(self) -> dict[str, Any]:
        return {
            "modalities": [*self.modalities, *(["video"] if self.supports_video else [])],
            "dimension": self.dimension,
            "max_text_tokens": self.max_text_tokens,
            "image_size": self.image_size,
            "matryoshka_dimensions": list(self.matryoshka_dims),
            "matryoshka_range": list(self.matryoshka_range) if self.matryoshka_range else None,
            "matryoshka_listed_only": self.matryoshka_rule == "listed" and self.matryoshka_range is not None,
            "normalize_default": self.normalize,
            "prompts": sorted(self.prompts),
            "logit_scale": self.logit_scale,
            "logit_bias": self.logit_bias,
            "score_activation": self.score_activation,
            "family": self.family,
            "runtime": self.runtime,
            "precision": self.precision,
        }


@dataclass(slots=True)
class TextFeature:
    """One tokenized window: ids include the model's special tokens."""

    ids: list[int]
    weight: int  # tokens of the text itself in this window, used to average chunks
    prompt_length: int = 0  # leading tokens that belong to the prompt (special tokens included)


@dataclass(frozen=True)
class ExportSpec:
    """What a runtime needs to export a tower's forward: a torch module taking `input_names` in
    order, example inputs, and which axes vary (batch, sequence)."""

    module: Any
    input_names: tuple[str, ...]
    example: dict[str, np.ndarray]
    dynamic_axes: dict[str, dict[int, str]]


class Tower(ABC):
    modality: ClassVar[Modality]
    # How many forward passes may run at once (OpenVINO streams); torch towers run one at a time.
    concurrency: int = 1

    def export_spec(self) -> ExportSpec | None:
        """How to export this tower for ONNX Runtime / OpenVINO; None if it cannot be."""
        return None

    @abstractmethod
    def cost(self, feature: Any) -> int: ...

    @abstractmethod
    def collate(self, features: Sequence[Any]) -> Any: ...

    @abstractmethod
    def forward(self, batch: Any) -> np.ndarray: ...


class TextTower(Tower):
    modality: ClassVar[Modality] = "text"
    max_tokens: int

    @abstractmethod
    def preprocess(
        self,
        texts: Sequence[str],
        truncation: Truncation,
        prompt: str | None = None,
        max_tokens: int | None = None,
    ) -> list[list[TextFeature]]:
        """Per text, one window (or several with `Truncation.CHUNK`), within `max_tokens` if given."""

    def cost(self, feature: TextFeature) -> int:
        return len(feature.ids)


class PixelPreprocessor(Protocol):
    """What an image tower needs from its pre-processing (ImagePreprocessor is the common one)."""

    @property
    def output_size(self) -> tuple[int, int]: ...

    def draft_request(self) -> tuple[int, int] | None: ...

    def __call__(self, image: Image.Image, fast: bool = False) -> Any: ...


class ImageTower(Tower):
    modality: ClassVar[Modality] = "image"
    preprocessor: PixelPreprocessor

    def preprocess(self, image: Image.Image, fast: bool = False) -> Any:
        """`fast` allows the documented approximations of the fast image path (see ImagePreprocessor)."""
        return self.preprocessor(image, fast=fast)

    def cost(self, feature: np.ndarray) -> int:
        return 1

    def collate(self, features: Sequence[Any]) -> Any:
        return np.stack(features)


@dataclass
class Adapter:
    """A loaded model: its spec and its towers."""

    spec: ModelSpec
    text: TextTower | None = None
    image: ImageTower | None = None
    resources: list[Any] = field(default_factory=list)

    def tower(self, modality: Modality) -> Tower | None:
        return self.text if modality == "text" else self.image

    def towers(self) -> dict[Modality, Tower]:
        found: dict[Modality, Tower] = {}
        if self.text is not None:
            found["text"] = self.text
        if self.image is not None:
            found["image"] = self.image
        return found
