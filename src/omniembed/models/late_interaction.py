"""Visual-document retrievers through transformers: ColPali, ColQwen2 and ColModernVBert
(`*ForRetrieval` with their processors).

A page image and a query are embedded as one vector per token (per image patch and prompt token for a
page), scored by MaxSim. Text is always read as a query (`process_queries`: the query prefix and the
augmentation tokens the models were trained with), images as documents (`process_images`: the visual
prompt); the processors have no other treatment, so `task` changes nothing here. One part per item:
the engine fuses nothing for multi-vector outputs.

Each item is processed alone on a CPU thread; the batcher joins items of many requests as the processor
joins a batch (sentence_multimodal.join_features), and forward returns each item's vectors where the
attention mask is set (the model's own embeddings are already L2-normalized and masked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from omniembed.errors import CapabilityError, ConfigurationError, InputTooLongError, InvalidInputError
from omniembed.models.base import Adapter, FusedTower, ModelPart, ModelSpec, Task, Truncation, Turn
from omniembed.models.declared import read_declared, spec_facts
from omniembed.models.registry import LoadRequest
from omniembed.models.sentence_multimodal import UNSET_LENGTH, join_features
from omniembed.models.torch_towers import hf_load_kwargs, resolve_device, to_numpy, torch_dtype

MODEL_CLASSES = {
    "colpali": "ColPaliForRetrieval",
    "colqwen2": "ColQwen2ForRetrieval",
    "colmodernvbert": "ColModernVBertForRetrieval",
}
KIND_KEY = "omniembed_kind"  # text or image: the two are never joined (their tensors differ)


class RetrievalTower(FusedTower):
    def __init__(self, model: Any, processor: Any, device: torch.device) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.accepts = frozenset({"text", "image"})
        tokenizer = processor.tokenizer
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.pad_left = getattr(tokenizer, "padding_side", "right") == "left"
        length = getattr(tokenizer, "model_max_length", None)
        text_config = model.config.get_text_config()
        positions = int(getattr(text_config, "max_position_embeddings", None) or 8192)
        self.max_tokens = int(length) if length and length < UNSET_LENGTH else positions

    def preprocess(
        self,
        parts: Sequence[ModelPart] | Sequence[Turn],
        prompt: str | None = None,
        truncation: Truncation = Truncation.END,
        max_tokens: int | None = None,
        task: Task | None = None,
    ) -> dict[str, Any]:
        if len(parts) != 1 or not isinstance(parts[0], str | Image.Image):
            raise CapabilityError(
                "This model embeds one text (as a query) or one image (as a document page) per item.",
                param="input",
            )
        if truncation not in (Truncation.END, Truncation.NONE):
            raise CapabilityError(
                f"truncation '{truncation.value}' is not available for this model; use 'end' or 'none'.",
                param="truncation",
            )
        part = parts[0]
        try:
            if isinstance(part, Image.Image):
                feature = dict(self.processor.process_images([part.convert("RGB")]))
                feature[KIND_KEY] = "image"
            else:
                feature = self._query(f"{prompt}{part}" if prompt else part, truncation, max_tokens)
        except (ValueError, TypeError) as error:
            raise InvalidInputError(
                f"The model's processor refused the input: {error}", param="input"
            ) from error
        feature.pop("labels", None)  # training targets of ColPali's processor
        return feature

    def _query(self, text: str, truncation: Truncation, max_tokens: int | None) -> dict[str, Any]:
        limit = min(max_tokens or self.max_tokens, self.max_tokens)
        feature = dict(self.processor.process_queries([text]))
        if self.tokens(feature) > limit:
            if truncation is Truncation.NONE:
                raise InputTooLongError(
                    f"The input is {self.tokens(feature)} tokens; the model reads at most {limit} "
                    "(truncation 'none' refuses longer inputs).",
                    param="input",
                )
            # Cut as the processor cuts (ColPali's adds its image length to max_length: harmless here).
            feature = dict(self.processor.process_queries([text], truncation=True, max_length=limit))
        feature[KIND_KEY] = "text"
        return feature

    def tokens(self, feature: dict[str, Any]) -> int:
        return int(feature["input_ids"].shape[-1])

    def collate(self, features: Sequence[dict[str, Any]]) -> list[tuple[list[int], dict[str, Any]]]:
        groups: dict[str, list[int]] = {}
        for index, feature in enumerate(features):
            groups.setdefault(feature[KIND_KEY], []).append(index)
        batches = []
        for indices in groups.values():
            chosen = [features[i] for i in indices]
            lengths = [self.tokens(feature) for feature in chosen]
            batches.append((indices, join_features(chosen, lengths, self.pad_id, self.pad_left)))
        return batches

    def forward(self, batch: list[tuple[list[int], dict[str, Any]]]) -> list[np.ndarray]:
        rows: list[np.ndarray] = [np.empty(0)] * sum(len(indices) for indices, _ in batch)
        for indices, joined in batch:
            tensors = {
                key: value.to(self.device) for key, value in joined.items() if isinstance(value, torch.Tensor)
            }
            with torch.inference_mode():
                embeddings = self.model(**tensors).embeddings
            masks = tensors["attention_mask"].bool()
            for index, vectors, mask in zip(indices, embeddings, masks, strict=True):
                rows[index] = to_numpy(vectors[mask])
        return rows


def load(request: LoadRequest) -> Adapter:
    import transformers

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    config = transformers.AutoConfig.from_pretrained(request.source, **kwargs)
    if config.model_type not in MODEL_CLASSES:
        raise ConfigurationError(
            f"'{request.source}' is not a ColPali-style retriever ({config.model_type})."
        )
    model_class = getattr(transformers, MODEL_CLASSES[config.model_type])
    device = resolve_device(request.device)
    dtype = torch_dtype(request.precision, request.runtime)
    model = model_class.from_pretrained(request.source, dtype=dtype, **kwargs).to(device).eval()
    processor = transformers.AutoProcessor.from_pretrained(request.source, **kwargs)
    tower = RetrievalTower(model, processor, device)
    dimension = int(model.config.embedding_dim)
    declared = read_declared(request.source)
    spec = ModelSpec(
        name=request.name,
        family="late_interaction",
        source=request.source,
        modalities=("text", "image"),
        dimension=dimension,
        max_text_tokens=tower.max_tokens,
        normalize=True,
        prompts=spec_facts(request, dimension, declared).prompts,
        matryoshka_rule="none",
        description=request.entry.description if request.entry else "",
        aliases=request.aliases,
        output="multivector",
    )
    return Adapter(spec=spec, fused=tower, resources=[model])
