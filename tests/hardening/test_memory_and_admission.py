"""Admission and memory under hostile sizes:
- a request larger than the whole queue can never be admitted: 413 naming the limit, never a 429
  whose Retry-After a client would honour forever (even on an idle server);
- decoded pixels in flight are bounded by a byte budget: an image that can never fit it is a 413,
  waiting ones get a 429 with a Retry-After, and a real server's RSS stays flat under sustained
  overload with large images.
"""

from __future__ import annotations

import asyncio
import struct
import subprocess
import sys
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from omniembed.errors import OverloadedError, PayloadTooLargeError
from omniembed.media.budget import DecodeBudget
from omniembed.media.images import ImageLimits, decode_cost
from tests.support.media import data_uri, encode, photo
from tests.support.server import running_server

MB = 1024 * 1024
TOO_MANY = 2049  # the default max_queue_items is 2048


async def test_an_interleaved_item_larger_than_the_queue_is_413_not_429(client):
    parts = [{"type": "text", "text": f"part {i}"} for i in range(TOO_MANY)]
    response = await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": [parts]})
    assert response.status_code == 413, response.text
    assert "retry-after" not in response.headers
    message = response.json()["error"]["message"]
    assert "2049" in message and "2048" in message and "max_queue_items" in message


async def test_classify_with_more_templates_than_the_queue_is_413_not_429(client):
    body = {
        "model": "tiny-clip",
        "inputs": ["a cat"],
        "labels": ["cat"],
        "templates": [f"{{}} number {i}" for i in range(TOO_MANY)],
    }
    response = await client.post("/v1/classify", json=body)
    assert response.status_code == 413, response.text
    assert "retry-after" not in response.headers
    assert "2048" in response.json()["error"]["message"]


async def test_a_request_that_fits_the_queue_is_still_served(client):
    parts = [{"type": "text", "text": f"part {i}"} for i in range(64)]
    response = await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": [parts]})
    assert response.status_code == 200, response.text


