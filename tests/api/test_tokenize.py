"""`/tokenize`, `/detokenize` (vLLM's shapes) and `/decode` (TEI's) with the model's own tokenizer."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer


@pytest.fixture(scope="module")
def minilm_tokenizer(minilm_dir):
    return AutoTokenizer.from_pretrained(str(minilm_dir))


async def test_vllm_tokenize_and_detokenize(client, minilm_tokenizer):
    text = "A photo of a cat, naïvely drawn."
    response = await client.post(
        "/tokenize", json={"model": "minilm", "prompt": text, "return_token_strs": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = minilm_tokenizer(text)["input_ids"]
    assert body["tokens"] == expected and body["count"] == len(expected)
    assert body["max_model_len"] == 256
    assert body["token_strs"] == minilm_tokenizer.convert_ids_to_tokens(expected)
    plain = (
        await client.post("/tokenize", json={"model": "minilm", "prompt": text, "add_special_tokens": False})
    ).json()
    assert plain["tokens"] == expected[1:-1] and "token_strs" not in plain
    back = await client.post("/detokenize", json={"model": "minilm", "tokens": expected[1:-1]})
    assert back.status_code == 200 and back.json() == {"prompt": minilm_tokenizer.decode(expected[1:-1])}


async def test_tei_tokenize_and_decode(client, minilm_tokenizer):
    text = "naïve cats"
    response = await client.post("/tokenize", json={"model": "minilm", "inputs": text})
    assert response.status_code == 200, response.text
    [tokens] = response.json()
    ids = minilm_tokenizer(text)["input_ids"]
    assert [token["id"] for token in tokens] == ids
    assert tokens[0] == {"id": ids[0], "text": "[CLS]", "special": True, "start": None, "stop": None}
    # Non-special tokens carry byte offsets into the input and the text they cover, as TEI's do.
    first = tokens[1]
    assert first["special"] is False and first["start"] == 0
    assert text.encode()[first["start"] : first["stop"]].decode() == first["text"]
    batch = (
        await client.post(
            "/tokenize", json={"model": "minilm", "inputs": ["a", "b c"], "add_special_tokens": False}
        )
    ).json()
    assert [len(row) for row in batch] == [1, 2]
    decoded = await client.post("/decode", json={"model": "minilm", "ids": [ids, ids[1:2]]})
    assert decoded.status_code == 200 and decoded.json() == [
        minilm_tokenizer.decode(ids, skip_special_tokens=True),
        minilm_tokenizer.decode(ids[1:2], skip_special_tokens=True),
    ]
    single = (
        await client.post("/decode", json={"model": "minilm", "ids": ids, "skip_special_tokens": False})
    ).json()
    assert single == [minilm_tokenizer.decode(ids)]


async def test_default_model_is_the_first_served(client):
    body = (await client.post("/tokenize", json={"prompt": "a cat"})).json()
    assert body["max_model_len"] == 77  # tiny-clip: CLIP's context


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/tokenize", {"model": "minilm"}, 400),  # neither prompt nor messages
        (
            "/tokenize",
            {"model": "minilm", "prompt": "x", "messages": [{"role": "user", "content": "x"}]},
            400,
        ),
        (
            "/tokenize",
            {"model": "minilm", "messages": [{"role": "user", "content": "x"}]},
            400,
        ),  # no template
        ("/tokenize", {"model": "nope", "prompt": "x"}, 404),
        ("/tokenize", {"model": "minilm", "inputs": []}, 400),
        ("/tokenize", {"model": "minilm", "inputs": "x", "prompt_name": "nonsense"}, 400),
        ("/tokenize", {"model": "minilm", "inputs": "x" * 200_001}, 413),
        ("/detokenize", {"model": "minilm", "tokens": [10**9]}, 400),
        ("/detokenize", {"model": "minilm", "tokens": [-1]}, 400),
        ("/detokenize", {"model": "minilm", "tokens": "abc"}, 400),
        ("/decode", {"model": "minilm", "ids": [[1], [2**40]]}, 400),
        ("/decode", {"model": "minilm", "ids": "x"}, 400),
    ],
)
async def test_bad_requests_are_4xx(client, path, body, status):
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


async def test_tokenize_routes_are_typed_in_openapi(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/tokenize", "/detokenize", "/decode"):
        assert paths[path]["post"]["responses"]["200"]["content"]["application/json"]["schema"], path
