"""Hypothesis fuzzing of every route of the app, in-process: arbitrary JSON, schema-shaped bodies
with wrong fields, raw bytes under wrong or missing content types, and random multipart forms.

Every answer must be below 500, and every error a JSON body in the route's own dialect (OpenAI's
`{"error": {...}}`, Cohere's `{"message": ...}` on /v2/embed and /v1/embed). Routes are read off
`app.routes`, so a new route is fuzzed as soon as it exists (with a valid example body added
below). Bounded: derandomized, a fixed number of examples per route and kind, no example database;
`OMNIEMBED_FUZZ_SCALE=10` multiplies the counts for a longer run by hand. Afterwards /health and a
valid request to every route still succeed.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from omniembed.api.app import create_app
from omniembed.api.auth import is_open
from omniembed.settings import Settings
from tests.support.fuzz import (
    CONTENT_TYPES,
    FIELD_NAMES,
    FORM_VALUES,
    JSON_VALUES,
    METHODS,
    RAW_BYTES,
    TEXT,
    Operation,
    dumps,
    files_strategy,
    mutated,
    operations,
)
from tests.support.media import data_uri, encode, photo
from tests.support.synthetic_audio import encode_audio, tone
from tests.support.synthetic_video import encode_video

COLLECTION = "fuzz"
PNG = encode(photo("astronaut").resize((24, 24)), "PNG")
JPEG = encode(photo("chelsea").resize((32, 24)))
MP4 = encode_video("mp4", "mpeg4", frames=3, size=(32, 32))
WAV = encode_audio(tone(440.0, 0.2, 16_000), 16_000, "wav")
IMAGE = data_uri(PNG, "image/png")
VIDEO = data_uri(MP4, "video/mp4")
IMAGE_PART = {"type": "image_url", "image_url": {"url": IMAGE, "detail": "auto"}}
COHERE_IMAGE_PART = {"type": "image_url", "image_url": {"url": IMAGE}}
VIDEO_PART = {
    "type": "video_url",
    "video_url": {"url": VIDEO, "num_frames": 2, "fps": 2.0, "pooling": "mean"},
}

# One valid JSON body per route that takes one: the seed of the mutations, and the proof afterwards
# that the server still serves.
VALID: dict[str, Any] = {
    "POST /v1/embeddings": {
        "model": "tiny-clip",
        "input": ["espresso", [{"type": "text", "text": "a"}, IMAGE_PART], VIDEO_PART],
        "encoding_format": "base64",
        "normalize": True,
        "truncation": "end",
    },
    "POST /v2/embed": {
        "model": "tiny-clip",
        "inputs": [
            {"content": [{"type": "text", "text": "a"}, COHERE_IMAGE_PART]},
            {"content": [{"type": "video_url", "video_url": {"url": VIDEO, "num_frames": 2}}]},
        ],
        "input_type": "search_query",
        "embedding_types": ["float", "int8"],
    },
    "POST /v1/embed": {
        "model": "tiny-clip",
        "texts": ["espresso", "tea"],
        "input_type": "search_document",
        "embedding_types": ["float", "int8"],
        "truncate": "END",
    },
    "POST /embeddings": {"model": "tiny-clip", "input": [IMAGE], "modality": "image", "dimensions": 0},
    "POST /embeddings_image": {"model": "tiny-clip", "input": IMAGE, "encoding_format": "base64"},
    "POST /embeddings_audio": {"model": "tiny-clip", "input": ["data:audio/wav;base64,UklGRg=="]},
    "POST /tokenize": {"model": "minilm", "prompt": "espresso", "return_token_strs": True},
    "POST /detokenize": {"model": "minilm", "tokens": [101, 7592, 102]},
    "POST /decode": {"model": "minilm", "ids": [[101, 7592], [102]], "skip_special_tokens": False},
    "POST /pooling": {
        "model": "minilm",
        "input": ["espresso", "tea"],
        "task": "embed",
        "encoding_format": "base64",
        "embed_dtype": "float16",
    },
    "POST /embed_sparse": {"model": "minilm", "inputs": ["espresso"], "truncate": True, "sparse_top_k": 4},
    "POST /v1/score": {
        "model": "tiny-clip",
        "queries": ["a cat"],
        "documents": ["a dog", IMAGE_PART, VIDEO_PART],
    },
    "POST /v1/classify": {"model": "tiny-clip", "inputs": [IMAGE_PART, "tea"], "labels": ["cat", "dog"]},
    "POST /v1/embeddings/text": {"model": "minilm", "input": "espresso", "options": {"return_dims": True}},
    "POST /v1/embeddings/image": {"model": "tiny-clip", "image": IMAGE, "options": {"normalize": False}},
    "POST /v1/embeddings/video": {"model": "tiny-clip", "video": VIDEO, "num_frames": 2, "pooling": "none"},
    "POST /v1/embeddings/audio": {"model": "tiny-clip", "input": ["data:audio/wav;base64,UklGRg=="]},
    "POST /api/predict/nlp": {"inputs": ["espresso", "tea"]},
    "POST /v1/collections": {"name": "made", "model": "minilm", "quantization": "int8"},
    "POST /v1/collections/{name}/items/delete": {"ids": ["a", "b"]},
    "POST /v1/collections/{name}/items": {
        "items": [
            {"id": "a", "text": "espresso", "metadata": {"k": 1, "tags": ["x"]}},
            {"id": "b", "image": IMAGE, "metadata": {"k": 2}},
            {"id": "c", "video": VIDEO},
        ]
    },
    "POST /v1/collections/{name}/search": {
        "query": {"text": "espresso", "image": IMAGE},
        "top_k": 3,
        "filter": {"k": 1},
        "modality": ["text", "image"],
        "mode": "hybrid",
    },
    "POST /v2/rerank": {"model": "tiny-clip", "query": "espresso", "documents": ["tea", {"text": "a"}]},
    "POST /v1/rerank": {
        "model": "tiny-clip",
        "query": "espresso",
        "documents": ["tea", {"title": "t", "text": "a"}],
        "rank_fields": ["title", "text"],
        "top_n": 1,
    },
    "POST /rerank": {"model": "tiny-clip", "query": "espresso", "documents": ["tea", {"image": IMAGE}]},
}
# Well-formed requests this server refuses all the same (its fuzzed models have no audio tower, and
# no learned-sparse output).
REFUSED = {"POST /embeddings_audio", "POST /v1/embeddings/audio", "POST /embed_sparse"}
# Nor a reranker: the rerank routes answer 400 (not a reranker) once a body is well-formed.
REFUSED |= {"POST /v2/rerank", "POST /v1/rerank", "POST /rerank"}
VALID_FORMS: dict[str, tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]] = {
    "POST /v1/embeddings": ({"model": "tiny-clip"}, [("file", ("a.png", PNG, "image/png"))]),
    "POST /v1/embeddings/image": ({"model": "tiny-clip"}, [("file", ("a.jpg", JPEG, "image/jpeg"))]),
    "POST /v1/embeddings/video": ({"model": "tiny-clip"}, [("file", ("a.mp4", MP4, "video/mp4"))]),
    "POST /v1/embeddings/audio": ({"model": "tiny-clip"}, [("file", ("a.wav", WAV, "audio/wav"))]),
    "POST /api/predict/file": ({}, [("predict_file", ("a.png", PNG, "image/png"))]),
}

OPERATIONS = operations(create_app(Settings(models=["unused"])))
JSON_OPERATIONS = [op for op in OPERATIONS if op.json_models]
MULTIPART_OPERATIONS = [op for op in OPERATIONS if op.multipart]
PATH_VALUES = st.one_of(st.sampled_from([COLLECTION, "minilm", "tiny-clip", "a", "", ".."]), TEXT)
QUERY = st.dictionaries(st.sampled_from(["model", "x"]), FORM_VALUES, max_size=2)
# Examples per route and kind; OMNIEMBED_FUZZ_SCALE multiplies them for a longer run by hand.
SCALE = float(os.environ.get("OMNIEMBED_FUZZ_SCALE", "1"))
EXAMPLES = {"json": 40, "mutated": 80, "raw": 30, "multipart": 80}
BOUNDED = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def examples(kind: str) -> int:
    return max(1, round(EXAMPLES[kind] * SCALE))


@pytest.fixture(scope="module")
async def fuzz_client(engine, app_settings, tmp_path_factory) -> AsyncIterator[httpx.AsyncClient]:
    """The shared engine behind an app with small limits, so that generated values reach them."""
    limits = {"max_request_bytes": 256 * 1024, "max_text_chars": 20_000, "max_items_per_request": 16}
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    own = Settings(**{**app_settings.model_dump(), **limits, "data_dir": data_dir})
    app = create_app(own, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz", timeout=60) as http:
        await ensure_collection(http)
        yield http
    app.state.services.close()


async def ensure_collection(client: httpx.AsyncClient) -> None:
    """The collection the `{name}` routes work on (a generated DELETE may have dropped it)."""
    if (await client.get(f"/v1/collections/{COLLECTION}")).status_code == 200:
        return
    created = await client.post("/v1/collections", json={"name": COLLECTION, "model": "tiny-clip"})
    assert created.status_code == 201, created.text
    items = {"items": [{"id": "a", "text": "espresso", "metadata": {"k": 1}}]}
    assert (await client.post(f"/v1/collections/{COLLECTION}/items", json=items)).status_code == 200


def url(op: Operation, values: list[str]) -> str:
    """The operation's path with its parameters filled from `values` (in order)."""
    pending = iter(values)

    def fill(match: re.Match[str]) -> str:
        return quote(next(pending, COLLECTION), safe="")

    return re.sub(r"\{\w+(?::\w+)?\}", fill, op.path)


