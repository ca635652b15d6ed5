"""Any sentence-transformers model whose input module reads more than text: VLM embedders
(Qwen3-VL-Embedding and kin), CLIP-style models saved for sentence-transformers, audio models.

One `FusedTower` does the work. Each item is pre-processed alone, by the model's own `preprocess`
(its processor, its chat template, its prompts as sentence-transformers applies them), on a CPU
thread; the batcher then joins items from many requests into one forward of the model's own module
stack (pooling, dense layers, normalization). Joining is what a processor does for a batch: sequence
tensors are padded on the tokenizer's side, patch and feature tensors are concatenated, so one
forward over the joined items equals `SentenceTransformer.encode` over the same items.

A model whose input module accepts the `message` modality reads an item of several parts (text,
images, video, audio, in order) as one conversation: one model input, one vector
(`interleaved: native`). Other multimodal models take one part per input and an item of several parts
is the normalized mean of its parts (`interleaved: mean`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from omniembed.errors import CapabilityError, InputTooLongError, InvalidInputError
from omniembed.models.base import (
    AudioClip,
    FusedTower,
    ModelPart,
    PartKind,
    Task,
    Truncation,
    Turn,
    VideoClip,
)
from omniembed.models.torch_towers import to_numpy

SEQUENCE_PAD_KEYS = ("input_ids",)  # padded with the tokenizer's pad id; other sequence tensors with 0
PART_KINDS: tuple[PartKind, ...] = ("text", "image", "video", "audio")
PER_SAMPLE_KEYS = ("num_images_per_sample", "num_videos_per_sample")


def part_kind(part: ModelPart) -> PartKind:
    if isinstance(part, str):
        return "text"
    if isinstance(part, Image.Image):
        return "image"
    if isinstance(part, VideoClip):
        return "video"
    return "audio"


def video_input(clip: VideoClip) -> dict[str, Any]:
    """Frames sampled by omniembed's decoder, with metadata saying so: the processor keeps them all
    (no second sampling) and reads their timestamps from the sampling rate."""
    count = len(clip.frames)
    duration = clip.timestamps[-1] + 1 / clip.fps if clip.timestamps else 0.0
    metadata = {
        "fps": clip.fps,
        "total_num_frames": count,
        "duration": duration,
        "frames_indices": list(range(count)),
    }
    return {"array": np.stack([np.asarray(frame) for frame in clip.frames]), "video_metadata": metadata}


def audio_input(clip: AudioClip) -> dict[str, Any]:
    return {"array": clip.samples, "sampling_rate": clip.sample_rate}


def single_input(part: ModelPart) -> Any:
    """A part as sentence-transformers takes it on its own."""
    if isinstance(part, VideoClip):
        return video_input(part)
    if isinstance(part, AudioClip):
        return audio_input(part)
    return part


def message_part(part: ModelPart) -> dict[str, Any]:
    kind = part_kind(part)
    return {"type": kind, kind: single_input(part)}


def message_input(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    return [{"role": turn.role, "content": [message_part(part) for part in turn.parts]} for turn in turns]


UNSET_LENGTH = 1_000_000  # tokenizers without a length say 1e30


def context_length(model: Any) -> int:
    """The model's own limit: its sentence-transformers max_seq_length, else its tokenizer's, else
    its text model's positions."""
    for length in (model.max_seq_length, getattr(model.tokenizer, "model_max_length", None)):
        if length and length < UNSET_LENGTH:
            return int(length)
    config = getattr(model[0], "config", None)
    text_config = getattr(config, "text_config", config)
    return int(getattr(text_config, "max_position_embeddings", None) or 8192)


TASK_KEY = "omniembed_task"  # the task a feature was preprocessed for, kept out of the model's inputs


