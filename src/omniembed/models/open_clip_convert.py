"""Mapping open_clip ViT CLIP checkpoints (OpenAI layout) onto `transformers.CLIPModel`.

The key mapping follows transformers' own `convert_clip_original_pytorch_to_hf.py`; the config is
derived from open_clip's model config. Only the standard architecture maps one-to-one; every
option that changes the computation is checked and refused rather than silently ignored.
"""

from __future__ import annotations

from typing import Any

import torch

from omniembed.errors import ConfigurationError

# open_clip config options that change the computation, with the only value the mapping supports.
_VISION_DEFAULTS = {
    "timm_model_name": None,
    "hf_model_name": None,
    "attentional_pool": False,
    "no_ln_pre": False,
    "pos_embed_type": "learnable",
    "final_ln_after_pool": False,
    "pool_type": "tok",
    "ls_init_value": None,
    "act_kwargs": None,
    "norm_kwargs": None,
    "block_type": None,
    "qk_norm": False,
    "scaled_cosine_attn": False,
    "scale_heads": False,
    "scale_attn_inner": False,
    "scale_attn": False,
    "scale_fc": False,
}
_TEXT_DEFAULTS = {
    "hf_model_name": None,
    "hf_tokenizer_name": None,
    "embed_cls": False,
    "no_causal_mask": False,
    "final_ln_after_pool": False,
    "pool_type": "argmax",
    "proj_bias": False,
    "proj_type": "linear",
    "ls_init_value": None,
    "act_kwargs": None,
    "norm_kwargs": None,
    "block_type": None,
    "qk_norm": False,
    "scaled_cosine_attn": False,
    "scale_heads": False,
    "scale_attn_inner": False,
    "scale_attn": False,
    "scale_fc": False,
    "tokenizer_mode": None,
}
NATIVE_HINT = (
    "This open_clip architecture does not map onto transformers' CLIP; serving it needs open_clip itself "
    "with its dependencies (pip install open_clip_torch timm torchvision)."
)


def _check(section: dict[str, Any], defaults: dict[str, Any], where: str) -> None:
    for key, supported in defaults.items():
        if section.get(key, supported) != supported:
            raise ConfigurationError(f"{where}.{key}={section[key]!r}: {NATIVE_HINT}")


def transformers_config(model_cfg: dict[str, Any]) -> Any:
    from transformers import CLIPConfig

    vision, text = model_cfg.get("vision_cfg", {}), model_cfg.get("text_cfg", {})
    _check(vision, _VISION_DEFAULTS, "vision_cfg")
    _check(text, _TEXT_DEFAULTS, "text_cfg")
    if not isinstance(vision.get("layers", 12), int):
        raise ConfigurationError(f"ResNet image towers: {NATIVE_HINT}")
    image_size = vision.get("image_size", 224)
    image_size = image_size[0] if isinstance(image_size, list | tuple) else image_size
    act = "quick_gelu" if model_cfg.get("quick_gelu", False) else "gelu"
    vision_width, text_width = vision.get("width", 768), text.get("width", 512)
    return CLIPConfig(
        projection_dim=model_cfg["embed_dim"],
        text_config={
            "vocab_size": text.get("vocab_size", 49408),
            "hidden_size": text_width,
            "intermediate_size": int(text_width * text.get("mlp_ratio", 4.0)),
            "num_hidden_layers": text.get("layers", 12),
            "num_attention_heads": text.get("heads", 8),
            "max_position_embeddings": text.get("context_length", 77),
            "hidden_act": act,
            "bos_token_id": 49406,
            "eos_token_id": 49407,
            "pad_token_id": 0,
        },
        vision_config={
            "hidden_size": vision_width,
            "intermediate_size": int(vision_width * vision.get("mlp_ratio", 4.0)),
            "num_hidden_layers": vision.get("layers", 12),
            "num_attention_heads": vision_width // vision.get("head_width", 64),
            "image_size": image_size,
            "patch_size": vision.get("patch_size", 16),
            "hidden_act": act,
        },
    )


def _blocks(state: dict[str, torch.Tensor], source: str, target: str, layers: int) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for i in range(layers):
        s, t = f"{source}.resblocks.{i}", f"{target}.layers.{i}"
        q, k, v = state[f"{s}.attn.in_proj_weight"].chunk(3, dim=0)
        qb, kb, vb = state[f"{s}.attn.in_proj_bias"].chunk(3, dim=0)
        out |= {
            f"{t}.self_attn.q_proj.weight": q,
            f"{t}.self_attn.k_proj.weight": k,
            f"{t}.self_attn.v_proj.weight": v,
            f"{t}.self_attn.q_proj.bias": qb,
            f"{t}.self_attn.k_proj.bias": kb,
            f"{t}.self_attn.v_proj.bias": vb,
            f"{t}.self_attn.out_proj.weight": state[f"{s}.attn.out_proj.weight"],
            f"{t}.self_attn.out_proj.bias": state[f"{s}.attn.out_proj.bias"],
            f"{t}.layer_norm1.weight": state[f"{s}.ln_1.weight"],
            f"{t}.layer_norm1.bias": state[f"{s}.ln_1.bias"],
            f"{t}.layer_norm2.weight": state[f"{s}.ln_2.weight"],
            f"{t}.layer_norm2.bias": state[f"{s}.ln_2.bias"],
            f"{t}.mlp.fc1.weight": state[f"{s}.mlp.c_fc.weight"],
            f"{t}.mlp.fc1.bias": state[f"{s}.mlp.c_fc.bias"],
            f"{t}.mlp.fc2.weight": state[f"{s}.mlp.c_proj.weight"],
            f"{t}.mlp.fc2.bias": state[f"{s}.mlp.c_proj.bias"],
        }
    return out


def convert_state_dict(state: dict[str, torch.Tensor], model_cfg: dict[str, Any]) -> dict[str, torch.Tensor]:
    text_layers = model_cfg.get("text_cfg", {}).get("layers", 12)
    vision_layers = model_cfg.get("vision_cfg", {}).get("layers", 12)
    try:
        out = {
            "text_model.embeddings.token_embedding.weight": state["token_embedding.weight"],
            "text_model.embeddings.position_embedding.weight": state["positional_embedding"],
            "text_model.final_layer_norm.weight": state["ln_final.weight"],
            "text_model.final_layer_norm.bias": state["ln_final.bias"],
            "text_projection.weight": state["text_projection"].T.contiguous(),
            "vision_model.embeddings.class_embedding": state["visual.class_embedding"],
            "vision_model.embeddings.position_embedding.weight": state["visual.positional_embedding"],
            "vision_model.embeddings.patch_embedding.weight": state["visual.conv1.weight"],
            "vision_model.pre_layrnorm.weight": state["visual.ln_pre.weight"],
            "vision_model.pre_layrnorm.bias": state["visual.ln_pre.bias"],
            "vision_model.post_layernorm.weight": state["visual.ln_post.weight"],
            "vision_model.post_layernorm.bias": state["visual.ln_post.bias"],
            "visual_projection.weight": state["visual.proj"].T.contiguous(),
            "logit_scale": state["logit_scale"].reshape(()),
        }
        out |= _blocks(state, "transformer", "text_model.encoder", text_layers)
        out |= _blocks(state, "visual.transformer", "vision_model.encoder", vision_layers)
    except KeyError as error:
        raise ConfigurationError(f"open_clip checkpoint lacks {error}: {NATIVE_HINT}") from error
    return out