def assert_dialect_error(op: Operation, response: httpx.Response) -> None:
    where = f"{op.id} -> {response.status_code}: {response.text[:500]}"
    assert response.status_code < 500, where
    if response.status_code < 400:
        return
    assert response.headers.get("content-type", "").startswith("application/json"), where
    body = response.json()
    if op.dialect == "cohere":
        assert isinstance(body, dict) and set(body) <= {"message", "code"}, where
        assert isinstance(body.get("message"), str) and body["message"], where
        return
    assert isinstance(body, dict) and set(body) == {"error"}, where
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, where
    assert isinstance(error["message"], str) and error["message"] and isinstance(error["type"], str), where


async def send(
    client: httpx.AsyncClient,
    op: Operation,
    path_values: list[str],
    query: dict[str, str],
    content: bytes | None = None,
    content_type: str | None = None,
    method: str | None = None,
) -> httpx.Response:
    if "{name}" in op.path:
        await ensure_collection(client)
    headers = {"content-type": content_type} if content_type is not None else {}
    params = {k: v for k, v in query.items() if k in op.query or k == "x"}
    response = await client.request(
        method or op.method, url(op, path_values), params=params, content=content, headers=headers
    )
    if currently_in_test_context():  # statistics: --hypothesis-show-statistics
        event(f"status {response.status_code}")
    assert_dialect_error(op, response)
    return response


