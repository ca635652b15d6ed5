"""Reranking: one query against many documents, scored by the model that reads them.

A cross-encoder (`ModelSpec.output == "score"`) scores each (query, document) pair in one forward;
the pairs of every request share the model's batches under the token budget (a pair's cost is its
real sequence length). A late-interaction model scores by MaxSim between the query's token vectors
and each document's. Scores come back in the documents' order with the ranking (highest first; equal
scores keep the documents' order) and the per-document token counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omniembed.engine.engine import Engine
from omniembed.engine.fused import FusedItems
from omniembed.engine.items import EmbedOptions, Part, TextInput
from omniembed.engine.runner import awaited
from omniembed.engine.scoring import maxsim
from omniembed.errors import CapabilityError, InvalidInputError, PayloadTooLargeError


@dataclass
class RerankResult:
    model: str
    scores: np.ndarray  # per document, in the documents' order
    order: list[int]  # document indices, most relevant first
    document_tokens: list[int] = field(default_factory=list)  # per document (the pair's, for cross-encoders)
    raw: bool = False  # scores are the model's logits, without its activation

    @property
    def prompt_tokens(self) -> int:
        return sum(self.document_tokens)


def ranking(scores: np.ndarray) -> list[int]:
    return sorted(range(len(scores)), key=lambda index: -float(scores[index]))  # stable: ties keep order


class Reranker:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(self, documents: Sequence[Part], max_tokens_per_doc: int | None) -> None:
        policy = self.engine.policy
        if not documents:
            raise InvalidInputError("Send at least one document.", param="documents")
        if len(documents) > policy.max_items_per_request:
            raise PayloadTooLargeError(
                f"{len(documents)} documents in one request; the limit is {policy.max_items_per_request}.",
                param="documents",
            )
        if max_tokens_per_doc is not None and max_tokens_per_doc < 1:
            raise InvalidInputError("'max_tokens_per_doc' must be at least 1.", param="max_tokens_per_doc")

    async def rerank(
        self,
        model: str | None,
        query: Part,
        documents: Sequence[Part],
        *,
        max_tokens_per_doc: int | None = None,
        raw_scores: bool = False,
    ) -> RerankResult:
        runner = self.engine.runner(model)
        spec = runner.spec
        self.check(documents, max_tokens_per_doc)
        if spec.output == "multivector":
            return await self._maxsim(spec.name, query, documents, max_tokens_per_doc)
        if spec.output != "score":
            raise CapabilityError(
                f"Model '{spec.name}' is an embedder ({spec.output} output), not a reranker; serve a "
                "cross-encoder (e.g. BAAI/bge-reranker-v2-m3) or a late-interaction model to rerank.",
                param="model",
            )
        fused = FusedItems(self.engine.media, runner)
        fused.check([query, *documents])
        tower: Any = fused.tower
        if max_tokens_per_doc is not None:
            documents = [self._cut(tower, part, max_tokens_per_doc) for part in documents]
        for index, part in enumerate(documents):
            if isinstance(part, TextInput):
                self.engine.check_text(part.text, index)
        with runner.admit(len(documents)):
            query_part = await fused.model_part(query)
            parts = await awaited([fused.model_part(document) for document in documents])
            loop = asyncio.get_running_loop()
            features = await awaited(
                [
                    loop.run_in_executor(self.engine.pool, tower.preprocess, [query_part, part])
                    for part in parts
                ]
            )
            raw = np.asarray(await runner.run("fused", features), dtype=np.float32)
        scores = raw if raw_scores else tower.activate(raw)
        tokens = [tower.tokens(feature) for feature in features]
        return RerankResult(spec.name, scores, ranking(scores), tokens, raw=raw_scores)

    @staticmethod
    def _cut(tower: Any, part: Part, limit: int) -> Part:
        return TextInput(tower.document_tokens(part.text, limit)) if isinstance(part, TextInput) else part

    async def _maxsim(
        self, model: str, query: Part, documents: Sequence[Part], max_tokens: int | None
    ) -> RerankResult:
        ask = EmbedOptions(output="multivector", input_type="search_query")
        tell = EmbedOptions(output="multivector", input_type="search_document", max_tokens=max_tokens)
        left, right = await asyncio.gather(
            self.engine.embed(model, [query], ask), self.engine.embed(model, list(documents), tell)
        )
        assert left.multivectors is not None and right.multivectors is not None
        scores = maxsim(left.multivectors[:1], right.multivectors)[0]
        return RerankResult(model, scores, ranking(scores), right.item_tokens, raw=True)
