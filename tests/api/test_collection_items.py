"""The routes the web console browses collections with (in-process app, embedded store): item
listing page by page, bulk delete, disk use, video key-frame thumbnails, PDF page thumbnails and
video queries."""

from __future__ import annotations

import asyncio
import io
import subprocess
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from omniembed.retrieval.ingest import IndexReport, index_file
from omniembed.retrieval.thumbnails import MAX_THUMBNAIL_BYTES, THUMBNAIL_SIDE
from tests.retrieval.pdfs import text_pdf
from tests.support.media import b64, encode, photo
from tests.support.synthetic_video import encode_video

LONG = "a photo of a cat " * 60
# 12 frames at 6 fps: the middle (1.0 s) is frame 6, pure red at 40 + 15 * 6 = 130.
VIDEO = encode_video("mp4", "h264", frames=12, size=(320, 240), rate=6)


@pytest.fixture(scope="module")
async def browsed(client):
    """`browse` (tiny-clip): 2 texts, 2 images, 1 video, 1 audio-free set; created once."""
    await client.post("/v1/collections", json={"name": "browse", "model": "tiny-clip"})
    items = [
        {"id": "long", "text": LONG, "metadata": {"kind": "note"}},
        {"id": "short", "text": "rocket launch"},
        {"id": "cat.jpg", "image": b64(encode(photo("chelsea")))},
        {"id": "rocket.jpg", "image": b64(encode(photo("rocket")))},
        {"id": "clip.mp4", "video": b64(VIDEO), "metadata": {"kind": "clip"}},
    ]
    added = await client.post("/v1/collections/browse/items", json={"items": items})
    assert added.status_code == 200, added.text
    return items


