"""transformers `CLIPModel`: `get_text_features` / `get_image_features` semantics."""

from __future__ import annotations

from typing import Any

import torch

from omniembed.models.base import Adapter, ModelSpec
from omniembed.models.image_processing import ImagePreprocessor
from omniembed.models.registry import LoadRequest
from omniembed.models.tokens import TokenWindows
from omniembed.models.torch_towers import (
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
    dtype = torch_dtype(request.precision)
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
        score_activation="softmax",
        device=device,
        dtype=dtype,
    )


def build_dual_encoder(
    request: LoadRequest,
    model: Any,
    tokenizer: Any,
    processor: Any,
    *,
    family: str,
    text_encoder: Any,
    image_encoder: Any,
    max_text_tokens: int,
    score_activation: str,
    device: torch.device,
    dtype: torch.dtype,
    pad_to_max_length: bool = False,
    text_inputs: tuple[str, ...] = ("input_ids", "attention_mask"),
    dimension: int | None = None,
) -> Adapter:
    """The shared shape of CLIP-like models: a tokenizer-fed text tower and a pixel-fed image tower."""
    entry = request.entry
    windows = TokenWindows(tokenizer, max_text_tokens, pad_to_max_length=pad_to_max_length)
    preprocessor = ImagePreprocessor.from_hf(processor)
    logit_bias = getattr(model, "logit_bias", None)
    spec = ModelSpec(
        name=request.name,
        family=family,
        source=request.source,
        modalities=("text", "image"),
        dimension=int(dimension or model.config.projection_dim),
        max_text_tokens=max_text_tokens,
        image_size=preprocessor.output_size[0],
        normalize=True,
        matryoshka_dims=entry.matryoshka_dims if entry else (),
        prompts=dict(entry.prompts) if entry else {},
        logit_scale=float(model.logit_scale.exp().item()),
        logit_bias=float(logit_bias.item()) if logit_bias is not None else None,
        score_activation=score_activation,  # type: ignore[arg-type]
        description=entry.description if entry else "",
        aliases=request.aliases,
    )
    return Adapter(
        spec=spec,
        text=TorchTextTower(windows, text_encoder, device, inputs=text_inputs),
        image=TorchImageTower(preprocessor, image_encoder, device, dtype),
        resources=[model],
    )
