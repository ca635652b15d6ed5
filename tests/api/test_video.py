"""Video through the HTTP dialects: `/v1/embeddings/video`, OpenAI `video_url` parts, Cohere inputs."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from omniembed.engine.postprocess import fuse
from tests.support.media import b64, data_uri, encode, photo, video_path

BIKES = video_path("bikes.mp4").read_bytes()
BUNNY = video_path("bigbuckbunny.mp4").read_bytes()


async def test_clip_vector_and_frames(client):
    body = {"model": "tiny-clip", "video": data_uri(BIKES, "video/mp4"), "num_frames": 4, "pooling": "none"}
    response = await client.post("/v1/embeddings/video", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    frames = result["frames"]
    assert [round(f["timestamp"], 1) for f in frames] == [1.3, 3.8, 6.3, 8.8]
    assert result["usage"]["frames"] == 4
    vectors = np.asarray([f["embedding"] for f in frames], dtype=np.float32)
    np.testing.assert_allclose(result["embedding"], fuse(list(vectors)), atol=1e-6)


async def test_frame_vectors_equal_image_vectors_of_the_same_frames(client):
    body = {"model": "tiny-clip", "video": b64(BUNNY), "num_frames": 2, "pooling": "none"}
    result = (await client.post("/v1/embeddings/video", json=body)).json()
    with av.open(io.BytesIO(BUNNY)) as container:
        decoded = {round(f.time, 4): f.to_image() for f in container.decode(video=0)}
    for frame in result["frames"]:
        image = decoded[frame["timestamp"]]
        png = encode(image, "PNG")
        expected = await client.post(
            "/v1/embeddings",
            json={
                "model": "tiny-clip",
                "input": [{"type": "image_url", "image_url": data_uri(png, "image/png")}],
            },
        )
        np.testing.assert_allclose(frame["embedding"], expected.json()["data"][0]["embedding"], atol=1e-5)


async def test_multipart_video_upload(client):
    response = await client.post(
        "/v1/embeddings/video",
        data={"model": "tiny-clip", "num_frames": "3"},
        files={"file": ("bikes.mp4", BIKES, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["frames"] == 3
    assert "frames" not in response.json()
    per_frame = await client.post(
        "/v1/embeddings/video",
        data={"model": "tiny-clip", "num_frames": "3", "pooling": "none"},
        files={"file": ("bikes.mp4", BIKES, "video/mp4")},
    )
    frames = per_frame.json()["frames"]
    assert len(frames) == 3 and frames[0]["timestamp"] < frames[-1]["timestamp"]


async def test_openai_video_part_and_cohere_input_agree(client):
    uri = data_uri(BIKES, "video/mp4")
    part = {"type": "video_url", "video_url": {"url": uri, "num_frames": 3}}
    openai = (await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": [part]})).json()
    cohere = await client.post(
        "/v2/embed",
        json={
            "model": "tiny-clip",
            "inputs": [{"content": [{"type": "video_url", "video_url": {"url": uri, "num_frames": 3}}]}],
        },
    )
    assert cohere.status_code == 200, cohere.text
    np.testing.assert_allclose(
        openai["data"][0]["embedding"], cohere.json()["embeddings"]["float"][0], atol=1e-6
    )
    assert cohere.json()["meta"]["billed_units"]["images"] == 3
    route = (
        await client.post("/v1/embeddings/video", json={"model": "tiny-clip", "video": uri, "num_frames": 3})
    ).json()
    np.testing.assert_allclose(route["embedding"], openai["data"][0]["embedding"], atol=1e-6)


async def test_openai_video_part_with_frames(client):
    part = {
        "type": "video_url",
        "video_url": {"url": data_uri(BUNNY, "video/mp4"), "num_frames": 2, "pooling": "none"},
    }
    data = (await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": [part, "text"]})).json()[
        "data"
    ]
    assert len(data[0]["frames"]) == 2 and "frames" not in data[1]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "tiny-clip", "video": data_uri(BIKES[:30_000], "video/mp4")}, 400),  # truncated
        ({"model": "tiny-clip", "video": b64(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 3000)}, 400),  # corrupt
        ({"model": "tiny-clip", "video": data_uri(encode(photo()), "image/jpeg")}, 415),  # wrong MIME
        ({"model": "tiny-clip", "video": b64(encode(photo()))}, 415),  # an image, not a video
        ({"model": "minilm", "video": b64(BIKES)}, 400),  # text-only model
        ({"model": "tiny-clip", "video": b64(BIKES), "num_frames": 0}, 400),
        ({"model": "tiny-clip"}, 400),
    ],
)
async def test_video_errors(client, body, status):
    response = await client.post("/v1/embeddings/video", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