# ----------------------------------------------------------------------------- decode memory
def big_png(width: int = 7680, height: int = 5170, mode: str = "RGBA") -> bytes:
    """A 39.7-megapixel PNG (under the 40 MP limit) that decodes to full size but weighs ~160 KB:
    a gradient first row, then rows that repeat it (PNG's "Up" filter on zero differences)."""
    channels = {"RGB": 3, "RGBA": 4}[mode]
    color = {"RGB": 2, "RGBA": 6}[mode]
    first = b"\x00" + bytes((x * 255 // width) % 256 for x in range(width * channels))
    rest = (b"\x02" + b"\x00" * (width * channels)) * (height - 1)
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    body = zlib.compress(first + rest, 1)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return struct.pack(">I", len(data)) + kind + data + crc


@pytest.fixture(scope="module")
def big_rgba(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big-rgba.png"
    path.write_bytes(big_png())
    return path


PEAK_SCRIPT = """
import sys
from pathlib import Path
from omniembed.media.images import ImageLimits, decode_cost, decode_image
from omniembed.models.image_processing import ImagePreprocessor

def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

pre = ImagePreprocessor(shortest_edge=224, crop_size=(224, 224))
data = Path(sys.argv[1]).read_bytes()
fast = sys.argv[2] == "fast"
draft = pre.draft_request() if fast else None
from PIL import Image
pre(Image.new("RGB", (500, 400)), fast=fast)  # torch's resize kernels loaded before measuring
before = hwm()
pixels = pre(decode_image(data, ImageLimits(), draft=draft), fast=fast)
print(hwm() - before, decode_cost(data, ImageLimits(), draft), pixels.shape)
"""


@pytest.mark.parametrize("path", ["fast", "exact"])
def test_one_large_image_peaks_within_its_reserved_cost(big_rgba, path):
    """A 39.7 MP RGBA PNG peaked at +776 MB (four full-size buffers while compositing on white);
    in strips, then reduced early, it stays within what it reserves from the budget (357 MB)."""
    command = [sys.executable, "-c", PEAK_SCRIPT, str(big_rgba), path]
    output = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    peak, cost, shape = output.split(maxsplit=2)
    assert int(peak) <= int(cost) <= 400 * MB, (int(peak) // MB, int(cost) // MB)
    assert shape.strip() == "(3, 224, 224)"


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_compositing_in_strips_matches_the_whole_image(monkeypatch, mode):
    from omniembed.media import images

    source = photo("coffee").resize((97, 61)).convert("RGBA")
    alpha = Image.linear_gradient("L").resize(source.size)
    source.putalpha(alpha)
    image = source.convert(mode) if mode != "P" else source.convert("P")
    if mode == "P":
        image.info["transparency"] = 3
    whole = images.to_rgb(image)
    monkeypatch.setattr(images, "_STRIP_PIXELS", 97 * 7)  # 7 rows a strip, the last one short
    assert images.to_rgb(image).tobytes() == whole.tobytes()


def test_the_cost_is_read_from_the_header(big_rgba):
    data = big_rgba.read_bytes()
    pixels = 7680 * 5170
    assert decode_cost(data, ImageLimits()) == pixels * 9  # RGBA source + RGB + a reduced copy
    assert decode_cost(big_png(mode="RGB"), ImageLimits()) == pixels * 5  # decoded as RGB already
    assert decode_cost(data, ImageLimits(max_pixels=1000)) == 0  # refused before decoding
    assert decode_cost(b"not an image", ImageLimits()) == 0
    jpeg = encode(photo("chelsea").resize((1600, 1200)), "JPEG")
    # At draft scale, plus the fast resize's copies of an image too small to reduce first.
    assert decode_cost(jpeg, ImageLimits(), draft=(448, 448)) == 800 * 600 * 10


async def test_an_image_larger_than_the_whole_budget_is_413():
    budget = DecodeBudget(100 * MB, wait_s=1)
    with pytest.raises(PayloadTooLargeError, match="decode_memory_mb"):
        await budget.reserve(101 * MB)


async def test_waiting_past_the_limit_is_429_with_a_retry_after():
    pool = ThreadPoolExecutor(2)
    budget = DecodeBudget(100 * MB, wait_s=0.2)
    release = threading.Event()
    first = asyncio.ensure_future(budget.run(pool, 60 * MB, lambda: release.wait(5)))
    await asyncio.sleep(0.05)
    with pytest.raises(OverloadedError) as refused:
        await budget.run(pool, 60 * MB, lambda: True)
    assert 1 <= refused.value.retry_after <= 30
    assert budget.in_use == 60 * MB  # the refused image reserved nothing
    release.set()
    assert await first is True
    await asyncio.sleep(0.05)  # the release comes back from the worker thread
    assert budget.in_use == 0 and budget.peak == 60 * MB
    pool.shutdown()


async def test_waiters_are_granted_in_order_and_cancellation_returns_their_share():
    pool = ThreadPoolExecutor(4)
    budget = DecodeBudget(100 * MB, wait_s=5)
    gate = threading.Event()
    order: list[str] = []

    def work(name: str) -> str:
        gate.wait(5)
        order.append(name)
        return name

    big = asyncio.ensure_future(budget.run(pool, 80 * MB, lambda: work("big")))
    await asyncio.sleep(0.02)
    second = asyncio.ensure_future(budget.run(pool, 90 * MB, lambda: work("second")))
    third = asyncio.ensure_future(budget.run(pool, 10 * MB, lambda: work("third")))
    await asyncio.sleep(0.02)
    assert budget.in_use == 80 * MB  # "third" would fit, but waits its turn behind "second"
    second.cancel()
    await asyncio.sleep(0.02)
    assert budget.in_use == 90 * MB  # "second" gave up its place: "third" runs beside "big"
    gate.set()
    assert await big == "big" and await third == "third"
    await asyncio.sleep(0.05)
    assert budget.in_use == 0
    pool.shutdown()


async def test_the_engine_refuses_an_image_over_the_budget_and_keeps_serving(tiny_clip_dir, big_rgba):
    from omniembed.engine.bootstrap import load_model
    from omniembed.engine.engine import Engine, InputPolicy
    from omniembed.engine.items import ImageInput
    from omniembed.media.payload import MediaReference
    from omniembed.models.registry import resolve

    policy = InputPolicy(image_limits=ImageLimits(decode_memory_bytes=64 * MB, decode_wait_s=0.5))
    engine = Engine(policy=policy)
    await engine.add(load_model(resolve(str(tiny_clip_dir))))
    try:
        with pytest.raises(PayloadTooLargeError, match="64 MB"):
            await engine.embed(None, [ImageInput(reference=MediaReference(data=big_rgba.read_bytes()))])
        small = encode(photo("chelsea"), "PNG")
        result = await engine.embed(None, [ImageInput(reference=MediaReference(data=small))])
        assert result.embeddings.shape[0] == 1
        assert 0 < engine.decode_budget.peak <= 64 * MB and engine.decode_budget.in_use == 0
    finally:
        await engine.close()


async def test_videos_decode_within_the_budget_one_frame_at_a_time(tiny_clip_dir, monkeypatch):
    """A video reserves one full-size frame's decode memory (capped at the whole budget, so it waits
    rather than being refused) and keeps only pre-processed frames, never all its RGB frames."""
    import weakref

    import av

    from omniembed.engine.bootstrap import load_model
    from omniembed.engine.engine import Engine, InputPolicy
    from omniembed.engine.items import VideoInput, VideoOptions
    from omniembed.media.payload import MediaReference
    from omniembed.models.registry import resolve
    from tests.support.media import video_path

    converted: list[weakref.ref] = []  # every RGB frame made, weakly: how many are alive at once
    alive: list[int] = []
    real_to_image = av.VideoFrame.to_image

    def to_image(frame, *args, **kwargs):
        image = real_to_image(frame, *args, **kwargs)
        converted.append(weakref.ref(image))
        alive.append(sum(ref() is not None for ref in converted))
        return image

    monkeypatch.setattr(av.VideoFrame, "to_image", to_image)
    policy = InputPolicy(image_limits=ImageLimits(decode_memory_bytes=16 * MB, decode_wait_s=5))
    engine = Engine(policy=policy)
    await engine.add(load_model(resolve(str(tiny_clip_dir))))
    try:
        reference = MediaReference(data=video_path("bigbuckbunny.mp4").read_bytes())
        result = await engine.embed(
            None, [VideoInput(reference=reference, options=VideoOptions(num_frames=8))]
        )
        assert result.embeddings.shape[0] == 1
        assert engine.decode_budget.peak == 16 * MB and engine.decode_budget.in_use == 0
        assert len(converted) == 8 and max(alive) <= 2, alive  # not 8 full frames at once
    finally:
        await engine.close()


# ----------------------------------------------------------------------------- a real server
CLIENTS = 12  # concurrent large-image requests (decode capacity: one at a time), each resent when answered
SECONDS = 16.0
THREADS = 4  # preprocess threads: without the budget, four 39.7 MP images would decode at once
BUDGET_MB = 512  # the default decode_memory_mb


def vm_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


async def sustained_overload(url: str, pid: int, image: bytes, seconds: float) -> tuple[list, list[int]]:
    """`CLIENTS` closed-loop clients sending one large image per request for `seconds`; the
    server's RSS (kB) sampled every 50 ms meanwhile. Returns (statuses with Retry-After, samples)."""
    body = {"model": "tiny-clip", "input": [{"type": "image_url", "image_url": {"url": data_uri(image)}}]}
    deadline = asyncio.get_running_loop().time() + seconds
    outcomes: list[tuple[int, str | None]] = []
    samples: list[int] = []

    async def client(http: httpx.AsyncClient) -> None:
        while asyncio.get_running_loop().time() < deadline:
            response = await http.post("/v1/embeddings", json=body)
            outcomes.append((response.status_code, response.headers.get("retry-after")))

    async def sample() -> None:
        while asyncio.get_running_loop().time() < deadline:
            samples.append(vm_kb(pid, "VmRSS"))
            await asyncio.sleep(0.05)

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        await asyncio.gather(sample(), *(client(http) for _ in range(CLIENTS)))
    return outcomes, samples


def test_rss_stays_flat_under_sustained_large_image_overload(tiny_clip_dir):
    """Several times the decode capacity in 39.7 MP RGBA PNGs for 16 s: RSS stays within the
    budget above the idle server's, and the second half peaks no higher than the first."""
    image = big_png()
    env = {"OMNIEMBED_PREPROCESS_THREADS": str(THREADS), "OMNIEMBED_LOG_LEVEL": "warning"}
    with running_server(["--model", f"tiny-clip={tiny_clip_dir}"], env=env) as server:
        pid = server.process.pid
        small = {
            "model": "tiny-clip",
            "input": [{"type": "image_url", "image_url": {"url": data_uri(encode(photo()))}}],
        }
        assert httpx.post(f"{server.url}/v1/embeddings", json=small, timeout=60).status_code == 200
        idle_kb = vm_kb(pid, "VmRSS")
        outcomes, samples = asyncio.run(sustained_overload(server.url, pid, image, SECONDS))
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    statuses = [status for status, _ in outcomes]
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) >= 2, statuses
    assert all(retry and 1 <= int(retry) <= 30 for status, retry in outcomes if status == 429)
    half = len(samples) // 2
    first, second = max(samples[:half]) / 1024, max(samples[half:]) / 1024
    growth = max(samples) / 1024 - idle_kb / 1024
    print(f"idle {idle_kb // 1024} MB, peaks {first:.0f}/{second:.0f} MB, statuses {statuses}")
    # The budget plus request bodies, responses and allocator slack (measured: +330-390 MB).
    assert growth <= BUDGET_MB + 128, (idle_kb // 1024, first, second, statuses)
    assert second <= first + 64, (idle_kb // 1024, first, second, statuses)


def test_the_decode_budget_settings_reach_the_engine():
    from omniembed.engine.bootstrap import engine_from_settings
    from omniembed.settings import Settings

    engine = engine_from_settings(Settings(decode_memory_mb=64, decode_wait_s=0.5))
    try:
        assert engine.decode_budget.limit == 64 * MB and engine.decode_budget.wait_s == 0.5
    finally:
        engine.pool.shutdown()
