"""Token counts in responses: each dialect's own totals, plus the tokens of each input item.

Every dialect keeps the fields its clients read (OpenAI's and Infinity's `usage.prompt_tokens` and
`total_tokens`, Cohere's `meta.billed_units.input_tokens`) and gains one list, `item_tokens`, under
the same name everywhere: the tokens of each input item, in input order, so a client can see which
item cost what (TEI #63, Infinity #473). Clients that do not know the field ignore it: the openai
and cohere SDKs keep unknown fields (cohere's v1 `Client.embed` drops it when it merges batches),
LangChain, LlamaIndex and LiteLLM read only the totals.

The list is left out when the engine reports no per-item counts (a result built without them), so
a present list always has one entry per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omniembed.engine.items import EmbedResult


def _listed(counts: Sequence[int] | None) -> list[int] | None:
    return [int(count) for count in counts] if counts else None


def token_usage(prompt_tokens: int, **lists: Sequence[int] | None) -> dict[str, Any]:
    """The OpenAI-shaped `usage` block (OpenAI, Infinity, score, classify) with per-item lists."""
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    for name, counts in lists.items():
        listed = _listed(counts)
        if listed is not None:
            usage[name] = listed
    return usage


def embed_usage(result: EmbedResult) -> dict[str, Any]:
    return token_usage(result.prompt_tokens, item_tokens=result.item_tokens)


def cohere_billed_units(result: EmbedResult) -> dict[str, Any]:
    billed: dict[str, Any] = {"input_tokens": result.prompt_tokens, "images": result.image_count}
    listed = _listed(result.item_tokens)
    if listed is not None:
        billed["item_tokens"] = listed
    return billed
