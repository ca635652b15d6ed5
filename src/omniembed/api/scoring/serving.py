"""Translate score/classify requests into the engine's scoring calls and back."""

from __future__ import annotations

from typing import Any

from omniembed.api.content import content_item
from omniembed.api.inputs import check_count
from omniembed.api.scoring.protocol import ClassifyRequest, ScoreRequest
from omniembed.api.usage import token_usage
from omniembed.engine.items import Item
from omniembed.engine.scoring import Scoring, check_labels
from omniembed.settings import Settings


def _per_item(counts: list[int]) -> list[int] | None:
    """Per-item token counts, left out when the engine has none."""
    return list(counts) if counts else None


def _items(values: list[Any], settings: Settings, name: str) -> list[Item]:
    check_count(len(values), settings, name)
    return [content_item(value, settings, f"{name}[{i}]") for i, value in enumerate(values)]


async def score(body: ScoreRequest, scoring: Scoring, settings: Settings) -> dict[str, Any]:
    queries = _items(body.queries, settings, "queries")
    documents = _items(body.documents, settings, "documents")
    result = await scoring.score(
        body.model,
        queries,
        documents,
        query_type=body.query_input_type,
        document_type=body.document_input_type,
    )
    return {
        "object": "score",
        "model": result.model,
        "scores": result.similarities,
        "logits": result.logits,
        "probabilities": result.probabilities,
        "activation": result.activation,
        "metric": result.metric,
        "usage": token_usage(
            result.prompt_tokens,
            query_tokens=_per_item(result.query_tokens),
            document_tokens=_per_item(result.document_tokens),
        ),
    }


async def classify(body: ClassifyRequest, scoring: Scoring, settings: Settings) -> dict[str, Any]:
    inputs = _items(body.inputs, settings, "inputs")
    # The engine checks labels too, under its own limits (the Python API's); this app's may be stricter.
    limits = {"max_text_chars": settings.max_text_chars, "max_items": settings.max_items_per_request}
    check_labels(body.labels, body.templates or (), **limits)
    result = await scoring.classify(
        body.model, inputs, body.labels, templates=body.templates, multi_label=body.multi_label
    )
    data = []
    for index, ranking in enumerate(result.ranked()):
        ranked = [{"label": label, "score": score, "similarity": sim} for label, score, sim in ranking]
        data.append({"index": index, "label": ranked[0]["label"], "labels": ranked})
    return {
        "object": "classification",
        "model": result.model,
        "multi_label": body.multi_label,
        "calibrated": result.calibrated,
        "data": data,
        "usage": token_usage(result.prompt_tokens, item_tokens=_per_item(result.item_tokens)),
    }
