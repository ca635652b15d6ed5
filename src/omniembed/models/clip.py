"""transformers `CLIPModel`: `get_text_features` / `get_image_features` semantics."""

from __future__ import annotations

from typing import Any

import torch

from omniembed.models.base import Adapter, ImageTower, ModelSpec
from omniembed.models.declared import spec_facts
from omniembed.models.image_processing import ImagePreprocessor
from omniembed.models.registry import LoadRequest
from omniembed.models.tokens import TokenWindows
from omniembed.models.torch_towers import (
    TensorEncoder,
    TorchImageTower,
    TorchTextTower,
    features_of,
    hf_load_kwargs,
    resolve_device,
    torch_dtype,
)


def load(request: LoadRequest) -> Adapter:
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    device = resolve_device(request.device)
    dtype = torch_dtype(request.precision, request.runtime)
    model = CLIPModel.from_pretrained(request.source, dtype=dtype, **kwargs).eval().to(device)
    tokenizer = AutoTokenizer.from_pretrained(request.source, **kwargs)
    processor = AutoImageProcessor.from_pretrained(request.source, **kwargs)
    return build_dual_encoder(
        request,
        model,
        tokenizer,
        processor,
        family="clip",
        text_encoder=lambda t: features_of(
            model.get_text_features(input_ids=t["input_ids"], attention_mask=t["attention_mask"])
        ),
        image_encoder=lambda t: features_of(model.get_image_features(pixel_values=t["pixel_values"])),
        max_text_tokens=model.config.text_config.max_position_embeddings,
        device=device,
        dtype=dtype,
    )


def dual_encoder_spec(
    request: LoadRequest,
    *,
    family: str,
    dimension: int,
    max_text_tokens: int,
    image_size: int,
    logit_scale: float | None,
    logit_bias: float | None = None,
) -> ModelSpec:
    """The spec of a two-tower model; a trained bias means sigmoid calibration (SigLIP), else softmax."""
    entry = request.entry
    return ModelSpec(
        name=request.name,
        family=family,
        source=request.source,
        modalities=("text", "image"),
        dimension=dimension,
        max_text_tokens=max_text_tokens,
        image_size=image_size,
        normalize=True,
        **spec_facts(request, dimension).fields(),
        logit_scale=logit_scale,
        logit_bias=logit_bias,
        score_activation="sigmoid" if logit_bias is not None else "softmax",
        description=entry.description if entry else "",
        aliases=request.aliases,
    )


def build_dual_encoder(
    request: LoadRequest,
    model: Any,
    tokenizer: Any,
    processor: Any,
    *,
    family: str,
    text_encoder: TensorEncoder,
    image_encoder: TensorEncoder,
    max_text_tokens: int,
    device: torch.device,
    dtype: torch.dtype,
    pad_to_max_length: bool = False,
    text_inputs: tuple[str, ...] = ("input_ids", "attention_mask"),
    dimension: int | None = None,
    image_tower: ImageTower | None = None,
) -> Adapter:
    """The shared shape of CLIP-like models: a tokenizer-fed text tower and a pixel-fed image tower."""
    # Some models were trained on shorter texts than their position table allows (Chinese-CLIP: 52
    # of 512); the catalog says so where the config cannot.
    if request.entry is not None and request.entry.context_length:
        max_text_tokens = min(max_text_tokens, request.entry.context_length)
    windows = TokenWindows(tokenizer, max_text_tokens, pad_to_max_length=pad_to_max_length)
    if image_tower is None:
        preprocessor = (
            processor if isinstance(processor, ImagePreprocessor) else ImagePreprocessor.from_hf(processor)
        )
        image_tower = TorchImageTower(preprocessor, image_encoder, device, dtype)
    scale = getattr(model, "logit_scale", None)
    bias = getattr(model, "logit_bias", None)
    spec = dual_encoder_spec(
        request,
        family=family,
        dimension=int(dimension or model.config.projection_dim),
        max_text_tokens=max_text_tokens,
        image_size=image_tower.preprocessor.output_size[0],
        logit_scale=float(scale.exp().item()) if scale is not None else None,
        logit_bias=float(bias.item()) if bias is not None else None,
    )
    return Adapter(
        spec=spec,
        text=TorchTextTower(windows, text_encoder, device, inputs=text_inputs),
        image=image_tower,
        resources=[model],
    )
