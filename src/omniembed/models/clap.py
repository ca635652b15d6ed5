"""transformers `ClapModel` (LAION CLAP): texts and sounds in one space.

Texts go through the RoBERTa tokenizer and `get_text_features`. Sounds arrive resampled to the
feature extractor's rate (48 kHz) and are cut into windows of its length (10 s); each window goes
through `ClapFeatureExtractor` alone, with the checkpoint's own truncation and padding settings,
exactly as the processor would treat that window given by itself, then `get_audio_features`. The
engine averages a clip's windows weighted by their seconds.

A window is never longer than the extractor's length, so none of its random crops (`rand_trunc`,
or the three crops of `fusion`) ever happen. One quirk of `fusion` remains: when no clip of a
batch is longer than 10 s the extractor marks one at random as longer, which switches the fused
model's fusion branch on for it. A clip given alone is always that one, so every window carries
the flag the processor gives it alone: a vector never depends on what it was batched with.

`get_*_features` return L2-normalized vectors. Scores use `logit_scale_a`, the audio-text
temperature that `logits_per_audio` (zero-shot audio classification) is scaled by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from omniembed.errors import InvalidInputError
from omniembed.models.base import Adapter, AudioClip, AudioTower, ModelSpec, Window
from omniembed.models.declared import spec_facts
from omniembed.models.registry import LoadRequest
from omniembed.models.tokens import TokenWindows
from omniembed.models.torch_towers import (
    TorchTextTower,
    features_of,
    hf_load_kwargs,
    resolve_device,
    to_numpy,
    torch_dtype,
)


def load(request: LoadRequest) -> Adapter:
    from transformers import ClapModel, ClapProcessor

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    device = resolve_device(request.device)
    dtype = torch_dtype(request.precision, request.runtime)
    model = ClapModel.from_pretrained(request.source, dtype=dtype, **kwargs).eval().to(device)
    processor = ClapProcessor.from_pretrained(request.source, **kwargs)
    max_tokens = text_context(model.config.text_config, processor.tokenizer)
    # LAION trained CLAP's text tower on 77 tokens; the catalog says so where the config cannot.
    if request.entry is not None and request.entry.context_length:
        max_tokens = min(max_tokens, request.entry.context_length)
    text = TorchTextTower(
        TokenWindows(processor.tokenizer, max_tokens),
        lambda t: features_of(
            model.get_text_features(input_ids=t["input_ids"], attention_mask=t["attention_mask"])
        ),
        device,
    )
    audio = ClapAudioTower(processor.feature_extractor, model, device, dtype)
    dimension = int(model.config.projection_dim)
    entry = request.entry
    spec = ModelSpec(
        name=request.name,
        family="clap",
        source=request.source,
        modalities=("text", "audio"),
        dimension=dimension,
        max_text_tokens=max_tokens,
        normalize=True,
        **spec_facts(request, dimension).fields(),
        logit_scale=float(model.logit_scale_a.exp().item()),
        score_activation="softmax",
        description=entry.description if entry else "",
        aliases=request.aliases,
        audio_sample_rate=audio.sample_rate,
    )
    return Adapter(spec=spec, text=text, audio=audio, resources=[model])


def text_context(text_config: Any, tokenizer: Any) -> int:
    """RoBERTa numbers positions from pad_token_id + 1, so the table holds that many fewer tokens."""
    positions = int(text_config.max_position_embeddings) - int(text_config.pad_token_id or 0) - 1
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and 0 < declared < positions:
        return declared
    return positions


class ClapAudioTower(AudioTower):
    """Windows of the feature extractor's length → `get_audio_features`."""

    def __init__(self, extractor: Any, model: Any, device: torch.device, dtype: torch.dtype) -> None:
        self.extractor = extractor
        self.model = model
        self.device = device
        self.dtype = dtype
        self.sample_rate = int(extractor.sampling_rate)
        self.window_samples = int(extractor.nb_max_samples)

    def preprocess(self, clip: AudioClip) -> list[Window]:
        if clip.sample_rate != self.sample_rate:
            raise ValueError(f"CLAP takes {self.sample_rate} Hz audio, not {clip.sample_rate} Hz")
        samples = np.asarray(clip.samples, dtype=np.float32)
        if samples.size == 0:
            raise InvalidInputError("The audio has no samples.", param="input")
        windows = []
        for start in range(0, len(samples), self.window_samples):
            piece = samples[start : start + self.window_samples]
            features = self.extractor(piece, sampling_rate=self.sample_rate, return_tensors="np")
            feature = (
                np.asarray(features["input_features"][0], dtype=np.float32),
                bool(np.asarray(features["is_longer"]).reshape(-1)[0]),
            )
            windows.append(Window(feature=feature, weight=len(piece) / self.sample_rate))
        return windows

    def collate(self, features: Sequence[tuple[np.ndarray, bool]]) -> dict[str, np.ndarray]:
        return {
            "input_features": np.stack([mel for mel, _ in features]),
            "is_longer": np.array([[longer] for _, longer in features], dtype=bool),
        }

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        mels = torch.from_numpy(batch["input_features"]).to(self.device, dtype=self.dtype)
        longer = torch.from_numpy(batch["is_longer"]).to(self.device)
        with torch.inference_mode():
            return to_numpy(features_of(self.model.get_audio_features(input_features=mels, is_longer=longer)))
