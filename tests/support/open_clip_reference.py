"""Subprocess: open_clip's own CLIP model code builds, saves and runs a tiny model (see tiny_models.py).

Only open_clip's model modules are imported (as a package alias, skipping its __init__), and the one
torchvision name they import (`FrozenBatchNorm2d`, used only to freeze BatchNorm layers, which these
ViT towers do not have) is provided by a minimal stand-in module, in this process alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch


def load_open_clip_modules() -> tuple[types.ModuleType, types.ModuleType]:
    # transformers (imported by open_clip's hf_model) must decide torchvision is absent before the
    # stand-in exists, so import it and ask first.
    from transformers.utils import import_utils

    import_utils.is_torchvision_available()
    torchvision = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    misc = types.ModuleType("torchvision.ops.misc")
    misc.FrozenBatchNorm2d = type("FrozenBatchNorm2d", (torch.nn.Module,), {})
    torchvision.ops, ops.misc = ops, misc
    sys.modules.update({"torchvision": torchvision, "torchvision.ops": ops, "torchvision.ops.misc": misc})
    spec = importlib.util.find_spec("open_clip")
    package = types.ModuleType("open_clip_reference_pkg")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["open_clip_reference_pkg"] = package
    model = importlib.import_module("open_clip_reference_pkg.model")
    tokenizer = importlib.import_module("open_clip_reference_pkg.tokenizer")
    return model, tokenizer


def main() -> None:
    request = json.loads(sys.argv[1])
    directory = Path(request["directory"])
    model_module, tokenizer_module = load_open_clip_modules()
    torch.manual_seed(request["seed"])
    cfg = request["model_cfg"]
    model = model_module.CLIP(
        embed_dim=cfg["embed_dim"],
        vision_cfg=model_module.CLIPVisionCfg(**cfg["vision_cfg"]),
        text_cfg=model_module.CLIPTextCfg(**cfg["text_cfg"]),
    ).eval()
    with torch.no_grad():  # break the default init's symmetry so every weight matters
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.02)
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / "open_clip_model.safetensors"))
    preprocess = {
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    }
    (directory / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": cfg, "preprocess_cfg": preprocess})
    )
    tokenizer = tokenizer_module.SimpleTokenizer(
        bpe_path=request["bpe"], context_length=cfg["text_cfg"]["context_length"]
    )
    tokens = tokenizer(request["texts"])
    pixels = torch.from_numpy(np.load(request["pixels"]))
    with torch.no_grad():
        text = model.encode_text(tokens, normalize=True).numpy()
        image = model.encode_image(pixels, normalize=True).numpy()
    np.savez(
        directory / "reference.npz",
        text=text,
        image=image,
        tokens=tokens.numpy(),
        logit_scale=model.logit_scale.exp().item(),
    )


if __name__ == "__main__":
    main()
