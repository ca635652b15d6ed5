"""transformers `ChineseCLIPModel` (Chinese-CLIP): a BERT text tower ([CLS] pooled) and a ViT image tower."""

from __future__ import annotations

from omniembed.models.base import Adapter
from omniembed.models.clip import build_dual_encoder
from omniembed.models.registry import LoadRequest
from omniembed.models.torch_towers import features_of, hf_load_kwargs, resolve_device, torch_dtype


def load(request: LoadRequest) -> Adapter:
    from transformers import AutoImageProcessor, AutoTokenizer, ChineseCLIPModel

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    device = resolve_device(request.device)
    dtype = torch_dtype(request.precision, request.runtime)
    model = ChineseCLIPModel.from_pretrained(request.source, dtype=dtype, **kwargs).eval().to(device)
    tokenizer = AutoTokenizer.from_pretrained(request.source, **kwargs)
    processor = AutoImageProcessor.from_pretrained(request.source, **kwargs)
    context = model.config.text_config.max_position_embeddings
    return build_dual_encoder(
        request,
        model,
        tokenizer,
        processor,
        family="chinese_clip",
        text_encoder=lambda t: features_of(
            model.get_text_features(
                input_ids=t["input_ids"],
                attention_mask=t["attention_mask"],
                token_type_ids=t["token_type_ids"],
            )
        ),
        image_encoder=lambda t: features_of(model.get_image_features(pixel_values=t["pixel_values"])),
        max_text_tokens=int(context),
        device=device,
        dtype=dtype,
        text_inputs=("input_ids", "attention_mask", "token_type_ids"),
    )
