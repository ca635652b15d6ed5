"""sentence-transformers' asymmetric encoders served item by item: `MultiVectorEncoder` (ColBERT-style
late interaction, and the `*ForRetrieval` visual retrievers it loads, ColQwen3 and kin) here, and
`SparseEncoder` (SPLADE) in sparse.py.

Both ride on `SentenceFusedTower` (each item pre-processed alone on a CPU thread, items of many requests
joined into one forward of the model's module stack) and add what `encode_query` / `encode_document`
add: the task's prompt when the caller gives none, the task's text length (`query_length`,
`document_length`), and `task` itself, which the input module reads (query expansion, task-aware chat
templates, a Router's query or document route) and the module stack reads (MultiVectorMask's skiplist
and expansion positions). Features of different tasks are never joined: the forward takes one task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from omniembed.models.base import Adapter, ModelPart, ModelSpec, Task, Truncation, Turn
from omniembed.models.declared import read_declared, spec_facts
from omniembed.models.registry import LoadRequest
from omniembed.models.sentence_multimodal import TASK_KEY, SentenceFusedTower
from omniembed.models.torch_towers import hf_load_kwargs, resolve_device, to_numpy, torch_dtype

# The prompt names encode_document tries, in its order.
DOCUMENT_PROMPTS = ("document", "passage", "corpus")


def side(task: Task | None) -> Task:
    """No task is a document, as in sentence-transformers' `encode_document`."""
    return task or "document"


class TaskSentenceTower(SentenceFusedTower):
    """A sentence-transformers model whose inputs are preprocessed and forwarded for a task."""

    def preprocess(
        self,
        parts: Sequence[ModelPart] | Sequence[Turn],
        prompt: str | None = None,
        truncation: Truncation = Truncation.END,
        max_tokens: int | None = None,
        task: Task | None = None,
    ) -> dict[str, Any]:
        feature = super().preprocess(parts, prompt, truncation, max_tokens, task)
        feature[TASK_KEY] = side(task)
        return feature

    def task_prompt(self, prompt: str | None, task: Task | None) -> str | None:
        if prompt is not None:
            return prompt
        prompts: dict[str, str] = self.model.prompts
        for name in ("query",) if side(task) == "query" else DOCUMENT_PROMPTS:
            if name in prompts:
                return prompts[name] or None
        default = self.model.default_prompt_name
        return prompts.get(default) if default else None

    def task_kwargs(self, task: Task | None) -> dict[str, Any]:
        return {"task": side(task)}

    def input_module(self, task: Task | None) -> Any:
        """The module that reads this task's inputs: a Router's route for the task, else the first."""
        first = self.model[0]
        routes = getattr(first, "sub_modules", None)
        if routes is None:
            return first
        try:
            return routes[first._resolve_route(task=side(task), modality=None)][0]
        except ValueError:
            return first

    def task_length(self, task: Task | None) -> int:
        module = self.input_module(task)
        length = getattr(module, f"{side(task)}_length", None) or getattr(module, "max_seq_length", None)
        return int(length) if length else self.max_tokens

    def text_length(self, limit: int, task: Task | None) -> dict[str, Any]:
        # Query expansion fixes a query's width itself (padded with expansion tokens up to its length).
        if side(task) == "query" and getattr(self.input_module(task), "query_expansion", None) is not None:
            return {}
        return {"max_length": limit}


class MultiVectorTower(TaskSentenceTower):
    """One matrix per item: its token (or patch) vectors that the model's scoring mask keeps."""

    def forward(self, batch: list[tuple[list[int], dict[str, Any]]]) -> list[np.ndarray]:  # type: ignore[override]
        from sentence_transformers.multi_vector_encoder.modules.token_pooling import (
            _normalize_token_embeddings,
        )

        rows: list[np.ndarray] = [np.empty(0)] * sum(len(indices) for indices, _ in batch)
        for indices, joined in batch:
            tensors, task = self._model_inputs(joined)
            with torch.inference_mode():
                features = self.model.forward(tensors, task=task)
                masks = features["attention_mask"].bool()
                for index, tokens, mask in zip(indices, features["token_embeddings"], masks, strict=True):
                    kept = tokens[mask]
                    if self.dimension is not None:
                        kept = _normalize_token_embeddings(kept[..., : self.dimension])
                    rows[index] = to_numpy(kept)
        return rows


def load_sentence_transformers(request: LoadRequest, model_class: str) -> Any:
    import sentence_transformers

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    model_kwargs = {"dtype": torch_dtype(request.precision, request.runtime)}
    loader = getattr(sentence_transformers, model_class)
    device = str(resolve_device(request.device))
    return loader(str(request.source), device=device, model_kwargs=model_kwargs, **kwargs).eval()


def load(request: LoadRequest) -> Adapter:
    model = load_sentence_transformers(request, "MultiVectorEncoder")
    declared = read_declared(request.source)
    truncate = declared.truncate_dim or model.truncate_dim
    full = int(model._get_untruncated_embedding_dimension())
    dimension = min(full, truncate or full)
    tower = MultiVectorTower(model, resolve_device(request.device), dimension if dimension < full else None)
    spec = ModelSpec(
        name=request.name,
        family="multi_vector_encoder",
        source=request.source,
        modalities=tower.modalities,
        dimension=dimension,
        max_text_tokens=tower.max_tokens,
        normalize=True,
        **spec_facts(request, dimension, declared).fields(),
        description=request.entry.description if request.entry else "",
        aliases=request.aliases,
        interleaved="native" if tower.native else "mean",
        output="multivector",
    )
    return Adapter(spec=spec, fused=tower, resources=[model])
