"""Translate score/classify requests into the engine's scoring calls and back."""

from __future__ import annotations

from typing import Any

from omniembed.api.content import content_item
from omniembed.api.inputs import check_count
from omniembed.api.scoring.protocol import ClassifyRequest, ScoreRequest
from omniembed.engine.items import Item
from omniembed.engine.scoring import Scoring
from omniembed.errors import InvalidInputError, PayloadTooLargeError
from omniembed.settings import Settings


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
        "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
    }


def _check_labels(body: ClassifyRequest, settings: Settings) -> None:
    check_count(len(body.labels), settings, "labels")
    if any(not label.strip() for label in body.labels):
        raise InvalidInputError("Labels must be non-empty strings.", param="labels")
    templates = body.templates or ()
    longest = max(map(len, body.labels)) + max((len(t) - 2 for t in templates), default=0)
    if longest > settings.max_text_chars:
        raise PayloadTooLargeError(
            f"A label in a template makes a prompt of {longest} characters; "
            f"the limit is {settings.max_text_chars}.",
            param="templates",
        )
    # Every label is embedded once per template: the product is what the engine is asked for.
    prompts = len(body.labels) * max(1, len(templates))
    if prompts > settings.max_items_per_request:
        raise PayloadTooLargeError(
            f"{len(body.labels)} labels x {len(templates)} templates make {prompts} prompts; "
            f"the limit is {settings.max_items_per_request}.",
            param="templates",
        )


async def classify(body: ClassifyRequest, scoring: Scoring, settings: Settings) -> dict[str, Any]:
    inputs = _items(body.inputs, settings, "inputs")
    _check_labels(body, settings)
    result = await scoring.classify(
        body.model, inputs, body.labels, templates=body.templates, multi_label=body.multi_label
    )
    data = []
    for index, (similarities, probabilities) in enumerate(
        zip(result.similarities, result.probabilities, strict=True)
    ):
        order = sorted(range(len(result.labels)), key=lambda j: -float(probabilities[j]))
        ranked = [
            {
                "label": result.labels[j],
                "score": float(probabilities[j]),
                "similarity": float(similarities[j]),
            }
            for j in order
        ]
        data.append({"index": index, "label": ranked[0]["label"], "labels": ranked})
    return {
        "object": "classification",
        "model": result.model,
        "multi_label": body.multi_label,
        "calibrated": result.calibrated,
        "data": data,
        "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
    }
