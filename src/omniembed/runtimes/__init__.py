"""Runtimes: the torch towers as loaded, or their forward passes exported to ONNX Runtime or OpenVINO
(fp32, bf16, int8), with the exported artifacts cached under `models_dir/compiled/`.

`auto` picks, for a CPU device, OpenVINO when installed (the fastest here: on a 2-core AVX512-BF16
machine a ViT-B/32 image tower ran 21.7 images/s fp32, 41.5 bf16 and 74 int8 under OpenVINO against
16.2 in torch fp32), then ONNX Runtime, then torch; for a CUDA device, torch.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from typing import Any

from omniembed.errors import ConfigurationError
from omniembed.models.base import Adapter, ImageTower, TextTower, Tower

logger = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnx", "openvino")
# torch int8 is not offered: eager dynamic quantization is deprecated upstream and, measured on
# all-MiniLM-L6-v2, fell to cosine 0.86-0.91 against fp32; int8 is OpenVINO's or ONNX Runtime's job.
PRECISIONS = {
    "torch": ("fp32", "bf16"),
    "onnx": ("fp32", "int8"),
    "openvino": ("fp32", "bf16", "int8"),
}


# Both compiled runtimes start from a torch.onnx export, which needs the `onnx` package.
_MODULES = {"onnx": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx"), "torch": ("torch",)}


def installed(runtime: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in _MODULES[runtime])


def select_runtime(requested: str, device: str) -> str:
    if device.startswith("cuda") and requested not in ("auto", "torch"):
        raise ConfigurationError(
            f"Runtime '{requested}' runs on the CPU here; use --runtime torch for {device}."
        )
    if requested != "auto":
        if not installed(requested):
            extra = {"onnx": "onnx", "openvino": "openvino"}.get(requested, requested)
            raise ConfigurationError(
                f"Runtime '{requested}' is not installed (pip install 'omniembed[{extra}]')."
            )
        return requested
    if device.startswith("cuda"):
        return "torch"
    return next((runtime for runtime in ("openvino", "onnx") if installed(runtime)), "torch")


def check_precision(runtime: str, precision: str) -> None:
    if precision not in PRECISIONS[runtime]:
        hint = " (int8 runs on --runtime openvino or onnx)" if precision == "int8" else ""
        supported = ", ".join(PRECISIONS[runtime])
        raise ConfigurationError(
            f"Runtime '{runtime}' supports precisions {supported}, not '{precision}'{hint}."
        )


def apply_runtime(adapter: Adapter, request: Any) -> Adapter:
    """Swap each tower's forward for the requested runtime (the torch tower keeps pre-processing)."""
    runtime, precision = request.runtime, request.precision
    check_precision(runtime, precision)
    _freeze(adapter)
    if runtime == "torch":
        adapter.spec = dataclasses.replace(adapter.spec, runtime=runtime, precision=precision)
        return adapter
    from omniembed.runtimes.compiled import compile_tower

    used = set()
    for modality, tower in list(adapter.towers().items()):
        try:
            compiled = compile_tower(tower, modality, request)
        except Exception as error:
            if request.runtime_explicit:
                raise ConfigurationError(f"Cannot run the {modality} tower on {runtime}: {error}") from error
            logger.warning(
                "%s tower of %s stays on torch: %s export failed (%s)", modality, request.name, runtime, error
            )
            used.add("torch")
            continue
        _replace(adapter, modality, compiled)
        used.add(runtime)
    label = runtime if used == {runtime} else "+".join(sorted(used))
    adapter.spec = dataclasses.replace(adapter.spec, runtime=label, precision=precision)
    if used == {runtime}:
        _release_torch_weights(adapter)
    return adapter


def _release_torch_weights(adapter: Adapter) -> None:
    """Every tower runs compiled: the torch modules are no longer needed, only the tokenizers and
    pre-processing the towers kept. Dropping them returns their weights' memory."""
    import gc

    import torch

    adapter.resources = [r for r in adapter.resources if not isinstance(r, torch.nn.Module)]
    gc.collect()


def _freeze(adapter: Adapter) -> None:
    """Inference only: no autograd bookkeeping, and exports can trace the weights as constants."""
    import torch

    for resource in adapter.resources:
        if isinstance(resource, torch.nn.Module):
            resource.requires_grad_(False)


def _replace(adapter: Adapter, modality: str, tower: Tower) -> None:
    assert isinstance(tower, TextTower if modality == "text" else ImageTower)
    setattr(adapter, modality, tower)