def join_features(
    features: Sequence[dict[str, Any]], lengths: Sequence[int], pad_id: int, pad_left: bool
) -> dict[str, Any]:
    """Join single-item processor outputs as the processor joins a batch: sequence tensors (`[1, L]`,
    L the item's length) padded on the tokenizer's side, input ids with the pad id, others with 0;
    every other tensor concatenated on its first axis, its other axes zero-padded to the largest
    (per-image patch tensors padded to the batch's most patches, as ColQwen2's and Idefics3's
    processors do); non-tensor values taken from the first feature."""
    if len(features) == 1:
        return dict(features[0])
    longest = max(lengths)
    joined: dict[str, Any] = {}
    # Every key any feature has: a text item has no pixels, an image item does, whatever comes first.
    for key in dict.fromkeys(key for feature in features for key in feature):
        sized = zip(features, lengths, strict=True)
        present = [(feature[key], length) for feature, length in sized if key in feature]
        first, first_length = present[0]
        values = [value for value, _ in present]
        if not isinstance(first, torch.Tensor):
            joined[key] = min(values) if key == "prompt_length" else first
        elif first.dim() == 2 and first.shape == (1, first_length):
            pad = pad_id if key in SEQUENCE_PAD_KEYS else 0
            rows = [
                feature.get(key, torch.zeros((1, n), dtype=first.dtype))
                for feature, n in zip(features, lengths, strict=True)
            ]
            joined[key] = torch.cat([_pad_sequence(row, longest, pad, pad_left) for row in rows])
        elif key in PER_SAMPLE_KEYS:  # one count per item: an item without images has 0
            joined[key] = torch.cat([feature.get(key, torch.zeros_like(first)) for feature in features])
        else:
            joined[key] = torch.cat(_fit(values))
    return joined


def _pad_sequence(tensor: torch.Tensor, length: int, value: int, pad_left: bool) -> torch.Tensor:
    missing = length - tensor.shape[1]
    if missing == 0:
        return tensor
    filler = torch.full((1, missing), value, dtype=tensor.dtype)
    return torch.cat([filler, tensor] if pad_left else [tensor, filler], dim=1)


