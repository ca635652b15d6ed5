"""sentence-transformers `SparseEncoder` models (SPLADE: a masked-LM backbone and SPLADE pooling;
inference-free SPLADE: a Router with static query weights and an MLM document side) served as learned
sparse vectors over the vocabulary.

The tower is sentence_multivector's task-aware tower: queries and documents get their own prompts,
lengths and Router route, as `encode_query` / `encode_document` give them. Each row becomes the
non-zero entries of the model's output, ascending by vocabulary id (what `encode`'s sparse COO tensor
holds), cut to the model's `max_active_dims` when it declares one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from omniembed.models.base import Adapter, ModelSpec, SparseVector
from omniembed.models.declared import read_declared, spec_facts
from omniembed.models.registry import LoadRequest
from omniembed.models.sentence_multivector import TaskSentenceTower, load_sentence_transformers
from omniembed.models.torch_towers import resolve_device


class SparseTower(TaskSentenceTower):
    def forward(self, batch: list[tuple[list[int], dict[str, Any]]]) -> list[SparseVector]:  # type: ignore[override]
        from sentence_transformers.util import select_max_active_dims

        limit: int | None = self.model.max_active_dims
        extra = {"max_active_dims": limit} if limit is not None else {}
        rows: list[SparseVector | None] = [None] * sum(len(indices) for indices, _ in batch)
        for indices, joined in batch:
            tensors, task = self._model_inputs(joined)
            with torch.inference_mode():
                weights = self.model.forward(tensors, task=task, **extra)["sentence_embedding"]
                if limit is not None:
                    weights = select_max_active_dims(weights, max_active_dims=limit)
            for index, row in zip(indices, weights, strict=True):
                rows[index] = sparse_vector(row)
        return [row for row in rows if row is not None]


def sparse_vector(row: torch.Tensor) -> SparseVector:
    ids = torch.nonzero(row).squeeze(-1)  # ascending
    return SparseVector(
        indices=ids.cpu().numpy().astype(np.int64),
        values=row[ids].detach().to("cpu", torch.float32).numpy(),
        dimension=int(row.shape[-1]),
    )


def vocabulary_size(model: Any) -> int:
    """The sparse vectors' dimension: the masked-LM head's vocabulary, else the model's own word."""
    backbone = getattr(model, "transformers_model", None)
    size = getattr(getattr(backbone, "config", None), "vocab_size", None)
    return int(size or model.get_embedding_dimension())


def load(request: LoadRequest) -> Adapter:
    model = load_sentence_transformers(request, "SparseEncoder")
    tower = SparseTower(model, resolve_device(request.device), None)
    dimension = vocabulary_size(model)
    declared = read_declared(request.source)
    facts = spec_facts(request, dimension, declared).fields()
    spec = ModelSpec(
        name=request.name,
        family="sparse_encoder",
        source=request.source,
        modalities=tower.modalities,
        dimension=dimension,
        max_text_tokens=tower.max_tokens,
        normalize=False,  # SPLADE weights are compared by dot product, as they are
        prompts=facts["prompts"],
        matryoshka_rule="none",
        description=request.entry.description if request.entry else "",
        aliases=request.aliases,
        output="sparse",
    )
    return Adapter(spec=spec, fused=tower, resources=[model])
