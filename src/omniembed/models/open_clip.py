"""open_clip models: any architecture + pretrained tag (`ViT-B-32::laion2b_s34b_b79k`), `hf-hub:org/repo`,
or a local directory holding `open_clip_config.json` and the weights.

Two paths, same contract:
- native: when `open_clip` imports (it needs torchvision, and timm for MobileCLIP's FastViT), the
  model is open_clip's own, with its own tokenizer, padded to the context length as it expects;
- converted: without a working open_clip, standard ViT CLIP checkpoints (the OpenAI layout most
  open_clip ViTs use) are mapped onto `transformers.CLIPModel`, using the registry, configs and BPE
  vocabulary of the installed (`--no-deps`) open_clip_torch package. Anything else (timm towers,
  attentional pooling, custom blocks) is refused with a message saying what to install.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import sys
import types
from pathlib import Path
from typing import Any

import torch

from omniembed.errors import ConfigurationError
from omniembed.models.base import Adapter
from omniembed.models.clip import build_dual_encoder, dual_encoder_spec
from omniembed.models.image_processing import ImagePreprocessor
from omniembed.models.open_clip_convert import convert_state_dict, transformers_config
from omniembed.models.registry import LoadRequest
from omniembed.models.tokens import TokenWindows
from omniembed.models.torch_towers import TorchImageTower, TorchTextTower, resolve_device

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
_RESAMPLE = {"bicubic": 3, "bilinear": 2, "nearest": 0}


@functools.cache
def native_open_clip() -> Any | None:
    """open_clip itself, if it imports here (it does not without torchvision)."""
    try:
        return importlib.import_module("open_clip")
    except Exception as error:  # ImportError, or torchvision failing to register its ops
        logger.info("open_clip is not importable (%s); using the transformers conversion path", error)
        return None


def package_dir() -> Path:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "open_clip models need the open_clip_torch package (pip install open_clip_torch; "
            "where torchvision cannot be installed: pip install --no-deps open_clip_torch)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _registry_module() -> Any:
    """open_clip's `pretrained.py`, imported without running open_clip/__init__ (which needs torchvision)."""
    alias = "_omniembed_open_clip"
    if alias not in sys.modules:
        package = types.ModuleType(alias)
        package.__path__ = [str(package_dir())]
        sys.modules[alias] = package
    return importlib.import_module(f"{alias}.pretrained")


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


def _download(repo: str, names: tuple[str, ...], revision: str | None) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    for name in names:
        try:
            return Path(hf_hub_download(repo, name, revision=revision))
        except LocalEntryNotFoundError as error:
            raise ConfigurationError(
                f"'{name}' of '{repo}' is not in the local cache and the hub is unreachable "
                "(HF_HUB_OFFLINE or no network)."
            ) from error
        except EntryNotFoundError:
            continue
    raise ConfigurationError(f"'{repo}' has none of {', '.join(names)}.")


def _split(model_name: str) -> tuple[str, str]:
    schema, sep, identifier = model_name.partition(":")
    return (schema, identifier) if sep else ("", model_name)


def _pretrained_repo(identifier: str, tag: str | None) -> str:
    pretrained = _registry_module().get_pretrained_cfg(identifier, tag or "") if tag else {}
    if not pretrained or not pretrained.get("hf_hub"):
        raise ConfigurationError(
            f"Unknown open_clip pretrained tag '{identifier}::{tag}' (or it is not on the hub)."
        )
    return str(pretrained["hf_hub"]).rstrip("/")