def multipart(
    fields: list[tuple[str, str | bytes]], files: list[tuple[str, tuple[str, bytes, str | None]]]
) -> bytes:
    """A multipart body written by hand: httpx would send fields without files url-encoded."""

    def quoted(text: str) -> str:  # as browsers escape names (WHATWG HTML)
        return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")

    parts = []
    for name, value in fields:
        head = f'Content-Disposition: form-data; name="{quoted(name)}"\r\n\r\n'
        parts.append(head.encode() + (value.encode() if isinstance(value, str) else value))
    for name, (filename, data, mime) in files:
        head = f'Content-Disposition: form-data; name="{quoted(name)}"; filename="{quoted(filename)}"\r\n'
        head += f"Content-Type: {mime}\r\n" if mime else ""
        parts.append((head + "\r\n").encode() + data)
    return b"".join(b"--fuzz-boundary\r\n" + part + b"\r\n" for part in parts) + b"--fuzz-boundary--\r\n"


PATHS = st.lists(PATH_VALUES, min_size=2, max_size=2)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
@settings(BOUNDED, max_examples=examples("json"))
@given(body=JSON_VALUES, path_values=PATHS, query=QUERY)
async def test_arbitrary_json(fuzz_client, op, body, path_values, query):
    await send(fuzz_client, op, path_values, query, dumps(body), "application/json")


