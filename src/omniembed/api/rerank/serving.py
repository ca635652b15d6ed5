"""Translate each dialect's rerank request into the engine's neutral `Reranker.rerank` call and its
result back into the dialect's response.

Documents become engine parts: texts (Cohere's object documents as the text of their `rank_fields`:
one field's value as it is, several as `field: value` lines, as Cohere reads YAML-like objects) and,
for image rerankers, Jina's `{"image": ...}` documents. Blank documents are scored like any other (a
retriever may hand over an empty chunk); a blank query is refused.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omniembed.api.inputs import image_item
from omniembed.api.params import named_as
from omniembed.api.rerank.protocol import (
    CohereRerankRequest,
    JinaDocument,
    JinaRerankRequest,
    RerankV1Request,
    TeiRerankRequest,
)
from omniembed.api.usage import token_usage
from omniembed.engine.engine import Engine
from omniembed.engine.items import Part, TextInput
from omniembed.engine.rerank import Reranker, RerankResult
from omniembed.errors import CapabilityError, InvalidInputError, PayloadTooLargeError, TooManyInputsError
from omniembed.settings import Settings

Document = str | JinaDocument | dict[str, str]


@dataclass
class Ranked:
    result: RerankResult
    top: list[int]  # document indices, most relevant first, cut to top_n


def default_reranker(engine: Engine, model: str | None) -> str | None:
    """`model` left out: the first served cross-encoder, else the first model that reranks; a server
    without one falls through to its default model, whose refusal names the problem."""
    if model:
        return model
    specs = [runner.spec for runner in engine.runners.values()]
    found = next((s for s in specs if s.output == "score"), None)
    found = found or next((s for s in specs if "rerank" in s.tasks), None)
    return found.name if found else None


async def rerank(
    engine: Engine,
    settings: Settings,
    model: str | None,
    query: Part,
    documents: Sequence[Part],
    *,
    top_n: int | None = None,
    max_tokens_per_doc: int | None = None,
    raw_scores: bool = False,
    param: str = "documents",
    as_invalid: bool = False,
) -> Ranked:
    """`as_invalid`: too many documents is a 400 (Cohere's answer) instead of a 413."""
    _check_count(len(documents), settings, param, as_invalid)
    if isinstance(query, TextInput) and not query.text.strip():
        raise InvalidInputError("The query is empty.", param="query")
    with named_as({"input": param, "documents": param}):
        result = await Reranker(engine).rerank(
            default_reranker(engine, model),
            query,
            documents,
            max_tokens_per_doc=max_tokens_per_doc,
            raw_scores=raw_scores,
        )
    return Ranked(result, result.order[:top_n] if top_n else result.order)


def _check_count(count: int, settings: Settings, param: str, as_invalid: bool) -> None:
    """As inputs.check_count, with messages naming the field: Cohere's error body has no `param`."""
    if count == 0:
        raise InvalidInputError(f"'{param}' is empty; send at least one document.", param=param)
    limit = settings.max_items_per_request
    if count > limit:
        refuse = TooManyInputsError if as_invalid else PayloadTooLargeError
        raise refuse(f"{count} {param} in one request; the limit is {limit}.", param=param)


def cohere_text(document: str | dict[str, str], fields: list[str] | None, param: str) -> str:
    if isinstance(document, str):
        return document
    wanted = fields or ["text"]
    found = [(name, document[name]) for name in wanted if name in document]
    if not found:
        listing = ", ".join(repr(name) for name in wanted)
        raise InvalidInputError(f"The document has none of the rank fields {listing}.", param=param)
    if len(found) == 1:
        return found[0][1]
    return "\n".join(f"{name}: {value}" for name, value in found)


def jina_part(document: str | JinaDocument, param: str) -> Part:
    if isinstance(document, str):
        return TextInput(document)
    if (document.text is None) == (document.image is None):
        raise InvalidInputError("A document object has exactly one of 'text' or 'image'.", param=param)
    if document.image is not None:
        return image_item(document.image, f"{param}.image")
    return TextInput(document.text or "")


def _part(document: Document, fields: list[str] | None, param: str) -> Part:
    if isinstance(document, JinaDocument):
        return jina_part(document, param)
    return TextInput(cohere_text(document, fields, param))


def _echo(document: Document) -> dict[str, Any]:
    if isinstance(document, str):
        return {"text": document}
    if isinstance(document, JinaDocument):
        return document.model_dump(exclude_none=True)
    return dict(document)


def _results(ranked: Ranked, documents: Sequence[Document] | None) -> list[dict[str, Any]]:
    results = []
    for index in ranked.top:
        row: dict[str, Any] = {"index": index, "relevance_score": float(ranked.result.scores[index])}
        if documents is not None:
            row["document"] = _echo(documents[index])
        results.append(row)
    return results


def _cohere_meta(version: str, ranked: Ranked) -> dict[str, Any]:
    units = math.ceil(len(ranked.result.scores) / 100)  # Cohere bills one unit per 100 documents
    billed = {"search_units": units, "input_tokens": ranked.result.prompt_tokens}
    return {"api_version": {"version": version}, "billed_units": billed}


def _usage(ranked: Ranked) -> dict[str, Any]:
    result = ranked.result
    return token_usage(result.prompt_tokens, document_tokens=result.document_tokens)


async def _cohere_rerank(
    body: CohereRerankRequest | RerankV1Request, engine: Engine, settings: Settings
) -> Ranked:
    """Both Cohere bodies: documents as strings or objects read through `rank_fields`; too many
    documents is a 400, as Cohere answers."""
    parts = [_part(d, body.rank_fields, f"documents[{i}]") for i, d in enumerate(body.documents)]
    return await rerank(
        engine,
        settings,
        body.model,
        TextInput(body.query),
        parts,
        top_n=body.top_n,
        max_tokens_per_doc=body.max_tokens_per_doc,
        as_invalid=True,
    )


async def cohere_v2(body: CohereRerankRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    if body.relevant_spans is not None and body.relevant_spans.mode == "enabled":
        raise CapabilityError(
            "relevant_spans mode 'enabled': no reranker here returns relevant spans.",
            param="relevant_spans.mode",
        )
    ranked = await _cohere_rerank(body, engine, settings)
    echoed = body.documents if body.return_documents else None
    return {"id": uuid.uuid4().hex, "results": _results(ranked, echoed), "meta": _cohere_meta("2", ranked)}


async def v1(body: RerankV1Request, engine: Engine, settings: Settings) -> dict[str, Any]:
    """Cohere v1's keys and Jina's/vLLM's in one body; documents unless `return_documents: false`
    (Jina's and vLLM's default; Cohere's clients ignore a document they did not ask for)."""
    ranked = await _cohere_rerank(body, engine, settings)
    echoed = body.documents if body.return_documents is not False else None
    return {
        "id": uuid.uuid4().hex,
        "model": ranked.result.model,
        "results": _results(ranked, echoed),
        "usage": _usage(ranked),
        "meta": _cohere_meta("1", ranked),
    }


async def jina(body: JinaRerankRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    query = jina_part(body.query, "query")
    parts = [jina_part(d, f"documents[{i}]") for i, d in enumerate(body.documents)]
    ranked = await rerank(
        engine,
        settings,
        body.model,
        query,
        parts,
        top_n=body.top_n,
        max_tokens_per_doc=body.max_tokens_per_doc,
    )
    return {
        "id": f"rerank-{uuid.uuid4().hex}",
        "model": ranked.result.model,
        "results": _results(ranked, body.documents if body.return_documents else None),
        "usage": _usage(ranked),
    }


async def tei(body: TeiRerankRequest, engine: Engine, settings: Settings) -> list[dict[str, Any]]:
    """TEI's ranks, most relevant first. Pairs longer than the model's context are always cut at
    the end (TEI's `--auto-truncate`), whatever `truncate` says; cutting the start is refused."""
    if body.truncation_direction.lower() != "right":
        raise InvalidInputError(
            "Only truncation_direction 'right' is supported: a long pair loses its end.",
            param="truncation_direction",
        )
    parts = [TextInput(text) for text in body.texts]
    ranked = await rerank(
        engine, settings, body.model, TextInput(body.query), parts, raw_scores=body.raw_scores, param="texts"
    )
    ranks = []
    for index in ranked.top:
        rank: dict[str, Any] = {"index": index, "score": float(ranked.result.scores[index])}
        if body.return_text:
            rank["text"] = body.texts[index]
        ranks.append(rank)
    return ranks
