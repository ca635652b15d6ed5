"""multipart/form-data uploads (`curl -F file=@cat.jpg`) and the SambaStudio routes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.media import encode, photo, video_path

JPEG = encode(photo("chelsea"))
PNG = encode(photo("coffee"), "PNG")


async def openai_vectors(client, model: str, items: list) -> np.ndarray:
    body = (await client.post("/v1/embeddings", json={"model": model, "input": items})).json()
    return np.asarray([row["embedding"] for row in body["data"]])


async def test_embeddings_accepts_files_and_texts_in_order(client):
    from tests.support.media import data_uri

    response = await client.post(
        "/v1/embeddings",
        data={"model": "tiny-clip", "text": "a cat"},
        files=[("file", ("cat.jpg", JPEG, "image/jpeg")), ("file", ("coffee.png", PNG, "image/png"))],
    )
    assert response.status_code == 200, response.text
    vectors = np.asarray([row["embedding"] for row in response.json()["data"]])
    expected = await openai_vectors(
        client,
        "tiny-clip",
        [
            "a cat",
            {"type": "image_url", "image_url": {"url": data_uri(JPEG)}},
            {"type": "image_url", "image_url": {"url": data_uri(PNG, "image/png")}},
        ],
    )
    # httpx sends data fields before files, so the text comes first.
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


async def test_embeddings_multipart_options(client):
    response = await client.post(
        "/v1/embeddings",
        data={"model": "tiny-clip", "encoding_format": "int8"},
        files={"file": ("cat.jpg", JPEG, "image/jpeg")},
    )
    assert response.status_code == 200
    assert all(isinstance(v, int) for v in response.json()["data"][0]["embedding"])


async def test_video_file_upload(client):
    data = video_path("bikes.mp4").read_bytes()
    response = await client.post(
        "/v1/embeddings",
        data={"model": "tiny-clip", "num_frames": "4"},
        files={"file": ("bikes.mp4", data, "video/mp4")},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


async def test_image_route_accepts_upload(client):
    response = await client.post(
        "/v1/embeddings/image",
        data={"model": "tiny-clip", "return_dims": "true"},
        files={"file": ("cat.jpg", JPEG, "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dims"] == 16
    from tests.support.media import b64

    json_route = (
        await client.post("/v1/embeddings/image", json={"model": "tiny-clip", "image": b64(JPEG)})
    ).json()
    np.testing.assert_allclose(body["embedding"], json_route["embedding"], atol=1e-6)
    several = await client.post(
        "/v1/embeddings/image",
        data={"model": "tiny-clip"},
        files=[("file", ("a.jpg", JPEG, "image/jpeg")), ("file", ("b.png", PNG, "image/png"))],
    )
    assert len(several.json()["embeddings"]) == 2


@pytest.mark.parametrize(
    ("path", "data", "files"),
    [
        ("/v1/embeddings/image", {"model": "tiny-clip"}, None),  # multipart without file
        (
            "/v1/embeddings/image",
            {"model": "tiny-clip"},
            {"file": ("x.jpg", b"", "image/jpeg")},
        ),  # zero bytes
        (
            "/v1/embeddings/image",
            {"model": "tiny-clip"},
            {"photo": ("x.jpg", JPEG, "image/jpeg")},
        ),  # wrong field
        ("/v1/embeddings/image", {}, {"file": ("x.jpg", JPEG, "image/jpeg")}),  # no model
        ("/v1/embeddings", {"model": "tiny-clip"}, {"file": ("x.jpg", b"GIF89a junk", "image/gif")}),
        (
            "/v1/embeddings",
            {"model": "tiny-clip", "dimensions": "abc"},
            {"file": ("x.jpg", JPEG, "image/jpeg")},
        ),
        ("/api/predict/file", {}, {"file_x": ("x.jpg", JPEG, "image/jpeg")}),
    ],
)
async def test_multipart_errors(client, path, data, files):
    if files is None:
        response = await client.post(path, data=data, files={"unused": (None, "")})
    else:
        response = await client.post(path, data=data, files=files)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["message"]


async def test_sambastudio_text_route(client):
    response = await client.post("/api/predict/nlp?model=minilm", json={"inputs": ["hello", "world"]})
    assert response.status_code == 200
    data = np.asarray(response.json()["data"])
    assert data.shape == (2, 384)
    default = (await client.post("/api/predict/nlp", json={"inputs": ["hello"]})).json()
    assert np.asarray(default["data"]).shape == (1, 16)  # the first served model (tiny-clip)


async def test_sambastudio_file_route(client):
    response = await client.post(
        "/api/predict/file?model=tiny-clip", files={"predict_file": ("cat.jpg", JPEG, "image/jpeg")}
    )
    assert response.status_code == 200, response.text
    from tests.support.media import b64

    expected = (
        await client.post("/v1/embeddings/image", json={"model": "tiny-clip", "image": b64(JPEG)})
    ).json()
    np.testing.assert_allclose(response.json()["data"][0], expected["embedding"], atol=1e-6)
