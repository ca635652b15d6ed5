"""SigLIP (`SiglipModel`, incl. fixed-resolution SigLIP 2 checkpoints) and SigLIP 2 NaFlex (`Siglip2Model`).

Texts are always padded to the model's text length (64) with the pad token and fed without an
attention mask, exactly as the reference processor and training did: the text tower pools the
last position, so SigLIP embeddings depend on that padding. Scores are sigmoid-calibrated with
the trained `logit_scale` and `logit_bias`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from omniembed.models.base import Adapter, ImageTower
from omniembed.models.clip import build_dual_encoder
from omniembed.models.image_processing import ImagePreprocessor, resize_backend_of, resize_rgb
from omniembed.models.registry import LoadRequest
from omniembed.models.torch_towers import features_of, hf_load_kwargs, resolve_device, to_numpy, torch_dtype


def load(request: LoadRequest) -> Adapter:
    from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    config = AutoConfig.from_pretrained(request.source, **kwargs)
    device = resolve_device(request.device)
    dtype = torch_dtype(request.precision, request.runtime)
    tokenizer = AutoTokenizer.from_pretrained(request.source, **kwargs)
    processor = AutoImageProcessor.from_pretrained(request.source, **kwargs)
    from transformers import Siglip2Model, SiglipModel

    model_class: Any = Siglip2Model if config.model_type == "siglip2" else SiglipModel
    model = model_class.from_pretrained(request.source, dtype=dtype, **kwargs).eval().to(device)
    text_config = model.config.text_config
    image_tower = None
    if config.model_type == "siglip2":
        image_tower = NaflexImageTower(NaflexPreprocessor.from_hf(processor), model, device, dtype)
    return build_dual_encoder(
        request,
        model,
        tokenizer,
        processor,
        family="siglip",
        text_encoder=lambda t: features_of(model.get_text_features(input_ids=t["input_ids"])),
        image_encoder=lambda t: features_of(model.get_image_features(pixel_values=t["pixel_values"])),
        max_text_tokens=int(text_config.max_position_embeddings),
        device=device,
        dtype=dtype,
        pad_to_max_length=True,
        text_inputs=("input_ids",),
        dimension=int(getattr(text_config, "projection_size", None) or text_config.hidden_size),
        image_tower=image_tower,
    )


@dataclass(frozen=True)
class NaflexPreprocessor:
    """SigLIP 2 NaFlex: resize keeping the aspect ratio to at most `max_patches` patches, then patchify."""

    patch_size: int = 16
    max_patches: int = 256
    resample: int = Image.Resampling.BILINEAR
    rescale_factor: float = 1 / 255
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    resize_backend: str = "pil"  # "torch" for transformers' torchvision backend (see image_processing)

    @classmethod
    def from_hf(cls, processor: Any) -> NaflexPreprocessor:
        return cls(
            patch_size=int(processor.patch_size),
            max_patches=int(processor.max_num_patches),
            resample=int(processor.resample),
            rescale_factor=float(processor.rescale_factor),
            mean=tuple(float(v) for v in processor.image_mean),  # type: ignore[arg-type]
            std=tuple(float(v) for v in processor.image_std),  # type: ignore[arg-type]
            resize_backend=resize_backend_of(processor),
        )

    @property
    def output_size(self) -> tuple[int, int]:
        side = int(math.sqrt(self.max_patches)) * self.patch_size
        return (side, side)

    def draft_request(self) -> tuple[int, int] | None:
        side = self.output_size[0]
        return (2 * side, 2 * side)

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """The reference's binary search for the largest scale that fits `max_patches`."""

        def scaled(scale: float, size: int) -> int:
            return max(self.patch_size, math.ceil(size * scale / self.patch_size) * self.patch_size)

        low, high = 1e-6, 100.0
        while high - low >= 1e-5:
            middle = (low + high) / 2
            patches = (scaled(middle, height) / self.patch_size) * (scaled(middle, width) / self.patch_size)
            low, high = (middle, high) if patches <= self.max_patches else (low, middle)
        return scaled(low, height), scaled(low, width)

    def __call__(self, image: Image.Image, fast: bool = False) -> dict[str, np.ndarray]:
        height, width = self.target_size(image.height, image.width)
        backend = "torch" if fast else self.resize_backend
        pixels = resize_rgb(image, (width, height), self.resample, backend).astype(np.float32)
        scale = np.asarray([self.rescale_factor / s for s in self.std], dtype=np.float32)
        shift = np.asarray([m / s for m, s in zip(self.mean, self.std, strict=True)], dtype=np.float32)
        pixels = pixels * scale - shift  # (H, W, C)
        rows, cols, p = height // self.patch_size, width // self.patch_size, self.patch_size
        patches = pixels.reshape(rows, p, cols, p, 3).transpose(0, 2, 1, 3, 4).reshape(rows * cols, p * p * 3)
        padded = np.zeros((self.max_patches, patches.shape[1]), dtype=np.float32)
        padded[: len(patches)] = patches
        mask = np.zeros(self.max_patches, dtype=np.int32)
        mask[: len(patches)] = 1
        return {
            "pixel_values": padded,
            "pixel_attention_mask": mask,
            "spatial_shapes": np.array([rows, cols]),
        }


class NaflexImageTower(ImageTower):
    def __init__(
        self, preprocessor: NaflexPreprocessor, model: Any, device: torch.device, dtype: torch.dtype
    ):
        self.preprocessor = preprocessor
        self.model = model
        self.device = device
        self.dtype = dtype

    def collate(self, features: Sequence[Any]) -> dict[str, np.ndarray]:
        return {key: np.stack([f[key] for f in features]) for key in features[0]}

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            output = self.model.get_image_features(
                pixel_values=torch.from_numpy(batch["pixel_values"]).to(self.device, dtype=self.dtype),
                pixel_attention_mask=torch.from_numpy(batch["pixel_attention_mask"]).to(self.device),
                spatial_shapes=torch.from_numpy(batch["spatial_shapes"]).to(self.device),
            )
            return to_numpy(features_of(output))


__all__ = ["ImagePreprocessor", "NaflexPreprocessor", "load"]
