"""The adapter contract every model family implements.

A model is a `ModelSpec` (published facts) plus its towers. An item is an ordered list of parts
(text, image, video, audio); a tower takes one feature built from some of those parts:

- a two-tower family (CLIP, SigLIP, CLAP, text embedders) has one tower per part kind: each part of
  an item becomes its own feature (a long text or a long clip several windows, a video one feature
  per sampled frame) and the item's vector is the normalized mean of its parts' vectors
  (`interleaved: "mean"`);
- a model that reads interleaved content itself (VLM embedders) has one `FusedTower` taking all of
  an item's parts, in order, as one feature: one forward per item (`interleaved: "native"`).

A tower has four steps, each with its own place to run:

- `preprocess` (CPU threads, per request): tokenize texts, turn decoded images into pixels, audio
  into the model's features, or run a processor over an item's parts;
- `cost` (scheduler): how much of a batch budget one preprocessed feature uses (real tokens);
- `collate` (CPU thread, per batch): pad and stack features into arrays;
- `forward` (the model's device thread, per batch): one output row per feature. The row's kind is
  the spec's `output`: a float32 vector for `dense` (forward may return a `[n, dim]` array); the
  late-interaction and sparse kinds return one matrix or one sparse vector per row.

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

Modality = Literal["text", "image", "audio"]  # what a per-kind tower embeds
TowerKind = Literal["text", "image", "audio", "fused"]
PartKind = Literal["text", "image", "video", "audio"]  # what an item's parts can be
# dense: one vector per item; multivector: one matrix per item (a vector per token or patch, compared
# by MaxSim); sparse: one SparseVector per item over the model's vocabulary (learned sparse, SPLADE);
# score: one relevance score per (query, document) pair (cross-encoder rerankers).
OutputKind = Literal["dense", "multivector", "sparse", "score"]
Task = Literal["query", "document"]  # the side of retrieval an input is on, for asymmetric models
Interleaving = Literal["native", "mean"]
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
    modalities: tuple[PartKind, ...]
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
    interleaved: Interleaving = "mean"
    output: OutputKind = "dense"  # what forward's rows are
    # A multi-vector model that also defines one vector per item (e.g. a pooled token), given to
    # requests that do not ask for multi-vectors; None: such requests are refused.
    pooling: Literal["mean"] | None = None
    audio_sample_rate: int | None = None

    @property
    def supports_video(self) -> bool:
        """Video is sampled frames: any model that embeds images embeds them."""
        return "video" in self.modalities or "image" in self.modalities

    @property
    def matryoshka_range(self) -> tuple[int, int] | None:
        """The smallest and largest `dimensions` accepted; None when the model cannot be truncated."""
        if self.matryoshka_rule == "any":
            return 1, self.dimension
        if self.matryoshka_rule == "none" or not self.matryoshka_dims:
            return None
        return min(self.matryoshka_dims), self.dimension

    @property
    def tasks(self) -> list[str]:
        """What the model can be asked for: embed (one vector), token_embed, embed_sparse, rerank,
        score (query x document matrices) and classify (zero-shot labels)."""
        by_output = {
            "dense": ["embed", "score", "classify"],
            "multivector": ["token_embed", "rerank", "score", *(["embed"] if self.pooling else [])],
            "sparse": ["embed_sparse", "score"],
            "score": ["rerank"],
        }
        return by_output[self.output]

    def capabilities(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "modalities": list(
                dict.fromkeys([*self.modalities, *(["video"] if self.supports_video else [])])
            ),
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
            "interleaved": self.interleaved,
            "output": self.output,
            "pooled_output": self.pooling,
            "audio_sample_rate": self.audio_sample_rate,
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


@dataclass(frozen=True)
class AudioClip:
    """Decoded sound: mono float32 samples in [-1, 1] at `sample_rate` (media/audio.py)."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class VideoClip:
    """Sampled frames of a video with their timestamps, for towers that read a video as a whole."""

    frames: list[Image.Image]
    timestamps: list[float]
    fps: float  # the sampling rate of `frames`


ModelPart = str | Image.Image | VideoClip | AudioClip


@dataclass(frozen=True)
class SparseVector:
    """A learned-sparse vector: vocabulary ids (ascending) and their weights."""

    indices: np.ndarray  # int64
    values: np.ndarray  # float32
    dimension: int  # the vocabulary size


