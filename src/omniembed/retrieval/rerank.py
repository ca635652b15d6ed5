"""A rerank stage after search: the first `candidates` hits are read again, with the query, by a
served reranker (a cross-encoder, or a late-interaction model by MaxSim), and the `top_n` most
relevant come back ordered by its score.

The reranker reads each hit's stored text: an item's text, a PDF page's text layer, or an image's
OCR text. The stores keep no media (only vectors and payloads), so images, videos and sounds
without text cannot be read again, even by an image reranker: they follow the reranked hits in
their first-stage order, without a `rerank_score`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omniembed.engine.engine import Engine
from omniembed.engine.items import TextInput
from omniembed.engine.rerank import Reranker
from omniembed.errors import InvalidInputError, OmniEmbedError
from omniembed.retrieval import payload as checks
from omniembed.retrieval.schema import Hit

if TYPE_CHECKING:
    from omniembed.embedder import Embedder

DEFAULT_CANDIDATES = 50


@dataclass(frozen=True)
class RerankStage:
    model: str
    top_n: int | None = None  # default: the search's top_k
    candidates: int | None = None  # first-stage hits read (default: max(top_n, 50))

    def first_stage(self, top_k: int, max_items: int) -> tuple[int, int]:
        """(hits to fetch, hits to keep): at most as many as the reranker takes in one call."""
        top_n = self.top_n or top_k
        fetch = self.candidates or min(max(top_n, DEFAULT_CANDIDATES), checks.MAX_TOP_K, max_items)
        return fetch, top_n


def rerank_stage(value: RerankStage | Mapping[str, Any] | str | None) -> RerankStage | None:
    """The Python API's spellings: a model name, a mapping like the HTTP body's, or a stage."""
    if value is None or isinstance(value, RerankStage):
        stage = value
    elif isinstance(value, str):
        stage = RerankStage(model=value)
    elif isinstance(value, Mapping):
        unknown = set(value) - {"model", "top_n", "candidates"}
        if unknown or "model" not in value:
            raise InvalidInputError(
                "rerank is a model name or {'model', 'top_n'?, 'candidates'?}.", param="rerank"
            )
        stage = RerankStage(value["model"], value.get("top_n"), value.get("candidates"))
    else:
        raise InvalidInputError(
            "rerank is a model name or {'model', 'top_n'?, 'candidates'?}.", param="rerank"
        )
    if stage is not None:
        _check(stage)
    return stage


def _check(stage: RerankStage) -> None:
    if not isinstance(stage.model, str) or not stage.model:
        raise InvalidInputError("rerank.model names a served reranker.", param="rerank.model")
    for name in ("top_n", "candidates"):
        value = getattr(stage, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= checks.MAX_TOP_K
        ):
            raise InvalidInputError(
                f"rerank.{name} is an integer from 1 to {checks.MAX_TOP_K}.", param=f"rerank.{name}"
            )


async def rerank_hits(
    engine: Engine, query: str | None, hits: list[Hit], stage: RerankStage, top_n: int
) -> list[Hit]:
    if not query or not query.strip():
        raise InvalidInputError("Reranking reads the query text; give one.", param="rerank")
    readable = [index for index, hit in enumerate(hits) if hit.text is not None]
    unread = [hit for hit in hits if hit.text is None]
    if not readable:
        return unread[:top_n]
    documents = [TextInput(hits[index].text or "") for index in readable]
    try:
        result = await Reranker(engine).rerank(stage.model, TextInput(query), documents)
    except OmniEmbedError as error:
        # The engine names its own parameters; here they are the stage's.
        error.param = "rerank.candidates" if error.param in ("documents", "input") else "rerank.model"
        raise
    ranked = [
        dataclasses.replace(hits[readable[position]], rerank_score=float(result.scores[position]))
        for position in result.order
    ]
    return [*ranked, *unread][:top_n]


def serve_reranker(embedder: Embedder, model: str) -> str:
    """The served name of `model`, loaded into the embedder's engine first if it serves no such
    model (an Embedder serves one model; the collection's model stays the default)."""
    from omniembed.engine.bootstrap import load_models
    from omniembed.errors import ModelNotFoundError

    engine = embedder.engine
    try:
        return engine.runner(model).spec.name
    except ModelNotFoundError:
        settings = embedder.settings.model_copy(update={"models": [model]})
        embedder.run(load_models(engine, settings))
        return engine.names()[-1]