def open_clip_config(model_name: str, tag: str | None, revision: str | None = None) -> dict[str, Any]:
    """open_clip's config ({"model_cfg", "preprocess_cfg"}) without downloading weights where possible."""
    schema, identifier = _split(model_name)
    if schema == "local-dir":
        return dict(json.loads((Path(identifier) / "open_clip_config.json").read_text()))
    if schema == "hf-hub":
        return dict(json.loads(_download(identifier, ("open_clip_config.json",), revision).read_text()))
    config_path = package_dir() / "model_configs" / f"{identifier}.json"
    if not config_path.is_file():
        raise ConfigurationError(f"Unknown open_clip architecture '{identifier}'.")
    pretrained = _registry_module().get_pretrained_cfg(identifier, tag or "") if tag else {}
    preprocess = {
        k: pretrained[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in pretrained
    }
    return {"model_cfg": json.loads(config_path.read_text()), "preprocess_cfg": preprocess}


def weights_file(model_name: str, tag: str | None, revision: str | None = None) -> Path:
    schema, identifier = _split(model_name)
    if schema == "local-dir":
        folder = Path(identifier)
        found = next((folder / n for n in WEIGHT_FILES if (folder / n).is_file()), None)
        if found is None:
            raise ConfigurationError(f"No open_clip weights ({', '.join(WEIGHT_FILES)}) in {folder}.")
        return found
    repo = identifier if schema == "hf-hub" else _pretrained_repo(identifier, tag)
    return _download(repo, WEIGHT_FILES, revision)


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    state: Any
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state:
        state = state["state_dict"]
    return {key.removeprefix("module."): value for key, value in state.items()}


def image_preprocessor(preprocess_cfg: dict[str, Any], image_size: int) -> ImagePreprocessor:
    from omniembed.models.clip_vocab import OPENAI_MEAN, OPENAI_STD

    mode = preprocess_cfg.get("resize_mode", "shortest")
    if mode not in ("shortest", "squash"):
        raise ConfigurationError(f"open_clip resize_mode '{mode}' is not supported.")
    common = {
        "resample": _RESAMPLE.get(preprocess_cfg.get("interpolation", "bicubic"), 3),
        "mean": tuple(preprocess_cfg.get("mean", OPENAI_MEAN)),
        "std": tuple(preprocess_cfg.get("std", OPENAI_STD)),
    }
    if mode == "squash":
        return ImagePreprocessor(exact_size=(image_size, image_size), **common)  # type: ignore[arg-type]
    return ImagePreprocessor(shortest_edge=image_size, crop_size=(image_size, image_size), **common)  # type: ignore[arg-type]


def _converted(request: LoadRequest, model_name: str, tag: str | None) -> Adapter:
    from transformers import CLIPModel

    config = open_clip_config(model_name, tag, request.revision)
    model_cfg = config["model_cfg"]
    clip_config = transformers_config(model_cfg)  # refuses unsupported architectures before any download
    state = _load_weights(weights_file(model_name, tag, request.revision))
    device = resolve_device(request.device)
    model = CLIPModel(clip_config).eval()
    missing, unexpected = model.load_state_dict(convert_state_dict(state, model_cfg), strict=False)
    if unexpected or any("position_ids" not in key for key in missing):
        raise ConfigurationError(
            f"open_clip weights do not map onto CLIP: missing {missing}, unexpected {unexpected}"
        )
    model = model.to(device)
    image_size = int(clip_config.vision_config.image_size)
    processor = image_preprocessor(config.get("preprocess_cfg", {}), image_size)
    tokenizer = clip_tokenizer(int(clip_config.text_config.max_position_embeddings))
    adapter = build_dual_encoder(
        request,
        model,
        tokenizer,
        processor,
        family="open_clip",
        text_encoder=lambda t: (
            model.get_text_features(
                input_ids=t["input_ids"], attention_mask=t["attention_mask"]
            ).pooler_output
        ),
        image_encoder=lambda t: model.get_image_features(pixel_values=t["pixel_values"]).pooler_output,
        max_text_tokens=int(clip_config.text_config.max_position_embeddings),
        device=device,
        dtype=torch.float32,
    )
    return adapter


def _native(request: LoadRequest, open_clip: Any, model_name: str, tag: str | None) -> Adapter:
    device = resolve_device(request.device)
    model, _ = open_clip.create_model_from_pretrained(model_name, pretrained=tag, device=device)
    model = model.eval()
    context = int(getattr(model, "context_length", 77))
    native_tokenizer = open_clip.get_tokenizer(model_name)
    hf_tokenizer = getattr(native_tokenizer, "tokenizer", None)
    tokenizer = hf_tokenizer if hf_tokenizer is not None else clip_tokenizer(context)
    # open_clip pads every text to its context length; some towers (no causal mask) depend on it.
    windows = TokenWindows(tokenizer, context, pad_to_max_length=True)
    cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    size = cfg.get("size", getattr(model.visual, "image_size", 224))
    size = int(size[0] if isinstance(size, list | tuple) else size)
    processor = image_preprocessor(cfg, size)
    with torch.inference_mode():
        dimension = int(model.encode_text(torch.zeros(1, context, dtype=torch.long, device=device)).shape[-1])
    bias = getattr(model, "logit_bias", None)
    spec = dual_encoder_spec(
        request,
        family="open_clip",
        dimension=dimension,
        max_text_tokens=context,
        image_size=processor.output_size[0],
        logit_scale=float(model.logit_scale.exp().item()),
        logit_bias=float(bias.item()) if bias is not None else None,
    )
    text = TorchTextTower(windows, lambda t: model.encode_text(t["input_ids"]), device, inputs=("input_ids",))
    image = TorchImageTower(processor, lambda t: model.encode_image(t["pixel_values"]), device)
    return Adapter(spec=spec, text=text, image=image, resources=[model])


def load(request: LoadRequest) -> Adapter:
    model_name, tag = parse_source(request.source)
    open_clip = native_open_clip()
    if open_clip is not None:
        return _native(request, open_clip, model_name, tag)
    return _converted(request, model_name, tag)
