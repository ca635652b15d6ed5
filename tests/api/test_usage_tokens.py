"""Per-item token counts (`item_tokens`) next to each dialect's own totals, which stay as they were."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from tests.support.media import data_uri, encode, photo

TEXTS = ["hello", "a photo of a cat on a red sofa", "naïve"]


@pytest.fixture(scope="module")
def counts(minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    return [len(tokenizer(text)["input_ids"]) for text in TEXTS]


async def _post(client, path, body):
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_openai_usage(client, counts):
    usage = (await _post(client, "/v1/embeddings", {"model": "minilm", "input": TEXTS}))["usage"]
    assert usage == {"prompt_tokens": sum(counts), "total_tokens": sum(counts), "item_tokens": counts}


async def test_infinity_usage(client, counts):
    usage = (await _post(client, "/embeddings", {"model": "minilm", "input": TEXTS}))["usage"]
    assert usage == {"prompt_tokens": sum(counts), "total_tokens": sum(counts), "item_tokens": counts}


@pytest.mark.parametrize("path", ["/v2/embed", "/v1/embed"])
async def test_cohere_billed_units(client, counts, path):
    body = {"model": "minilm", "texts": TEXTS, "input_type": "search_document", "embedding_types": ["float"]}
    billed = (await _post(client, path, body))["meta"]["billed_units"]
    assert billed == {"input_tokens": sum(counts), "images": 0, "item_tokens": counts}


async def test_prompts_count_in_each_item(prompted_client):
    body = {"model": "prompted-minilm", "input": TEXTS[:2]}
    plain = (await _post(prompted_client, "/v1/embeddings", body))["usage"]["item_tokens"]
    body["input_type"] = "query"  # "query: " is two more tokens per item
    prompted = (await _post(prompted_client, "/v1/embeddings", body))["usage"]["item_tokens"]
    assert [count - 2 for count in prompted] == plain


async def test_images_are_items_too(client):
    parts = ["a cat", [{"type": "image_url", "image_url": data_uri(encode(photo()))}]]
    usage = (await _post(client, "/v1/embeddings", {"model": "tiny-clip", "input": parts}))["usage"]
    assert len(usage["item_tokens"]) == 2 and usage["item_tokens"][0] > 0
    assert sum(usage["item_tokens"]) == usage["prompt_tokens"]


async def test_score_usage(client, counts):
    body = {"model": "minilm", "queries": TEXTS[:1], "documents": TEXTS[1:]}
    usage = (await _post(client, "/v1/score", body))["usage"]
    assert usage["query_tokens"] == counts[:1] and usage["document_tokens"] == counts[1:]
    assert usage["prompt_tokens"] == sum(counts)


async def test_classify_usage(client, counts):
    body = {"model": "minilm", "inputs": TEXTS, "labels": ["cat", "dog"]}
    usage = (await _post(client, "/v1/classify", body))["usage"]
    assert usage["item_tokens"] == counts


async def test_openapi_documents_the_lists(client):
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "item_tokens" in schemas["Usage"]["properties"]
    assert "item_tokens" in schemas["CohereBilledUnits"]["properties"]
    assert {"query_tokens", "document_tokens"} <= set(schemas["ScoreUsage"]["properties"])
