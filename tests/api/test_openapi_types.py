"""Every route's success and error responses have schemas, so generated clients get typed bodies
(the fuzzing in tests/hardening/test_schemathesis.py checks real responses against them)."""

from __future__ import annotations


async def test_every_response_is_typed(client):
    schema = (await client.get("/openapi.json")).json()
    untyped = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                content = response.get("content", {})
                if path == "/metrics" and "text/plain" in content:
                    continue  # Prometheus text
                if path.endswith("/thumbnail") and "image/jpeg" in content:
                    continue  # a picture
                body = content.get("application/json", {}).get("schema")
                if not body:
                    untyped.append(f"{method.upper()} {path} {code}")
    assert not untyped, untyped
    components = schema["components"]["schemas"]
    for name in ("OpenAIEmbeddingList", "CohereEmbedResponse", "ScoreResponse", "ClassifyResponse"):
        assert components[name]["properties"], name


async def test_embedding_response_matches_its_schema(client):
    schema = (await client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    body = (await client.post("/v1/embeddings", json={"model": "minilm", "input": ["a", "b"]})).json()
    documented = components["OpenAIEmbeddingList"]
    assert set(documented["required"]) <= set(body) <= set(documented["properties"])
    row = components["OpenAIEmbedding"]
    assert set(row["required"]) <= set(body["data"][0]) <= set(row["properties"])
    scored = (
        await client.post("/v1/score", json={"model": "minilm", "queries": ["a"], "documents": ["b"]})
    ).json()
    assert (
        set(components["ScoreResponse"]["required"])
        <= set(scored)
        <= set(components["ScoreResponse"]["properties"])
    )
