"""Tiny random open_clip models built with open_clip's own model code from the real configs.

Each catalog architecture keeps its real structure: the text tower is open_clip's TextTransformer
with the architecture's options (causal mask or not, pooling) but 2 narrow layers; the image tower
is the same class it is for real, with fewer and narrower blocks. Image towers from timm (MobileCLIP's
FastViT MCi0-4, the MCi ViT-B hybrid, the ViT-L/14 of MobileCLIP2-L-14) are timm's own model
functions called with smaller depths and widths, registered under a `omniembed_tiny_` name so that
open_clip builds them from a config file like any other timm tower.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

# Smaller depths/widths for each timm tower the catalog's architectures name; everything else (block
# types, RepMixer/attention stages, conditional positional encodings, the conv stem) stays.
TINY_TIMM: dict[str, dict[str, Any]] = {
    # FastViT's attention stages need widths divisible by their 32-wide heads, and each downsampling
    # (a grouped convolution) a width divisible by the previous stage's.
    "fastvit_mci0": {"layers": (1, 1, 1, 1), "embed_dims": (32, 32, 64, 64)},
    "fastvit_mci1": {"layers": (1, 1, 2, 1), "embed_dims": (32, 32, 64, 64)},
    "fastvit_mci2": {"layers": (1, 1, 2, 1), "embed_dims": (32, 64, 64, 128)},
    "fastvit_mci3": {"layers": (1, 1, 1, 1, 1), "embed_dims": (32, 32, 64, 64, 128)},
    "fastvit_mci4": {"layers": (1, 1, 1, 1, 1), "embed_dims": (32, 64, 64, 128, 128)},
    "vit_base_mci_224": {"depth": 1},  # its conv stem fixes the width at 768
    "vit_large_patch14_clip_224": {"embed_dim": 64, "depth": 2, "num_heads": 4},
}
TINY_PREFIX = "omniembed_tiny_"


def register_tiny_timm_models() -> None:
    import timm
    from timm.models import register_model

    registered = set(timm.list_models(f"{TINY_PREFIX}*"))
    for name, overrides in TINY_TIMM.items():
        if TINY_PREFIX + name in registered:
            continue
        base = timm.models.model_entrypoint(name)

        def entrypoint(
            pretrained: bool = False, _base: Any = base, _overrides: Any = overrides, **kwargs: Any
        ):
            return _base(pretrained=False, **{**_overrides, **kwargs})

        entrypoint.__name__ = TINY_PREFIX + name
        entrypoint.__module__ = __name__
        register_model(entrypoint)


def tiny_config(architecture: str, *, real_image_tower: bool = False) -> dict[str, Any]:
    """open_clip's config of `architecture`, scaled down (text always; image unless asked not to)."""
    import open_clip

    config = open_clip.get_model_config(architecture)
    assert config is not None, architecture
    text = {**config["text_cfg"], "layers": 2, "width": 64, "heads": 2}
    vision = dict(config["vision_cfg"])
    if real_image_tower:
        pass
    elif vision.get("timm_model_name"):
        vision["timm_model_name"] = TINY_PREFIX + vision["timm_model_name"]
    else:
        vision.update(layers=2, width=64, head_width=32, patch_size=32)
    return {**config, "embed_dim": 32, "text_cfg": text, "vision_cfg": vision}


def _pretrained_preprocess(architecture: str) -> dict[str, Any]:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(architecture)
    pretrained = open_clip.get_pretrained_cfg(architecture, tags[0]) if tags else {}
    keys = ("mean", "std", "interpolation", "resize_mode")
    return {key: pretrained[key] for key in keys if key in pretrained}


def _randomize(model: torch.nn.Module, seed: int) -> None:
    """Break the default init's symmetry so every weight (and each BatchNorm's statistics) matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.02)
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.running_var is not None:
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)


def build_tiny_open_clip(
    directory: Path, architecture: str, *, seed: int = 0, real_image_tower: bool = False
) -> Path:
    """A local open_clip model directory (`open_clip_config.json` + safetensors weights)."""
    import open_clip
    from safetensors.torch import save_file

    register_tiny_timm_models()
    directory.mkdir(parents=True, exist_ok=True)
    config = tiny_config(architecture, real_image_tower=real_image_tower)
    torch.manual_seed(seed)
    model_class = open_clip.CustomTextCLIP if config.get("custom_text") else open_clip.CLIP
    arguments = {
        k: v for k, v in config.items() if k in ("embed_dim", "vision_cfg", "text_cfg", "quick_gelu")
    }
    model = model_class(**arguments).eval()
    _randomize(model, seed)
    save_file(
        {key: value.contiguous() for key, value in model.state_dict().items()},
        str(directory / "open_clip_model.safetensors"),
    )
    document = {"model_cfg": config, "preprocess_cfg": _pretrained_preprocess(architecture)}
    (directory / "open_clip_config.json").write_text(json.dumps(document))
    return directory


def open_clip_reference(directory: Path, texts: list[str], images: list[Any]) -> dict[str, Any]:
    """open_clip's own tokenizer, transform and encode_* on the saved model (nothing fused)."""
    import open_clip

    register_tiny_timm_models()
    name = f"local-dir:{directory}"
    model, preprocess = open_clip.create_model_from_pretrained(name, device="cpu")
    model = model.eval()
    tokens = open_clip.get_tokenizer(name)(texts)
    pixels = torch.stack([preprocess(image) for image in images])
    with torch.no_grad():
        return {
            "text": model.encode_text(tokens, normalize=True).numpy(),
            "image": model.encode_image(pixels, normalize=True).numpy(),
            "tokens": tokens.numpy(),
            "logit_scale": float(model.logit_scale.exp().item()),
            "logit_bias": float(model.logit_bias.item())
            if getattr(model, "logit_bias", None) is not None
            else None,
        }