@pytest.mark.parametrize("op", JSON_OPERATIONS, ids=lambda op: op.id)
@settings(BOUNDED, max_examples=examples("mutated"))
@given(data=st.data())
async def test_schema_shaped_bodies_with_bad_fields(fuzz_client, op, data):
    body = data.draw(mutated(VALID.get(op.id, {}), op.json_models), label="body")
    await send(fuzz_client, op, [COLLECTION, "a"], {}, dumps(body), "application/json")


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
@settings(BOUNDED, max_examples=examples("raw"))
@given(raw=RAW_BYTES, content_type=CONTENT_TYPES, path_values=PATHS, query=QUERY, method=METHODS)
async def test_raw_bytes_with_wrong_content_types(
    fuzz_client, op, raw, content_type, path_values, query, method
):
    await send(fuzz_client, op, path_values, query, raw, content_type, method)


@pytest.mark.parametrize("op", MULTIPART_OPERATIONS, ids=lambda op: op.id)
@settings(BOUNDED, max_examples=examples("multipart"))
@given(
    fields=st.lists(st.tuples(FIELD_NAMES, FORM_VALUES), max_size=4),
    files=files_strategy([PNG, JPEG, MP4]),
)
async def test_multipart_forms(fuzz_client, op, fields, files):
    body = multipart(fields, files)
    await send(fuzz_client, op, [], {}, body, "multipart/form-data; boundary=fuzz-boundary")


# What the fuzzers found, kept as fixed examples: route, body, content type, expected status.
REGRESSIONS: dict[str, tuple[str, bytes, str, int]] = {
    # The body-limit middleware answered a declared over-long /v2/embed body in the OpenAI shape.
    "/v2/embed body over the limit": ("POST /v2/embed", b" " * 300_000, "application/json", 413),
    "/v1/embeddings body over the limit": ("POST /v1/embeddings", b" " * 300_000, "text/plain", 413),
}


@pytest.mark.parametrize("case", REGRESSIONS)
async def test_regressions(fuzz_client, case):
    op_id, content, content_type, status = REGRESSIONS[case]
    op = next(op for op in OPERATIONS if op.id == op_id)
    response = await send(fuzz_client, op, [COLLECTION, "a"], {}, content, content_type)
    assert response.status_code == status, response.text


async def test_refusals_before_routing_keep_the_route_dialect(engine, app_settings):
    """The API-key check (like the declared-length check) answers before routing: it answered
    /v2/embed in the OpenAI shape, not the Cohere shape its OpenAPI schema documents."""
    keyed = Settings(**{**app_settings.model_dump(), "api_keys": ["fuzz-key"]})
    transport = httpx.ASGITransport(app=create_app(keyed, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
        for op in OPERATIONS:
            if not (is_open(op.path) and op.method == "GET"):  # /health and the console's files
                response = await client.request(op.method, url(op, ["a", "b"]), content=b"{}")
                assert response.status_code == 401, op.id
                assert_dialect_error(op, response)


def test_every_route_is_fuzzed_with_a_valid_example():
    ids = {op.id for op in OPERATIONS}
    for expected in ("POST /v2/embed", "POST /v1/embeddings/video", "POST /v1/classify", "GET /model/list"):
        assert expected in ids
    assert "DELETE /v1/collections/{name}/items/{item_id:path}" in ids
    missing = {op.id for op in JSON_OPERATIONS} ^ set(VALID)
    assert not missing, f"add (or remove) a valid example body in VALID for {sorted(missing)}"
    missing = {op.id for op in MULTIPART_OPERATIONS} ^ set(VALID_FORMS)
    assert not missing, f"add (or remove) a valid form in VALID_FORMS for {sorted(missing)}"


async def test_still_serving_after_fuzzing(fuzz_client):
    assert (await fuzz_client.get("/health")).status_code == 200
    await ensure_collection(fuzz_client)
    for op_id, body in VALID.items():
        if op_id == "POST /v1/collections":
            body = {**body, "name": f"made-{uuid.uuid4().hex[:8]}"}
        path = op_id.split(" ", 1)[1].replace("{name}", COLLECTION)
        response = await fuzz_client.post(path, json=body)
        expected = (400,) if op_id in REFUSED else (200, 201)
        assert response.status_code in expected, f"{op_id}: {response.text[:300]}"
    for op_id, (fields, files) in VALID_FORMS.items():
        response = await fuzz_client.post(op_id.split(" ", 1)[1], data=fields, files=files)
        expected = (400,) if op_id in REFUSED else (200,)
        assert response.status_code in expected, f"{op_id}: {response.text[:300]}"