@dataclass(frozen=True)
class Turn:
    """One message of a conversation item (chat-style input): its role and its parts, in order."""

    role: str
    parts: tuple[ModelPart, ...]


@dataclass(slots=True)
class Window:
    """One window of a long input (an audio clip cut to the model's length): its feature, and its
    share of the whole, used to average the windows' vectors."""

    feature: Any
    weight: float


class Tower(ABC):
    modality: ClassVar[TowerKind]
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
    def forward(self, batch: Any) -> Any:
        """One row per feature: a `[n, dim]` array for dense output, else a list of matrices or
        SparseVectors (`ModelSpec.output`)."""


class TextTower(Tower):
    modality: ClassVar[TowerKind] = "text"
    max_tokens: int

    @abstractmethod
    def preprocess(
        self,
        texts: Sequence[str],
        truncation: Truncation,
        prompt: str | None = None,
        max_tokens: int | None = None,
        add_special_tokens: bool = True,
    ) -> list[list[TextFeature]]:
        """Per text, one window (or several with `Truncation.CHUNK`), within `max_tokens` if given;
        wrapped in the model's special tokens unless `add_special_tokens` is False."""

    def cost(self, feature: TextFeature) -> int:
        return len(feature.ids)


class PixelPreprocessor(Protocol):
    """What an image tower needs from its pre-processing (ImagePreprocessor is the common one)."""

    @property
    def output_size(self) -> tuple[int, int]: ...

    def draft_request(self) -> tuple[int, int] | None: ...

    def __call__(self, image: Image.Image, fast: bool = False) -> Any: ...


class ImageTower(Tower):
    modality: ClassVar[TowerKind] = "image"
    preprocessor: PixelPreprocessor

    def preprocess(self, image: Image.Image, fast: bool = False) -> Any:
        """`fast` allows the documented approximations of the fast image path (see ImagePreprocessor)."""
        return self.preprocessor(image, fast=fast)

    def cost(self, feature: np.ndarray) -> int:
        return 1

    def collate(self, features: Sequence[Any]) -> Any:
        return np.stack(features)


class AudioTower(Tower):
    modality: ClassVar[TowerKind] = "audio"
    sample_rate: int  # clips are resampled to this rate before `preprocess`

    @abstractmethod
    def preprocess(self, clip: AudioClip) -> list[Window]:
        """One window per model-sized stretch of the clip (one for a short clip)."""

    def cost(self, feature: Any) -> int:
        return 1

    def collate(self, features: Sequence[Any]) -> Any:
        return np.stack(features)


class FusedTower(Tower):
    """A model that reads an item's parts together, in order, in one forward (VLM embedders)."""

    modality: ClassVar[TowerKind] = "fused"
    accepts: frozenset[PartKind]
    max_tokens: int

    @abstractmethod
    def preprocess(
        self,
        parts: Sequence[ModelPart] | Sequence[Turn],
        prompt: str | None = None,
        truncation: Truncation = Truncation.END,
        max_tokens: int | None = None,
        task: Task | None = None,
    ) -> Any:
        """One feature for the whole item (its parts, or its turns), through the model's own processor.
        `task` is the retrieval side (from the request's input_type) for models that treat queries
        and documents differently (late-interaction and sparse models)."""

    @abstractmethod
    def tokens(self, feature: Any) -> int:
        """The feature's real sequence length: text plus visual and audio tokens."""

    def cost(self, feature: Any) -> int:
        return self.tokens(feature)


@dataclass
class Adapter:
    """A loaded model: its spec and its towers (per part kind, or one fused tower)."""

    spec: ModelSpec
    text: TextTower | None = None
    image: ImageTower | None = None
    audio: AudioTower | None = None
    fused: FusedTower | None = None
    resources: list[Any] = field(default_factory=list)

    def tower(self, kind: TowerKind) -> Tower | None:
        found: Tower | None = getattr(self, kind)
        return found

    def towers(self) -> dict[TowerKind, Tower]:
        kinds: tuple[TowerKind, ...] = ("text", "image", "audio", "fused")
        return {kind: tower for kind in kinds if (tower := self.tower(kind)) is not None}
