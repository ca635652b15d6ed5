"""Every bad input gets a 4xx JSON error in OpenAI's shape, and the app keeps serving."""

from __future__ import annotations

import base64

import pytest

from tests.support.media import data_uri, encode, photo, video_path


def assert_openai_error(response, status: int, code: str | None = None, param: str | None = None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error


async def test_unknown_model_is_404_listing_served_models(client):
    error = assert_openai_error(
        await client.post("/v1/embeddings", json={"model": "nope", "input": "x"}),
        404,
        "model_not_found",
        "model",
    )
    assert "tiny-clip" in error["message"] and "minilm" in error["message"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [(b"{not json", "application/json"), (b"", "application/json"), (b"[1,2", "application/json")],
)
async def test_malformed_json(client, raw, content_type):
    assert_openai_error(
        await client.post("/v1/embeddings", content=raw, headers={"content-type": content_type}), 400
    )


async def test_wrong_content_type_is_415(client):
    response = await client.post("/v1/embeddings", content=b"input=x", headers={"content-type": "text/plain"})
    assert_openai_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "body",
    [
        {"model": "minilm"},  # missing input
        {"model": "minilm", "input": None},
        {"model": "minilm", "input": {"text": "x"}},
        {"model": "minilm", "input": "x", "encoding_format": "float16"},
        {"model": "minilm", "input": "x", "dimensions": 0},
        {"model": "minilm", "input": "x", "dimensions": "big"},
        {"model": 12, "input": "x"},
        {"model": "minilm", "input": [{"type": "audio", "audio": "x"}]},
        {"model": "minilm", "input": "x", "truncation": "middle"},
    ],
)
async def test_wrong_types_and_values(client, body):
    assert_openai_error(await client.post("/v1/embeddings", json=body), 400)


@pytest.mark.parametrize("value", [[], "", "   ", [""], [[]]])
async def test_empty_inputs(client, value):
    assert_openai_error(await client.post("/v1/embeddings", json={"model": "minilm", "input": value}), 400)


@pytest.mark.parametrize("value", [[1, 2, 3], [[1, 2], [3]]])
async def test_token_id_inputs_are_refused_with_a_hint(client, value):
    error = assert_openai_error(
        await client.post("/v1/embeddings", json={"model": "minilm", "input": value}), 400
    )
    assert "check_embedding_ctx_length" in error["message"]


async def test_dimensions_on_fixed_size_model(client):
    error = assert_openai_error(
        await client.post("/v1/embeddings", json={"model": "minilm", "input": "x", "dimensions": 128}), 400
    )
    assert "Matryoshka" in error["message"]


def image_body(url: str, model: str = "tiny-clip") -> dict:
    return {"model": model, "input": [{"type": "image_url", "image_url": {"url": url}}]}


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("data:image/png;base64,!!!notbase64!!!", 400),
        ("not base64 at all ###", 400),
        ("data:text/plain;base64," + base64.b64encode(b"hello").decode(), 415),
        ("data:image/png," + "rawdata", 400),
        (base64.b64encode(b"just some text, not an image").decode(), 400),
        (data_uri(encode(photo("chelsea"))[:300]), 400),  # truncated JPEG
        (data_uri(encode(photo("chelsea"), "PNG")[:200], "image/png"), 400),  # truncated PNG
        ("data:image/png;base64,", 400),  # zero bytes
        (data_uri(encode(photo("chelsea"), "TIFF"), "image/tiff"), 415),  # format not allowed
        ("ftp://example.com/cat.jpg", 400),
        ("file:///etc/passwd", 400),
        ("https://example.com/cat.jpg", 400),  # URL fetching is off by default
    ],
)
async def test_bad_images(client, url, status):
    assert_openai_error(await client.post("/v1/embeddings", json=image_body(url)), status)


async def test_image_on_text_only_model(client):
    error = assert_openai_error(
        await client.post("/v1/embeddings", json=image_body(data_uri(encode(photo())), model="minilm")), 400
    )
    assert "cannot embed image" in error["message"]


async def test_video_on_text_only_model_names_video(client):
    # A video goes through the image tower, but the error names what the caller sent.
    uri = data_uri(video_path().read_bytes(), "video/mp4")
    part = {"type": "video_url", "video_url": {"url": uri, "num_frames": 2}}
    response = await client.post("/v1/embeddings", json={"model": "minilm", "input": [part]})
    assert "cannot embed video" in assert_openai_error(response, 400)["message"]


async def test_long_text_with_truncation_off(client):
    body = {"model": "minilm", "input": "word " * 400, "truncation": "none"}
    assert_openai_error(await client.post("/v1/embeddings", json=body), 400, "input_too_long")


async def test_unknown_route_and_method_are_json(client):
    assert_openai_error(await client.get("/v1/nothing"), 404)
    assert_openai_error(await client.get("/v1/embeddings"), 405)


async def test_server_still_healthy_after_errors(client):
    await client.post("/v1/embeddings", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert (await client.get("/health")).status_code == 200
    ok = await client.post("/v1/embeddings", json={"model": "minilm", "input": "still works"})
    assert ok.status_code == 200
