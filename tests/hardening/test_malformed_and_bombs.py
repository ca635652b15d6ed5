"""A real server process takes a corpus of malformed requests and media bombs: every one gets a 4xx
JSON error, quickly and without memory growth, and the same process keeps serving (/health 200)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.bombs import gif_bomb, png_bomb
from tests.support.media import b64, data_uri, encode, photo, video_path
from tests.support.server import running_server

JPEG = encode(photo("chelsea"))
PNG = encode(photo("coffee"), "PNG")
BIKES = video_path("bikes.mp4").read_bytes()
BUNNY = video_path("bigbuckbunny.mp4").read_bytes()


def image_part(url: str) -> dict:
    return {"model": "tiny-clip", "input": [{"type": "image_url", "image_url": {"url": url}}]}


def video_body(data: bytes, **options: object) -> dict:
    return {"model": "tiny-clip", "video": b64(data), **options}


JSON = {"content-type": "application/json"}

# class → requests as (method, path, httpx keyword arguments)
CORPUS: dict[str, list[tuple[str, str, dict]]] = {
    "bad JSON": [
        ("POST", "/v1/embeddings", {"content": b"{", "headers": JSON}),
        ("POST", "/v1/embeddings", {"content": b'{"input": "x",}', "headers": JSON}),
        ("POST", "/v2/embed", {"content": b"\xff\xfe\x00", "headers": JSON}),
        ("POST", "/v1/score", {"content": b"null", "headers": JSON}),
    ],
    "wrong types": [
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": 3.5}}),
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": {"a": 1}}}),
        ("POST", "/v2/embed", {"json": {"model": "minilm", "texts": "not a list"}}),
        ("POST", "/v1/classify", {"json": {"model": "minilm", "inputs": ["a"], "labels": "x"}}),
        ("POST", "/v1/embeddings/text", {"json": {"model": "minilm", "input": ["a"]}}),
    ],
    "empty input": [
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": []}}),
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": ""}}),
        ("POST", "/v2/embed", {"json": {"model": "minilm", "texts": []}}),
        ("POST", "/api/predict/nlp", {"json": {"inputs": []}}),
    ],
    "too many items": [
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": ["x"] * 65}}),
        ("POST", "/v2/embed", {"json": {"model": "minilm", "texts": ["x"] * 65}}),
        (
            "POST",
            "/v1/classify",
            {"json": {"model": "minilm", "inputs": ["x"], "labels": [str(i) for i in range(65)]}},
        ),
    ],
    "too long text with truncation off": [
        (
            "POST",
            "/v1/embeddings",
            {"json": {"model": "minilm", "input": "word " * 600, "truncation": "none"}},
        ),
        ("POST", "/v2/embed", {"json": {"model": "minilm", "texts": ["word " * 600], "truncate": "NONE"}}),
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": "x" * 300_001}}),
    ],
    "bad base64": [
        ("POST", "/v1/embeddings", {"json": image_part("data:image/jpeg;base64,@@@@")}),
        ("POST", "/v1/embeddings/image", {"json": {"model": "tiny-clip", "image": "!!!"}}),
        ("POST", "/v1/embeddings/video", {"json": {"model": "tiny-clip", "video": "a"}}),
    ],
    "wrong data-URI MIME": [
        ("POST", "/v1/embeddings", {"json": image_part("data:text/html;base64," + b64(b"<b>hi</b>"))}),
        ("POST", "/v1/embeddings", {"json": image_part(data_uri(BIKES, "video/mp4"))}),
        (
            "POST",
            "/v1/embeddings/video",
            {"json": {"model": "tiny-clip", "video": data_uri(JPEG, "image/jpeg")}},
        ),
    ],
    "truncated JPEG/PNG": [
        ("POST", "/v1/embeddings", {"json": image_part(data_uri(JPEG[: len(JPEG) // 3]))}),
        ("POST", "/v1/embeddings", {"json": image_part(data_uri(PNG[:500], "image/png"))}),
        ("POST", "/v1/embeddings/image", {"json": {"model": "tiny-clip", "image": b64(JPEG[:100])}}),
    ],
    "zero-byte file": [
        ("POST", "/v1/embeddings", {"json": image_part("data:image/png;base64,")}),
        (
            "POST",
            "/v1/embeddings/image",
            {"data": {"model": "tiny-clip"}, "files": {"file": ("a.jpg", b"", "image/jpeg")}},
        ),
        ("POST", "/api/predict/file", {"files": {"predict_file": ("a.jpg", b"", "image/jpeg")}}),
    ],
    "disguised format": [
        ("POST", "/v1/embeddings", {"json": image_part(data_uri(encode(photo(), "TIFF"), "image/jpeg"))}),
        ("POST", "/v1/embeddings", {"json": image_part(data_uri(b"%PDF-1.4 fake", "image/png"))}),
        ("POST", "/v1/embeddings", {"json": image_part(data_uri(b"<svg xmlns='x'/>", "image/png"))}),
        (
            "POST",
            "/v1/embeddings/image",
            {"data": {"model": "tiny-clip"}, "files": {"file": ("x.jpg", b"MZ\x90\x00", "image/jpeg")}},
        ),
    ],
    "corrupt MP4": [
        ("POST", "/v1/embeddings/video", {"json": video_body(BIKES[:30_000])}),
        ("POST", "/v1/embeddings/video", {"json": video_body(BIKES[:12] + bytes(4000))}),
        (
            "POST",
            "/v1/embeddings/video",
            {"data": {"model": "tiny-clip"}, "files": {"file": ("v.mp4", b"\x00" * 64, "video/mp4")}},
        ),
    ],
    "multipart without file": [
        (
            "POST",
            "/v1/embeddings/image",
            {"data": {"model": "tiny-clip"}, "files": {"note": (None, "no file")}},
        ),
        ("POST", "/api/predict/file", {"data": {"x": "y"}, "files": {"other": (None, "z")}}),
        (
            "POST",
            "/v1/embeddings/video",
            {"data": {"model": "tiny-clip"}, "files": {"note": (None, "nothing")}},
        ),
    ],
    "unknown model": [
        ("POST", "/v1/embeddings", {"json": {"model": "gpt-9", "input": "x"}}),
        ("POST", "/v2/embed", {"json": {"model": "nope", "texts": ["x"]}}),
        ("GET", "/v1/models/none/such", {}),
        ("POST", "/api/predict/nlp?model=missing", {"json": {"inputs": ["x"]}}),
    ],
    "bad encoding_format/dimensions": [
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": "x", "encoding_format": "fp16"}}),
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": "x", "dimensions": -3}}),
        ("POST", "/v1/embeddings", {"json": {"model": "minilm", "input": "x", "dimensions": 100}}),
        ("POST", "/v2/embed", {"json": {"model": "minilm", "texts": ["x"], "embedding_types": ["int4"]}}),
    ],
    "wrong content type": [
        (
            "POST",
            "/v1/embeddings/text",
            {"content": b"model=minilm", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        ),
        ("POST", "/v1/embeddings", {"content": b"<xml/>", "headers": {"content-type": "application/xml"}}),
    ],
}


@pytest.fixture(scope="module")
def server(tiny_clip_dir, minilm_dir):
    args = [
        "--model",
        f"tiny-clip={tiny_clip_dir}",
        "--model",
        f"minilm={minilm_dir}",
        "--max-items-per-request",
        "64",
    ]
    env = {
        "OMNIEMBED_MAX_TEXT_CHARS": "300000",
        "OMNIEMBED_VIDEO_MAX_DURATION_S": "8",
        "OMNIEMBED_VIDEO_MAX_PIXELS": str(640 * 480),
        "OMNIEMBED_VIDEO_MAX_FRAMES": "6",
    }
    with running_server(args, env=env) as running:
        yield running


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def test_corpus_gets_4xx_json_and_the_process_survives(server):
    assert len(CORPUS) >= 12
    pid = server.process.pid
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for kind, cases in CORPUS.items():
            assert len(cases) >= 2, kind
            for method, path, options in cases:
                response = http.request(method, path, **options)
                assert 400 <= response.status_code < 500, (
                    kind,
                    path,
                    response.status_code,
                    response.text[:200],
                )
                body = response.json()
                message = body.get("error", {}).get("message") if "error" in body else body.get("message")
                assert message, (kind, body)
                assert server.process.poll() is None, f"server died on {kind}"
        assert http.get("/health").status_code == 200
        assert http.post("/v1/embeddings", json={"model": "minilm", "input": "still fine"}).status_code == 200
    assert server.process.pid == pid and server.process.poll() is None


@pytest.mark.parametrize(
    ("name", "payload", "status"),
    [
        ("png 50k x 50k", png_bomb(), 413),
        ("gif 65535 x 65535", gif_bomb(), 413),
        ("png 20k x 20k", png_bomb(20_000, 20_000), 413),
    ],
)
def test_image_bombs_are_refused_fast_without_memory_growth(server, name, payload, status):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        http.post("/v1/embeddings", json=image_part(data_uri(JPEG)))  # warm every path first
        before = rss_kb(server.process.pid)
        started = time.perf_counter()
        for _ in range(5):
            response = http.post("/v1/embeddings", json=image_part(data_uri(payload, "image/png")))
            assert response.status_code == status, (name, response.text)
        elapsed = (time.perf_counter() - started) / 5
        growth_mb = (rss_kb(server.process.pid) - before) / 1024
    assert elapsed < 1.0, f"{name}: {elapsed:.2f}s per refusal"
    assert growth_mb < 64, f"{name}: RSS grew {growth_mb:.1f} MB"


def test_video_limits_refuse_or_clamp(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        too_long = http.post("/v1/embeddings/video", json=video_body(BIKES))  # 10 s > 8 s
        assert too_long.status_code == 413 and "lasts" in too_long.json()["error"]["message"]
        too_big = http.post("/v1/embeddings/video", json=video_body(BUNNY))  # 1280x720 > 640x480
        assert too_big.status_code == 413
        small = video_path("carphone_pristine.mp4").read_bytes()  # 176x144, 4 s: within the limits
        clamped = http.post("/v1/embeddings/video", json=video_body(small, num_frames=500, pooling="none"))
        assert clamped.status_code == 200, clamped.text
        assert len(clamped.json()["frames"]) == 6  # the server's cap, not the client's 500
        assert http.get("/health").status_code == 200


def test_bomb_uploaded_as_a_file(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        files = {"file": ("bomb.png", png_bomb(), "image/png")}
        response = http.post("/v1/embeddings/image", data={"model": "tiny-clip"}, files=files)
        assert response.status_code == 413