def _fit(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Tensors zero-padded at the end of every axis but the first to the largest size there."""
    shapes = {tuple(tensor.shape[1:]) for tensor in tensors}
    if len(shapes) == 1:
        return list(tensors)
    target = [max(sizes) for sizes in zip(*shapes, strict=True)]
    fitted = []
    for tensor in tensors:
        padding: list[int] = []
        for size, wanted in zip(reversed(tensor.shape[1:]), reversed(target), strict=True):
            padding += [0, wanted - size]
        fitted.append(torch.nn.functional.pad(tensor, padding))
    return fitted


class SentenceFusedTower(FusedTower):
    def __init__(self, model: Any, device: torch.device, dimension: int | None) -> None:
        self.model = model
        self.device = device
        self.dimension = dimension  # a truncate_dim applied to what forward returns
        modalities = set(model.modalities)
        self.native = "message" in modalities
        self.accepts = frozenset(kind for kind in PART_KINDS if kind in modalities)
        tokenizer = model.tokenizer
        self.max_tokens = context_length(model)
        self.pad_id = int(getattr(tokenizer, "pad_token_id", None) or 0)
        self.pad_left = getattr(tokenizer, "padding_side", "right") == "left"

    @property
    def modalities(self) -> tuple[PartKind, ...]:
        """The part kinds the model reads, in the order ModelSpec lists them."""
        return tuple(kind for kind in PART_KINDS if kind in self.accepts)

    def model_input(self, parts: Sequence[ModelPart] | Sequence[Turn]) -> Any:
        if parts and isinstance(parts[0], Turn):
            return message_input(parts)  # type: ignore[arg-type]
        if len(parts) == 1:
            return single_input(parts[0])  # type: ignore[arg-type]
        return message_input([Turn("user", tuple(parts))])  # type: ignore[arg-type]

    def preprocess(
        self,
        parts: Sequence[ModelPart] | Sequence[Turn],
        prompt: str | None = None,
        truncation: Truncation = Truncation.END,
        max_tokens: int | None = None,
        task: Task | None = None,
    ) -> dict[str, Any]:
        if truncation not in (Truncation.END, Truncation.NONE):
            raise CapabilityError(
                f"truncation '{truncation.value}' is not available for a model that reads interleaved "
                "inputs; use 'end' or 'none'.",
                param="truncation",
            )
        limit = min(max_tokens or self.task_length(task), self.task_length(task))
        # 'none' reads the whole input to measure it, then refuses what is over the limit.
        text: dict[str, Any] = (
            {"truncation": False} if truncation is Truncation.NONE else self.text_length(limit, task)
        )
        try:
            features: dict[str, Any] = self.model.preprocess(
                [self.model_input(parts)],
                prompt=self.task_prompt(prompt, task),
                processing_kwargs={"text": text},
                **self.task_kwargs(task),
            )
        except (ValueError, TypeError) as error:
            # The processor's own checks (visual tokens cut by max_tokens, a video too short for its
            # temporal patches, a malformed conversation) are the caller's input, not a server fault.
            raise InvalidInputError(
                f"The model's processor refused the input: {error}", param="input"
            ) from error
        if truncation is Truncation.NONE and self.tokens(features) > limit:
            raise InputTooLongError(
                f"The input is {self.tokens(features)} tokens; the model reads at most {limit} "
                "(truncation 'none' refuses longer inputs).",
                param="input",
            )
        return features

    # Hooks for models that treat queries and documents differently (sentence_multivector.py); a plain
    # SentenceTransformer reads both the same way.
    def task_length(self, task: Task | None) -> int:
        """The most tokens an input of this task is read to."""
        return self.max_tokens

    def text_length(self, limit: int, task: Task | None) -> dict[str, Any]:
        return {"max_length": limit}

    def task_prompt(self, prompt: str | None, task: Task | None) -> str | None:
        return prompt

    def task_kwargs(self, task: Task | None) -> dict[str, Any]:
        return {}

    def tokens(self, feature: dict[str, Any]) -> int:
        ids = feature.get("input_ids")
        return int(ids.shape[-1]) if isinstance(ids, torch.Tensor) else 1

    def collate(self, features: Sequence[dict[str, Any]]) -> list[tuple[list[int], dict[str, Any]]]:
        """Features grouped by the input module's modality (its forward branches on it) and by task,
        each group joined into one batch; forward returns the rows in the features' order."""
        groups: dict[tuple[str, Any], list[int]] = {}
        for index, feature in enumerate(features):
            groups.setdefault((str(feature.get("modality")), feature.get(TASK_KEY)), []).append(index)
        return [(indices, self._join([features[i] for i in indices])) for indices in groups.values()]

    def _join(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return join_features(features, [self.tokens(f) for f in features], self.pad_id, self.pad_left)

    def _model_inputs(self, joined: dict[str, Any]) -> tuple[dict[str, Any], Task | None]:
        """The joined batch on the device, and the task its features were preprocessed for."""
        task = joined.get(TASK_KEY)
        tensors = {
            key: value.to(self.device) if isinstance(value, torch.Tensor) else value
            for key, value in joined.items()
            if key != TASK_KEY
        }
        return tensors, task

    def forward(self, batch: list[tuple[list[int], dict[str, Any]]]) -> np.ndarray:
        count = sum(len(indices) for indices, _ in batch)
        rows: np.ndarray | None = None
        for indices, joined in batch:
            tensors, _ = self._model_inputs(joined)
            with torch.inference_mode():
                embedding = self.model.forward(tensors)["sentence_embedding"]
            if self.dimension is not None:
                embedding = embedding[..., : self.dimension]
            vectors = to_numpy(embedding)
            if rows is None:
                rows = np.empty((count, vectors.shape[-1]), dtype=np.float32)
            rows[indices] = vectors
        assert rows is not None
        return rows
