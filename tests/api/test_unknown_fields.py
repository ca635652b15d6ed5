"""A misspelt or unsupported field is a 400 naming it, in the route's own error shape; fields the
official SDKs and common integrations send by design are accepted."""

from __future__ import annotations

import pytest

from tests.support.media import data_uri, encode, photo

IMAGE = data_uri(encode(photo("rocket")))
OPENAI = "openai"
COHERE = "cohere"

ROUTES = [
    ("/v1/embeddings", {"model": "minilm", "input": "hello"}, OPENAI),
    ("/v2/embed", {"model": "minilm", "texts": ["hello"]}, COHERE),
    ("/v1/embed", {"model": "minilm", "texts": ["hello"]}, COHERE),
    ("/embeddings", {"model": "minilm", "input": ["hello"]}, OPENAI),
    ("/embeddings_image", {"model": "tiny-clip", "input": [IMAGE]}, OPENAI),
    ("/v1/score", {"model": "minilm", "queries": ["a"], "documents": ["b"]}, OPENAI),
    ("/v1/classify", {"model": "minilm", "inputs": ["a"], "labels": ["b", "c"]}, OPENAI),
]


def _param_and_message(body, dialect):
    if dialect == COHERE:
        assert set(body) == {"message", "code"}
        return None, body["message"]
    return body["error"]["param"], body["error"]["message"]


@pytest.mark.parametrize(("path", "body", "dialect"), ROUTES)
async def test_unknown_top_level_field_is_400_naming_it(client, path, body, dialect):
    ok = await client.post(path, json=body)
    assert ok.status_code == 200, ok.text
    response = await client.post(path, json={**body, "normalise": False})
    assert response.status_code == 400, response.text
    param, message = _param_and_message(response.json(), dialect)
    assert "normalise" in message and "unknown parameter" in message
    assert param in (None, "normalise")


@pytest.mark.parametrize(
    ("path", "body", "dialect"),
    [
        (
            "/v1/embeddings",
            {
                "model": "tiny-clip",
                "input": [{"type": "image_url", "image_url": {"url": IMAGE, "detial": "x"}}],
            },
            OPENAI,
        ),
        (
            "/v2/embed",
            {"model": "tiny-clip", "inputs": [{"content": [{"type": "text", "text": "a", "txt": "b"}]}]},
            COHERE,
        ),
    ],
)
async def test_unknown_nested_field_is_400_naming_it(client, path, body, dialect):
    response = await client.post(path, json=body)
    assert response.status_code == 400, response.text
    _, message = _param_and_message(response.json(), dialect)
    assert ("detial" in message) or ("txt" in message)


async def test_fields_the_sdks_send_are_accepted(client):
    # openai SDK (user, encoding_format, dimensions), vLLM clients (priority), Cohere v2 SDK (priority,
    # max_tokens), Infinity's client (user, dimensions=0, encoding_format, modality).
    openai = {"model": "minilm", "input": ["a"], "user": "u1", "encoding_format": "base64", "priority": 0}
    cohere = {
        "model": "minilm",
        "texts": ["a"],
        "priority": 0,
        "max_tokens": 64,
        "input_type": "search_query",
    }
    cohere_v1 = {"model": "minilm", "texts": ["a"], "input_type": "search_query", "truncate": "END"}
    infinity = {"model": "minilm", "input": ["a"], "user": "u", "dimensions": 0, "encoding_format": "float"}
    for path, body in (
        ("/v1/embeddings", openai),
        ("/v2/embed", cohere),
        ("/v1/embed", cohere_v1),
        ("/embeddings", {**infinity, "modality": "text"}),
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 200, (path, response.text)
