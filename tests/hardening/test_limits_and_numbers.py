"""Text limits on every text field of every route, and non-finite or absurd numbers refused.

Over-long texts (a query, a label, a template, an item) answer 413 `payload_too_large` before any
tokenizing, so a giant string can neither stall the event loop nor grow the process; numbers
that are not finite or out of range (fps, num_frames, ...) answer 400 in the route's own shape.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from omniembed.engine.items import TextInput, VideoOptions
from omniembed.errors import InvalidInputError, PayloadTooLargeError
from omniembed.media.video import VideoLimits, sample_times
from tests.support.media import data_uri
from tests.support.synthetic_video import encode_video

VIDEO = encode_video("mp4", "h264", frames=6, rate=3)
VIDEO_URI = data_uri(VIDEO, "video/mp4")
HUGE = 20_000_000
BIG = 5_000_000


def openai_code(response) -> str:
    return response.json()["error"]["code"]


def cohere_code(response) -> str:
    body = response.json()
    assert set(body) == {"message", "code"}, body
    return str(body["code"])


# ------------------------------------------------------------------------------------- texts
async def _health_latencies(client, job: asyncio.Task) -> list[float]:
    """/health round trips measured while `job` runs (at least one)."""
    latencies: list[float] = []
    while True:
        started = time.perf_counter()
        response = await client.get("/health")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
        if job.done():
            return latencies
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "dense"])
async def test_giant_search_query_is_refused_fast_and_health_keeps_answering(client, mode):
    created = await client.post("/v1/collections", json={"name": f"limits-{mode}", "model": "minilm"})
    assert created.status_code == 201, created.text
    added = await client.post(
        f"/v1/collections/limits-{mode}/items", json={"items": [{"id": "a", "text": "a cat"}]}
    )
    assert added.status_code == 200, added.text
    body = {"query": {"text": "cat " * (HUGE // 4)}, "mode": mode}
    started = time.perf_counter()
    job = asyncio.create_task(client.post(f"/v1/collections/limits-{mode}/search", json=body))
    latencies = await _health_latencies(client, job)
    response = await job
    elapsed = time.perf_counter() - started
    assert response.status_code == 413, response.text[:300]
    assert openai_code(response) == "payload_too_large"
    assert response.json()["error"]["param"] == "query.text"
    assert max(latencies) < 1.0, latencies
    assert elapsed < 10, elapsed  # before: 40-50 s of a blocked event loop


async def test_giant_collection_item_text_is_refused(client):
    await client.post("/v1/collections", json={"name": "limits-items", "model": "minilm"})
    items = [{"id": "big", "text": "x" * BIG}]
    response = await client.post("/v1/collections/limits-items/items", json={"items": items})
    assert response.status_code == 413 and openai_code(response) == "payload_too_large"


@pytest.mark.parametrize("field", ["labels", "templates", "inputs"], ids=["label", "template", "input"])
async def test_giant_classify_text_is_refused_fast(client, field):
    body = {"model": "minilm", "inputs": ["a happy day"], "labels": ["good", "bad"], "templates": ["{}"]}
    body[field] = ["x" * BIG + ("{}" if field == "templates" else "")]
    started = time.perf_counter()
    job = asyncio.create_task(client.post("/v1/classify", json=body))
    latencies = await _health_latencies(client, job)
    response = await job
    assert response.status_code == 413, response.text[:300]
    assert openai_code(response) == "payload_too_large"
    assert response.json()["error"]["param"] == f"{field}[0]"
    assert max(latencies) < 1.0 and time.perf_counter() - started < 10, latencies


async def test_label_template_product_is_bounded(client, app_settings):
    labels = [f"label {i}" for i in range(64)]
    templates = [f"{{}} number {i}" for i in range(app_settings.max_items_per_request // 64 + 1)]
    body = {"model": "minilm", "inputs": ["x"], "labels": labels, "templates": templates}
    response = await client.post("/v1/classify", json=body)
    assert response.status_code == 413 and openai_code(response) == "payload_too_large"


@pytest.mark.parametrize(
    "template", ["{:>1000000000}{}", "{} {name}", "{} {0}", "{}{}{:x}", "{0.__class__}{}"]
)
async def test_templates_are_not_format_strings(client, template):
    """Only `{}` is a placeholder: no format spec can pad a label to a gigabyte or raise a 500."""
    body = {"model": "minilm", "inputs": ["x"], "labels": ["a", "b"], "templates": [template]}
    response = await client.post("/v1/classify", json=body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert template.count("{}") == 1


ROUTES = [
    ("/v1/embeddings", lambda text: {"model": "minilm", "input": text}, openai_code),
    ("/v1/embeddings", lambda text: {"model": "minilm", "input": [text]}, openai_code),
    (
        "/v1/embeddings",
        lambda text: {"model": "minilm", "input": [[{"type": "text", "text": text}]]},
        openai_code,
    ),
    ("/v2/embed", lambda text: {"model": "minilm", "texts": [text]}, cohere_code),
    (
        "/v2/embed",
        lambda text: {"model": "minilm", "inputs": [{"content": [{"type": "text", "text": text}]}]},
        cohere_code,
    ),
    ("/v1/score", lambda text: {"model": "minilm", "queries": [text], "documents": ["a"]}, openai_code),
    ("/v1/embeddings/text", lambda text: {"model": "minilm", "input": text}, openai_code),
    ("/api/predict/nlp?model=minilm", lambda text: {"inputs": [text]}, openai_code),
]


@pytest.mark.parametrize(("path", "build", "code"), ROUTES)
async def test_every_text_route_refuses_giant_text(client, path, build, code):
    response = await client.post(path, json=build("y" * BIG))
    assert response.status_code == 413, response.text[:300]
    assert code(response) == "payload_too_large"


@pytest.mark.parametrize("size", ["limit", "huge"])
async def test_multipart_text_field_is_bounded(client, app_settings, size):
    text = "z" * (app_settings.max_text_chars + 1 if size == "limit" else BIG)
    fields = [("model", (None, b"minilm")), ("text", (None, text.encode()))]  # multipart, no file
    response = await client.post("/v1/embeddings", files=fields)
    assert response.status_code == 413 and openai_code(response) == "payload_too_large"


async def test_engine_refuses_long_texts_from_any_caller(engine):
    limit = engine.policy.max_text_chars
    with pytest.raises(PayloadTooLargeError):
        await engine.embed("minilm", [TextInput("w" * (limit + 1))])
    ok = await engine.embed("minilm", [TextInput("w " * 100)])
    assert ok.embeddings.shape[0] == 1


async def test_identifier_fields_are_bounded(client):
    response = await client.post("/v1/embeddings", json={"model": "m" * 100_000, "input": "a"})
    assert response.status_code == 400 and len(response.content) < 2000


# ----------------------------------------------------------------------------------- numbers
BAD_FPS = ["inf", "Infinity", "-inf", 1e308, "1e308", "nan", "NaN", -1, 0, "-0", 1000]


def _json_video_bodies(fps: object) -> list[tuple[str, dict, object]]:
    part = {"type": "video_url", "video_url": {"url": VIDEO_URI, "fps": fps}}
    cohere = {"content": [{"type": "video_url", "video_url": {"url": VIDEO_URI, "fps": fps}}]}
    return [
        ("/v1/embeddings/video", {"model": "tiny-clip", "video": VIDEO_URI, "fps": fps}, openai_code),
        ("/v1/embeddings", {"model": "tiny-clip", "input": [part]}, openai_code),
        ("/v1/embeddings", {"model": "tiny-clip", "input": [[part]]}, openai_code),
        ("/v2/embed", {"model": "tiny-clip", "inputs": [cohere]}, cohere_code),
        ("/v1/score", {"model": "tiny-clip", "queries": ["a"], "documents": [part]}, openai_code),
        ("/v1/classify", {"model": "tiny-clip", "inputs": [part], "labels": ["a", "b"]}, openai_code),
    ]


@pytest.mark.parametrize("fps", BAD_FPS, ids=str)
async def test_bad_fps_in_json_is_400_on_every_video_route(client, fps):
    for path, body, code in _json_video_bodies(fps):
        response = await client.post(path, json=body)
        assert response.status_code == 400, (path, response.status_code, response.text[:300])
        assert code(response) in ("invalid_request", "invalid_input"), (path, response.text[:300])


@pytest.mark.parametrize("literal", [b"Infinity", b"-Infinity", b"NaN", b"1e400"])
async def test_non_finite_json_literals_are_400(client, literal):
    raw = b'{"model": "tiny-clip", "video": "%s", "fps": %s}' % (VIDEO_URI.encode(), literal)
    response = await client.post(
        "/v1/embeddings/video", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and openai_code(response) == "invalid_input"


MULTIPART_VIDEO_ROUTES = ["/v1/embeddings/video", "/v1/embeddings", "/api/predict/file?model=tiny-clip"]


@pytest.mark.parametrize("fps", [str(v) for v in BAD_FPS], ids=str)
@pytest.mark.parametrize("path", MULTIPART_VIDEO_ROUTES)
async def test_bad_fps_in_multipart_is_400(client, path, fps):
    response = await client.post(
        path,
        data={"model": "tiny-clip", "fps": fps},
        files={"file": ("clip.mp4", VIDEO, "video/mp4")},
    )
    assert response.status_code == 400, response.text[:300]
    assert openai_code(response) in ("invalid_request", "invalid_input")


@pytest.mark.parametrize("frames", ["nan", "inf", "1e308", "-0", "0", "-3", "2.5", "100000000000"])
@pytest.mark.parametrize("path", MULTIPART_VIDEO_ROUTES)
async def test_bad_num_frames_in_multipart_is_400(client, path, frames):
    response = await client.post(
        path,
        data={"model": "tiny-clip", "num_frames": frames},
        files={"file": ("clip.mp4", VIDEO, "video/mp4")},
    )
    assert response.status_code == 400, response.text[:300]


@pytest.mark.parametrize("frames", [0, -1, 1e308, 10**30, "nan", 2.5])
async def test_bad_num_frames_in_json_is_400(client, frames):
    for path, body, code in _json_video_bodies(1.0):
        if path == "/v1/embeddings/video":
            body = {"model": "tiny-clip", "video": VIDEO_URI, "num_frames": frames}
        else:
            body = _swap_fps_for_frames(body, frames)
        response = await client.post(path, json=body)
        assert response.status_code == 400, (path, response.text[:300])
        assert code(response) in ("invalid_request", "invalid_input")


def _swap_fps_for_frames(value: object, frames: object) -> object:
    if isinstance(value, dict):
        swapped = {k: _swap_fps_for_frames(v, frames) for k, v in value.items() if k != "fps"}
        if "fps" in value:
            swapped["num_frames"] = frames
        return swapped
    if isinstance(value, list):
        return [_swap_fps_for_frames(v, frames) for v in value]
    return value


async def test_good_fps_still_works_everywhere(client):
    response = await client.post(
        "/v1/embeddings/video", json={"model": "tiny-clip", "video": VIDEO_URI, "fps": 2.5}
    )
    assert response.status_code == 200, response.text
    multipart = await client.post(
        "/v1/embeddings",
        data={"model": "tiny-clip", "fps": "60"},
        files={"file": ("clip.mp4", VIDEO, "video/mp4")},
    )
    assert multipart.status_code == 200, multipart.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dimensions", 1e308),
        ("dimensions", "inf"),
        ("dimensions", 10**30),
        ("output_dimension", 10**30),
        ("max_tokens", 1e308),
        ("max_tokens", 10**30),
    ],
)
async def test_absurd_integers_are_400(client, field, value):
    if field == "dimensions":
        response = await client.post("/v1/embeddings", json={"model": "minilm", "input": "a", field: value})
        assert response.status_code == 400 and openai_code(response), response.text
    else:
        body = {"model": "minilm", "texts": ["a"], field: value}
        response = await client.post("/v2/embed", json=body)
        assert response.status_code == 400 and cohere_code(response), response.text


@pytest.mark.parametrize("fps", [float("inf"), float("-inf"), float("nan"), 1e308, 0.0, -1.0])
def test_video_options_refuse_bad_fps_for_every_caller(fps):
    with pytest.raises(InvalidInputError):
        VideoOptions(fps=fps)


@pytest.mark.parametrize("fps", [float("inf"), float("nan"), 1e308, 1e-300])
def test_sample_times_never_divides_by_zero_or_overflows(fps):
    try:
        times = sample_times(10.0, None, fps, VideoLimits())
    except InvalidInputError:
        return
    assert times and all(0 <= t <= 10.0 for t in times)


class _FakeEngine:
    """Label vectors without a model: the cache's bookkeeping is what is under test."""

    async def embed(self, model, items, options=None):
        from omniembed.engine.items import EmbedResult

        return EmbedResult(model, np.ones((len(items), 8), dtype=np.float32))


async def test_label_cache_is_bounded_by_size_not_only_entries():
    from omniembed.engine import scoring as scoring_module

    scoring = scoring_module.Scoring(_FakeEngine())  # type: ignore[arg-type]
    big = tuple(f"{i} " + "w" * 20_000 for i in range(45))  # 0.9M characters of labels per request
    for round_ in range(6):
        labels = tuple(f"{round_}-{label}" for label in big)
        await scoring.label_vectors("m", labels, ("{}",))
    assert 0 < scoring._cached_chars <= scoring_module.LABEL_CACHE_MAX_CHARS
    assert len(scoring._labels) == scoring_module.LABEL_CACHE_MAX_CHARS // (45 * 20_005)
    assert sum(scoring_module._key_chars(key) for key in scoring._labels) == scoring._cached_chars
    await scoring.label_vectors("m", ("x" * 2_000_000,), ("{}",))  # too big to keep
    assert all("x" * 10 not in key[1][0] for key in scoring._labels)
