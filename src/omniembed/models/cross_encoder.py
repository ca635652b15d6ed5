"""Rerankers: any sentence-transformers `CrossEncoder` (BGE rerankers, ms-marco cross-encoders,
mxbai-rerank, and the multimodal rerankers sentence-transformers loads) as a fused tower over
(query, document) pairs.

A pair is pre-processed alone by the model's own `preprocess` (its tokenizer's pair template or its
processor's chat template for image documents) and joined with pairs of other requests into one
forward, as for embedders (sentence_multimodal.py). `forward` returns the raw relevance logit per
pair; `activate` applies the model's own activation (sigmoid unless its config names another), which
TEI's `raw_scores` skips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from omniembed.errors import ConfigurationError, InvalidInputError
from omniembed.models.base import Adapter, ModelPart, ModelSpec, Turn
from omniembed.models.registry import LoadRequest
from omniembed.models.sentence_multimodal import SentenceFusedTower, single_input
from omniembed.models.torch_towers import hf_load_kwargs, resolve_device, to_numpy, torch_dtype


class CrossEncoderTower(SentenceFusedTower):
    """Features are (query, document) pairs; rows are raw relevance scores."""

    def __init__(self, model: Any, device: torch.device) -> None:
        super().__init__(model, device, None)
        self.native = False  # a pair is always two inputs, never one interleaved item
        length = getattr(model, "max_seq_length", None)
        if isinstance(length, int) and 0 < length < self.max_tokens:
            self.max_tokens = length

    def model_input(self, parts: Sequence[ModelPart] | Sequence[Turn]) -> Any:
        if len(parts) != 2 or any(isinstance(part, Turn) for part in parts):
            raise InvalidInputError("A reranker scores a query and one document.", param="documents")
        query, document = parts
        return (single_input(query), single_input(document))  # type: ignore[arg-type]

    def forward(self, batch: list[tuple[list[int], dict[str, Any]]]) -> np.ndarray:
        count = sum(len(indices) for indices, _ in batch)
        scores = np.empty(count, dtype=np.float32)
        for indices, joined in batch:
            tensors, _ = self._model_inputs(joined)
            with torch.inference_mode():
                logits = self.model(tensors)["scores"]
            scores[indices] = to_numpy(logits.float().reshape(len(indices), -1)[:, 0])
        return scores

    def activate(self, raw: np.ndarray) -> np.ndarray:
        """The model's own activation on raw scores (torch.nn.Sigmoid for most rerankers)."""
        activation = self.model.activation_fn
        if activation is None:
            return raw
        with torch.inference_mode():
            return to_numpy(activation(torch.from_numpy(np.asarray(raw, dtype=np.float32))))

    def activation_name(self) -> str:
        activation = self.model.activation_fn
        return "identity" if activation is None else type(activation).__name__.lower()

    def document_tokens(self, text: str, limit: int) -> str:
        """`text` cut to its first `limit` tokens (Cohere's max_tokens_per_doc), as text again."""
        tokenizer = self.model.tokenizer
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return text if len(ids) <= limit else str(tokenizer.decode(ids[:limit]))


def load(request: LoadRequest) -> Adapter:
    from sentence_transformers import CrossEncoder

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    device = resolve_device(request.device)
    model_kwargs = {"dtype": torch_dtype(request.precision, request.runtime)}
    model = CrossEncoder(str(request.source), device=str(device), model_kwargs=model_kwargs, **kwargs).eval()
    if model.num_labels != 1:
        raise ConfigurationError(
            f"'{request.source}' gives {model.num_labels} scores per pair; a reranker gives one "
            "relevance score."
        )
    tower = CrossEncoderTower(model, device)
    entry = request.entry
    spec = ModelSpec(
        name=request.name,
        family="cross_encoder",
        source=request.source,
        modalities=tower.modalities,
        dimension=1,
        max_text_tokens=tower.max_tokens,
        normalize=False,
        matryoshka_rule="none",
        prompts=dict(getattr(model, "prompts", None) or {}),
        description=entry.description if entry else "",
        aliases=request.aliases,
        output="score",
        score_activation=None,
    )
    return Adapter(spec=spec, fused=tower, resources=[model])