async def _pages(client, query: str) -> list[dict]:
    found, offset = [], None
    while True:
        suffix = f"&offset={offset}" if offset else ""
        response = await client.get(f"/v1/collections/browse/items?{query}{suffix}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list"
        found += body["data"]
        offset = body["next_offset"]
        if offset is None:
            return found


async def test_listing_pages_through_every_item(client, browsed):
    paged = await _pages(client, "limit=2")
    assert sorted(item["id"] for item in paged) == sorted(item["id"] for item in browsed)
    whole = (await client.get("/v1/collections/browse/items")).json()
    assert whole["next_offset"] is None and [i["id"] for i in whole["data"]] == [i["id"] for i in paged]
    by_id = {item["id"]: item for item in paged}
    assert by_id["long"]["text"] == LONG[:500] and by_id["long"]["metadata"] == {"kind": "note"}
    assert [by_id[i]["has_thumbnail"] for i in ("long", "cat.jpg", "clip.mp4")] == [False, True, True]
    assert by_id["clip.mp4"]["modality"] == "video" and by_id["clip.mp4"]["text"] is None
    for item in paged:  # never vectors nor pictures
        assert set(item) == {"id", "modality", "metadata", "text", "has_thumbnail"}
    images = await _pages(client, "modality=image&limit=1")
    assert sorted(item["id"] for item in images) == ["cat.jpg", "rocket.jpg"]
    media = await _pages(client, "modality=image&modality=video")
    assert len(media) == 3


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=1001", "limit=ten", "offset=not-a-cursor", "modality=smell", "offset=" + "1" * 80],
)
async def test_listing_refuses_bad_parameters(client, browsed, query):
    response = await client.get(f"/v1/collections/browse/items?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]


async def test_listing_an_unknown_collection_is_404(client):
    response = await client.get("/v1/collections/nowhere/items")
    assert response.status_code == 404 and response.json()["error"]["message"]


async def test_video_items_get_their_middle_frame_as_thumbnail(client, browsed):
    response = await client.get("/v1/collections/browse/items/clip.mp4/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert len(response.content) <= MAX_THUMBNAIL_BYTES
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (THUMBNAIL_SIDE, 192)
    red, green, blue = np.asarray(picture.convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0)
    assert abs(red - 130) < 8 and green < 8 and blue < 8, (red, green, blue)
    text = await client.get("/v1/collections/browse/items/long/thumbnail")
    assert text.status_code == 404 and "video items have one" in text.json()["error"]["message"]


async def test_pdf_pages_get_thumbnails(client, engine, tmp_path: Path):
    await client.post("/v1/collections", json={"name": "pdf-pages", "model": "tiny-clip"})
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(text_pdf([["first page"], ["second page"]]))
    service = client._transport.app.state.services.collections
    await index_file(service, "pdf-pages", pdf, "manual.pdf", IndexReport(), 200, 40, pdf_pages=True)
    listed = (await client.get("/v1/collections/pdf-pages/items")).json()["data"]
    assert sorted((item["page"], item["has_thumbnail"], item["modality"]) for item in listed) == [
        (1, True, "image"),
        (2, True, "image"),
    ]
    # Page ids hold '#' ("manual.pdf#0"): a client percent-encodes them in the path.
    picture = await client.get(f"/v1/collections/pdf-pages/items/{quote(listed[0]['id'], safe='')}/thumbnail")
    assert max(Image.open(io.BytesIO(picture.content)).size) == THUMBNAIL_SIDE


async def test_bulk_delete(client):
    await client.post("/v1/collections", json={"name": "bulk", "model": "minilm"})
    items = [{"id": f"n{i}", "text": f"note {i}"} for i in range(6)]
    await client.post("/v1/collections/bulk/items", json={"items": items})
    deleted = await client.post("/v1/collections/bulk/items/delete", json={"ids": ["n1", "n3", "gone"]})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"deleted": ["n1", "n3", "gone"], "count": 4}
    left = (await client.get("/v1/collections/bulk/items")).json()["data"]
    assert sorted(item["id"] for item in left) == ["n0", "n2", "n4", "n5"]
    for body, status in (
        ({"ids": []}, 400),
        ({"ids": [f"x{i}" for i in range(1001)]}, 400),
        ({"ids": "n0"}, 400),
        ({"ids": [""]}, 400),
        ({"ids": ["n0"], "extra": 1}, 400),
    ):
        response = await client.post("/v1/collections/bulk/items/delete", json=body)
        assert response.status_code == status and response.json()["error"]["message"], body
    missing = await client.post("/v1/collections/nowhere/items/delete", json={"ids": ["a"]})
    assert missing.status_code == 404


async def test_disk_bytes_are_what_the_collection_takes(client, app_settings, browsed):
    described = (await client.get("/v1/collections/browse")).json()
    listed = {c["name"]: c for c in (await client.get("/v1/collections")).json()["data"]}
    assert listed["browse"]["disk_bytes"] == described["disk_bytes"] > 0
    folder = app_settings.data_dir / "collections" / "browse"
    du = await asyncio.to_thread(
        subprocess.run, ["du", "-s", "--block-size=1", folder], capture_output=True, text=True, check=True
    )
    folders = sum(1 for path in folder.rglob("*") if path.is_dir()) + 1
    assert described["disk_bytes"] <= int(du.stdout.split()[0]) <= described["disk_bytes"] + 4096 * folders


async def test_video_queries(client, browsed):
    found = await client.post(
        "/v1/collections/browse/search",
        json={"query": {"video": b64(VIDEO)}, "mode": "dense", "top_k": 2},
    )
    assert found.status_code == 200, found.text
    hit = found.json()["hits"][0]
    assert hit["id"] == "clip.mp4" and hit["score"] > 0.999
    await client.post("/v1/collections", json={"name": "texts-only", "model": "minilm"})
    refused = await client.post(
        "/v1/collections/texts-only/search", json={"query": {"video": b64(VIDEO)}, "mode": "dense"}
    )
    assert refused.status_code == 400 and "video" in refused.json()["error"]["message"]
    broken = await client.post("/v1/collections/browse/search", json={"query": {"video": "!!!"}})
    assert broken.status_code == 400
