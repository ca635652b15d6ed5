"""Towers whose forward pass is a PyTorch callable; shared by every torch-based family."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from omniembed.models.base import ExportSpec, ImageTower, TextFeature, TextTower, Truncation
from omniembed.models.image_processing import ImagePreprocessor
from omniembed.models.tokens import TokenWindows

logger = logging.getLogger(__name__)

TensorEncoder = Callable[[dict[str, torch.Tensor]], torch.Tensor]
PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


class EncoderModule(torch.nn.Module):
    """A tower's encode function as a module with positional tensor inputs, for export."""

    def __init__(self, encode: TensorEncoder, names: Sequence[str]):
        super().__init__()
        self.encode = encode
        self.names = tuple(names)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.encode(dict(zip(self.names, tensors, strict=True)))


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def torch_dtype(precision: str, runtime: str = "torch") -> torch.dtype:
    """Weights are loaded in bf16 only for the torch runtime; exports start from fp32 weights and
    int8 is applied by the runtime afterwards."""
    return PRECISION_DTYPES.get(precision, torch.float32) if runtime == "torch" else torch.float32


def features_of(output: Any) -> torch.Tensor:
    """transformers 5 returns model outputs from `get_*_features`; older versions return tensors."""
    if isinstance(output, torch.Tensor):
        return output
    pooled = getattr(output, "pooler_output", None)
    if pooled is None:
        raise TypeError(f"cannot find embeddings in {type(output).__name__}")
    return pooled


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to(device="cpu", dtype=torch.float32).numpy()


class TorchTextTower(TextTower):
    def __init__(
        self,
        windows: TokenWindows,
        encode: TensorEncoder,
        device: torch.device,
        *,
        inputs: Sequence[str] = ("input_ids", "attention_mask"),
    ) -> None:
        self.windows = windows
        self.encode = encode
        self.device = device
        self.inputs = tuple(inputs)
        self.max_tokens = windows.max_length

    def preprocess(
        self,
        texts: Sequence[str],
        truncation: Truncation,
        prompt: str | None = None,
        max_tokens: int | None = None,
        add_special_tokens: bool = True,
    ) -> list[list[TextFeature]]:
        return self.windows.encode(texts, truncation, prompt, max_tokens, add_special_tokens)

    def collate(self, features: Sequence[TextFeature]) -> dict[str, np.ndarray]:
        return self.windows.pad(features)

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        tensors = {key: torch.from_numpy(batch[key]).to(self.device) for key in self.inputs if key in batch}
        with torch.inference_mode():
            return to_numpy(self.encode(tensors))

    def export_spec(self) -> ExportSpec:
        texts = ["an example text for export", "a second, somewhat longer example text for the export trace"]
        example = self.collate([windows[0] for windows in self.preprocess(texts, Truncation.END)])
        names = tuple(name for name in self.inputs if name in example and example[name].ndim == 2)
        return ExportSpec(
            module=EncoderModule(self.encode, names),
            input_names=names,
            example={name: example[name] for name in names},
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in names},
        )


class TorchImageTower(ImageTower):
    def __init__(
        self,
        preprocessor: ImagePreprocessor,
        encode: TensorEncoder,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.preprocessor = preprocessor
        self.encode = encode
        self.device = device
        self.dtype = dtype

    def forward(self, batch: np.ndarray) -> np.ndarray:
        pixels = torch.from_numpy(batch).to(self.device, dtype=self.dtype)
        with torch.inference_mode():
            return to_numpy(self.encode({"pixel_values": pixels}))

    def export_spec(self) -> ExportSpec:
        height, width = self.preprocessor.output_size
        example = {"pixel_values": np.zeros((2, 3, height, width), dtype=np.float32)}
        return ExportSpec(
            module=EncoderModule(self.encode, ("pixel_values",)),
            input_names=("pixel_values",),
            example=example,
            dynamic_axes={"pixel_values": {0: "batch"}},
        )


def hf_load_kwargs(revision: str | None, trust_remote_code: bool = False) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if revision:
        kwargs["revision"] = revision
    if trust_remote_code:
        kwargs["trust_remote_code"] = True
    return kwargs
