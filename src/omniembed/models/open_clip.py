"""open_clip models, served by open_clip's own model code: any architecture + pretrained tag
(`ViT-B-32::laion2b_s34b_b79k`, `MobileCLIP2-S2::dfndr2b`), `hf-hub:org/repo`, or a local directory
holding `open_clip_config.json` and the weights.

MobileCLIP's image towers (FastViT MCi0-4, the MCi ViT-B hybrid) come from timm; their train-time
branches (RepMixer, MobileOne blocks) are fused with timm's `reparameterize_model` at load, as Apple's
inference instructions say: the same function, fewer convolutions. Texts are tokenized with
transformers' CLIPTokenizer over open_clip's BPE vocabulary (or the model's HF tokenizer) and padded
to the context length, as open_clip does (towers without a causal mask depend on it). Images go
through our pipeline configured as open_clip's torchvision transform (see image_processing).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

import torch

from omniembed.errors import ConfigurationError
from omniembed.models.base import Adapter
from omniembed.models.clip import dual_encoder_spec
from omniembed.models.image_processing import ImagePreprocessor
from omniembed.models.registry import LoadRequest
from omniembed.models.tokens import TokenWindows
from omniembed.models.torch_towers import TorchImageTower, TorchTextTower, resolve_device, torch_dtype

logger = logging.getLogger(__name__)

_RESAMPLE = {"bicubic": 3, "bilinear": 2, "nearest": 0}
INSTALL_HINT = "open_clip models need open_clip with timm and torchvision: pip install 'omniembed[open_clip]'"


@functools.cache
def native_open_clip() -> Any:
    """open_clip itself; a clear message where it (or torchvision, which it imports) is missing."""
    try:
        return importlib.import_module("open_clip")
    except Exception as error:  # ImportError, or a torchvision built for another torch
        raise ConfigurationError(f"{INSTALL_HINT} ({type(error).__name__}: {error})") from error


def package_dir() -> Path:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations)))


def bpe_vocabulary() -> Path:
    return package_dir() / "bpe_simple_vocab_16e6.txt.gz"


def clip_tokenizer(context_length: int = 77) -> Any:
    """transformers' CLIPTokenizer over open_clip's BPE vocabulary, padding with 0 as open_clip does."""
    from transformers import CLIPTokenizer

    from omniembed.models.clip_vocab import write_tokenizer_files

    vocab_file, merges_file = write_tokenizer_files(bpe_vocabulary())
    vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
    lines = merges_file.read_text(encoding="utf-8").splitlines()[1:]
    # The type hint says list[str], but the tokenizers backend needs (left, right) pairs.
    merges: Any = [tuple(line.split(" ")) for line in lines if line]
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    tokenizer.pad_token = "!"  # id 0, open_clip's padding
    tokenizer.model_max_length = context_length
    return tokenizer


def parse_source(source: str) -> tuple[str, str | None]:
    """→ (model name as open_clip understands it, pretrained tag or None)."""
    text = source.removeprefix("open_clip:")
    if Path(text).is_dir():
        return f"local-dir:{text}", None
    if text.startswith(("hf-hub:", "local-dir:")):
        return text, None
    arch, _, tag = text.partition("::")
    return arch, tag or None


def image_preprocessor(preprocess_cfg: dict[str, Any], image_size: int) -> ImagePreprocessor:
    """open_clip's eval transform (torchvision on PIL images: Pillow resize, rounded center crop)."""
    from omniembed.models.clip_vocab import OPENAI_MEAN, OPENAI_STD

    mode = preprocess_cfg.get("resize_mode", "shortest")
    if mode not in ("shortest", "squash"):
        raise ConfigurationError(f"open_clip resize_mode '{mode}' is not supported.")
    mean, std = tuple(preprocess_cfg.get("mean", OPENAI_MEAN)), tuple(preprocess_cfg.get("std", OPENAI_STD))
    common: Any = {
        "resample": _RESAMPLE.get(preprocess_cfg.get("interpolation", "bicubic"), 3),
        "mean": (float(mean[0]), float(mean[1]), float(mean[2])),
        "std": (float(std[0]), float(std[1]), float(std[2])),
        "resize_backend": "pil",
        "crop_rounding": "round",
    }
    if mode == "squash":
        return ImagePreprocessor(exact_size=(image_size, image_size), **common)
    return ImagePreprocessor(shortest_edge=image_size, crop_size=(image_size, image_size), **common)


def _create(open_clip: Any, model_name: str, tag: str | None, request: LoadRequest) -> Any:
    try:
        model, _ = open_clip.create_model_from_pretrained(
            model_name, pretrained=tag, device="cpu", return_transform=True
        )
    except (RuntimeError, ValueError, OSError) as error:  # unknown name or tag, weights not reachable
        raise ConfigurationError(f"open_clip cannot load '{request.source}': {error}") from error
    return model


def _fuse_train_time_branches(model: torch.nn.Module) -> torch.nn.Module:
    """MobileCLIP's reparameterizable blocks → their single-branch inference form (no-op elsewhere)."""
    if not any(hasattr(module, "reparameterize") for module in model.modules()):
        return model
    from timm.utils.model import reparameterize_model

    return reparameterize_model(model, inplace=True)


def _preprocess_config(model: Any) -> tuple[dict[str, Any], int]:
    cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    size = cfg.get("size", getattr(model.visual, "image_size", 224))
    return cfg, int(size[0] if isinstance(size, list | tuple) else size)


def _tokenizer(open_clip: Any, model_name: str, context: int) -> Any:
    native = open_clip.get_tokenizer(model_name, context_length=context)
    hf_tokenizer = getattr(native, "tokenizer", None)  # open_clip's HFTokenizer wraps a transformers one
    return hf_tokenizer if hf_tokenizer is not None else clip_tokenizer(context)


def load(request: LoadRequest) -> Adapter:
    open_clip = native_open_clip()
    model_name, tag = parse_source(request.source)
    device = resolve_device(request.device)
    dtype = torch_dtype(request.precision, request.runtime)
    model: Any = _fuse_train_time_branches(_create(open_clip, model_name, tag, request).eval())
    model = model.to(device=device, dtype=dtype)
    context = int(getattr(model, "context_length", 77))
    windows = TokenWindows(_tokenizer(open_clip, model_name, context), context, pad_to_max_length=True)
    cfg, size = _preprocess_config(model)
    processor = image_preprocessor(cfg, size)
    with torch.inference_mode():
        probe = model.encode_text(torch.zeros(1, context, dtype=torch.long, device=device))
    bias = getattr(model, "logit_bias", None)
    spec = dual_encoder_spec(
        request,
        family="open_clip",
        dimension=int(probe.shape[-1]),
        max_text_tokens=context,
        image_size=processor.output_size[0],
        logit_scale=float(model.logit_scale.exp().float().item()),
        logit_bias=float(bias.float().item()) if bias is not None else None,
    )
    text = TorchTextTower(windows, lambda t: model.encode_text(t["input_ids"]), device, inputs=("input_ids",))
    image = TorchImageTower(processor, lambda t: model.encode_image(t["pixel_values"]), device, dtype)
    return Adapter(spec=spec, text=text, image=image, resources=[model])
