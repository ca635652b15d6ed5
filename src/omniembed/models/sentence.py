"""sentence-transformers text models, and Qwen3-Embedding on the same machinery.

Pooling, dense layers and normalization come from the model's own `modules.json`: the forward pass
is the SentenceTransformer module stack itself, fed with our dynamically padded batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from omniembed.models.base import Adapter, ModelSpec, TextFeature
from omniembed.models.declared import read_declared, spec_facts
from omniembed.models.registry import LoadRequest
from omniembed.models.tokens import TokenWindows
from omniembed.models.torch_towers import TorchTextTower, hf_load_kwargs, resolve_device, torch_dtype


class SentenceTextTower(TorchTextTower):
    """Adds `prompt_length` for poolings that exclude the prompt (include_prompt=False)."""

    def __init__(
        self,
        windows: TokenWindows,
        model: Any,
        device: torch.device,
        needs_prompt_length: bool,
        dimension: int | None = None,
    ):
        inputs = ["input_ids", "attention_mask"]
        if windows.with_token_types:
            inputs.append("token_type_ids")
        if needs_prompt_length:
            inputs.append("prompt_length")

        def encode(tensors: dict[str, torch.Tensor]) -> torch.Tensor:
            embedding = model.forward(tensors)["sentence_embedding"]
            # Sliced inside the encode function, so an exported tower carries truncate_dim too.
            return embedding if dimension is None else embedding[..., :dimension]

        super().__init__(windows, encode, device, inputs=inputs)
        self.needs_prompt_length = needs_prompt_length

    def collate(self, features: Sequence[TextFeature]) -> dict[str, np.ndarray]:
        batch = self.windows.pad(features)
        if self.needs_prompt_length:
            # sentence-transformers masks one prompt length per batch; a batch mixes prompts only
            # when a caller mixes input types, and then the shortest prompt is the safe choice.
            batch["prompt_length"] = np.asarray(min(f.prompt_length for f in features), dtype=np.int64)
        return batch


def _embedding_dimension(model: Any) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _pooling_excludes_prompt(model: Any) -> bool:
    return any(getattr(module, "include_prompt", True) is False for module in model)


def _adapter(request: LoadRequest, model: Any, *, family: str, device: torch.device) -> Adapter:
    entry = request.entry
    tokenizer = model.tokenizer
    max_length = int(model.max_seq_length or getattr(tokenizer, "model_max_length", 512))
    windows = TokenWindows(tokenizer, max_length)
    declared = read_declared(request.source)
    # A sentence-transformers truncate_dim (its config's, which the library may already have applied to
    # the reported dimension but not to forward()) is what encode() returns: the served size.
    truncate = declared.truncate_dim or model.truncate_dim
    dimension = min(_embedding_dimension(model), truncate or 1 << 30)
    spec = ModelSpec(
        name=request.name,
        family=family,
        source=request.source,
        modalities=("text",),
        dimension=dimension,
        max_text_tokens=max_length,
        normalize=True,
        **spec_facts(request, dimension, declared).fields(),
        description=entry.description if entry else "",
        aliases=request.aliases,
    )
    tower = SentenceTextTower(
        windows, model, device, _pooling_excludes_prompt(model), dimension if truncate else None
    )
    return Adapter(spec=spec, text=tower, resources=[model])


def _load_sentence_transformer(request: LoadRequest, modules: list[Any] | None = None) -> Any:
    from sentence_transformers import SentenceTransformer

    device = resolve_device(request.device)
    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    model_kwargs = {"dtype": torch_dtype(request.precision, request.runtime)}
    if modules is not None:
        return SentenceTransformer(modules=modules, device=str(device))
    return SentenceTransformer(
        str(request.source), device=str(device), model_kwargs=model_kwargs, **kwargs
    ).eval()


def load(request: LoadRequest) -> Adapter:
    model = _load_sentence_transformer(request)
    device = resolve_device(request.device)
    if set(model.modalities) - {"text"}:
        return _multimodal_adapter(request, model, family="sentence_transformers", device=device)
    return _adapter(request, model, family="sentence_transformers", device=device)


def load_qwen3_vl(request: LoadRequest) -> Adapter:
    """Qwen3-VL-Embedding and other Qwen3-VL embedders: the repository's sentence-transformers config
    when it has one, else the module stack Qwen3-VL-Embedding is published with (Transformer →
    last-token Pooling → Normalize, left padding)."""
    model = _load_sentence_transformer(request) if _has_modules_json(request) else _last_token_stack(request)
    model.tokenizer.padding_side = "left"
    return _multimodal_adapter(request, model, family="qwen3_vl", device=resolve_device(request.device))


def _multimodal_adapter(request: LoadRequest, model: Any, *, family: str, device: torch.device) -> Adapter:
    from omniembed.models.sentence_multimodal import SentenceFusedTower

    entry = request.entry
    declared = read_declared(request.source)
    truncate = declared.truncate_dim or model.truncate_dim
    dimension = min(_embedding_dimension(model), truncate or 1 << 30)
    tower = SentenceFusedTower(model, device, dimension if truncate else None)
    extractor = getattr(getattr(model[0], "processor", None), "feature_extractor", None)
    spec = ModelSpec(
        name=request.name,
        family=family,
        source=request.source,
        modalities=tower.modalities,
        dimension=dimension,
        max_text_tokens=tower.max_tokens,
        normalize=True,
        **spec_facts(request, dimension, declared).fields(),
        description=entry.description if entry else "",
        aliases=request.aliases,
        interleaved="native" if tower.native else "mean",
        audio_sample_rate=getattr(extractor, "sampling_rate", None) if "audio" in tower.accepts else None,
    )
    return Adapter(spec=spec, fused=tower, resources=[model])


def load_qwen3(request: LoadRequest) -> Adapter:
    """Qwen3-Embedding: last-token pooling over left-padded batches, instruction-prefixed queries.

    A repository with sentence-transformers config is used as is; a bare transformers checkpoint gets
    the module stack Qwen3-Embedding is defined with.
    """
    model = _load_sentence_transformer(request) if _has_modules_json(request) else _last_token_stack(request)
    model.tokenizer.padding_side = "left"
    return _adapter(request, model, family="qwen3_embedding", device=resolve_device(request.device))


def _last_token_stack(request: LoadRequest) -> Any:
    """A bare transformers checkpoint as Qwen's embedders are defined: Transformer → last-token
    Pooling → Normalize, padded on the left."""
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    transformer = Transformer(
        str(request.source),
        model_kwargs={"dtype": torch_dtype(request.precision, request.runtime), **kwargs},
        processor_kwargs={"padding_side": "left", **kwargs},
    )
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="lasttoken")
    return _load_sentence_transformer(request, [transformer, pooling, Normalize()]).eval()


def _has_modules_json(request: LoadRequest) -> bool:
    from pathlib import Path

    if request.is_local:
        return (Path(request.source) / "modules.json").is_file()
    try:
        from huggingface_hub import hf_hub_download

        hf_hub_download(request.source, "modules.json", revision=request.revision)
        return True
    except Exception:
        return False
