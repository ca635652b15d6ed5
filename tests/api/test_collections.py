"""`/v1/collections` over HTTP (in-process), on the embedded store."""

from __future__ import annotations

import pytest

from tests.support.media import b64, data_uri, encode, photo


async def test_collection_round_trip(client):
    created = await client.post(
        "/v1/collections", json={"name": "http-docs", "model": "tiny-clip", "quantization": "int8"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["model"], body["dimension"], body["quantization"], body["count"]) == (
        "tiny-clip",
        16,
        "int8",
        0,
    )
    items = [
        {"id": "note", "text": "a photo of a cat", "metadata": {"source": "notes", "page": 3}},
        {"id": "cat.jpg", "image": data_uri(encode(photo("chelsea"))), "metadata": {"source": "photos"}},
        {"id": "rocket.jpg", "image": b64(encode(photo("rocket"))), "metadata": {"source": "photos"}},
    ]
    added = await client.post("/v1/collections/http-docs/items", json={"items": items})
    assert added.status_code == 200, added.text
    assert added.json() == {"added": ["note", "cat.jpg", "rocket.jpg"], "count": 3}
    search = await client.post(
        "/v1/collections/http-docs/search",
        json={
            "query": {"image": b64(encode(photo("rocket")))},
            "top_k": 2,
            "mode": "dense",
            "filter": {"source": "photos"},
        },
    )
    hits = search.json()["hits"]
    assert (
        hits[0]["id"] == "rocket.jpg"
        and hits[0]["modality"] == "image"
        and hits[0]["metadata"] == {"source": "photos"}
    )
    text_hit = (
        await client.post(
            "/v1/collections/http-docs/search", json={"query": {"text": "cat"}, "modality": ["text"]}
        )
    ).json()
    assert [h["id"] for h in text_hit["hits"]] == ["note"] and text_hit["hits"][0][
        "text"
    ] == "a photo of a cat"
    listing = (await client.get("/v1/collections")).json()["data"]
    assert "http-docs" in [c["name"] for c in listing]
    assert (await client.delete("/v1/collections/http-docs/items/cat.jpg")).status_code == 200
    assert (await client.get("/v1/collections/http-docs")).json()["count"] == 2
    assert (await client.delete("/v1/collections/http-docs")).status_code == 200
    assert (await client.get("/v1/collections/http-docs")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/collections", {"name": "bad/name", "model": "minilm"}, 400),
        ("POST", "/v1/collections", {"name": "x", "model": "missing"}, 404),
        ("POST", "/v1/collections", {"name": "x", "model": "minilm", "quantization": "int4"}, 400),
        ("POST", "/v1/collections", {"name": "x", "model": "minilm", "ocr": True}, 400),  # text-only model
        ("GET", "/v1/collections/nope", None, 404),
        ("DELETE", "/v1/collections/nope", None, 404),
        ("POST", "/v1/collections/nope/items", {"items": [{"id": "a", "text": "b"}]}, 404),
        ("POST", "/v1/collections/err/items", {"items": [{"id": "a", "text": "b", "image": "c"}]}, 400),
        ("POST", "/v1/collections/err/items", {"items": [{"id": "a"}]}, 400),
        ("POST", "/v1/collections/err/items", {"items": []}, 400),
        ("POST", "/v1/collections/err/items", {"items": [{"id": "a", "image": "!!!"}]}, 400),
        (
            "POST",
            "/v1/collections/err/items",
            {"items": [{"id": "a", "text": "b"}], "model": "tiny-clip"},
            400,
        ),
        ("POST", "/v1/collections/err/search", {"query": {}}, 400),
        ("POST", "/v1/collections/err/search", {"query": {"text": "x"}, "top_k": 0}, 400),
        ("POST", "/v1/collections/err/search", {"query": {"text": "x"}, "mode": "fuzzy"}, 400),
        ("POST", "/v1/collections/err/search", {"query": {"text": "x"}, "filter": {"a": {"b": 1}}}, 400),
    ],
)
async def test_collection_errors(client, method, path, body, status):
    if (await client.get("/v1/collections/err")).status_code == 404:
        await client.post("/v1/collections", json={"name": "err", "model": "minilm"})
    response = await client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


async def test_duplicate_collection_is_409(client):
    await client.post("/v1/collections", json={"name": "twice", "model": "minilm"})
    again = await client.post("/v1/collections", json={"name": "twice", "model": "minilm"})
    assert again.status_code == 409


async def test_search_query_may_be_a_bare_string(client):
    await client.post("/v1/collections", json={"name": "bare", "model": "minilm"})
    await client.post("/v1/collections/bare/items", json={"items": [{"id": "n", "text": "a photo of a cat"}]})
    bare = await client.post("/v1/collections/bare/search", json={"query": "a photo of a cat", "top_k": 1})
    assert bare.status_code == 200, bare.text
    spelled = await client.post(
        "/v1/collections/bare/search", json={"query": {"text": "a photo of a cat"}, "top_k": 1}
    )
    assert bare.json() == spelled.json() and bare.json()["hits"][0]["id"] == "n"
    assert (await client.post("/v1/collections/bare/search", json={"query": 3})).status_code == 400


async def test_json_sent_as_curl_sends_it_is_accepted(client):
    """`curl -d '{...}'` labels a JSON body application/x-www-form-urlencoded."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    created = await client.post(
        "/v1/collections", content=b'{"name": "curl", "model": "minilm"}', headers=form
    )
    assert created.status_code == 201, created.text
    search = await client.post(
        "/v1/collections/curl/search", content=b'{"query": {"text": "x"}}', headers=form
    )
    assert search.status_code == 200, search.text
    unlabelled = await client.post("/v1/collections/curl/search", content=b'{"query": {"text": "x"}}')
    assert unlabelled.status_code == 200, unlabelled.text
    real_form = await client.post("/v1/collections", content=b"name=curl2&model=minilm", headers=form)
    assert real_form.status_code == 415
    plain = await client.post(
        "/v1/collections", content=b'{"name": "curl3"}', headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 415
