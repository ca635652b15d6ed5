"""The web console's files at `/` (in-process): served from the package, self-contained, open
without an API key while every API route behind them still needs one; and item thumbnails."""

from __future__ import annotations

import io
import re
from importlib.resources import files

import httpx
from PIL import Image

from omniembed.api.app import create_app
from omniembed.retrieval.thumbnails import MAX_THUMBNAIL_BYTES, THUMBNAIL_SIDE
from omniembed.settings import Settings
from tests.support.media import data_uri, encode, photo

CONSOLE = files("omniembed") / "console"


async def test_page_and_its_assets_are_served_with_a_strict_policy(client):
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    referenced = re.findall(r'(?:src|href)="(/console/[^"]+)"', page.text)
    assert "/console/app.js" in referenced and "/console/console.css" in referenced
    for path in referenced:
        asset = await client.get(path)
        assert asset.status_code == 200, path
    script = await client.get("/console/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    missing = await client.get("/console/../pyproject.toml")
    assert missing.status_code == 404 and "error" in missing.json()
    assert (await client.get("/console/nothing.js")).status_code == 404
    assert (await client.get("/docs")).status_code == 200  # the API's own pages are unaffected


def test_console_is_small_and_loads_nothing_from_elsewhere():
    assets = [entry for entry in CONSOLE.iterdir() if entry.is_file()]
    total = sum(len(entry.read_bytes()) for entry in assets)
    assert total < 64 * 1024, total
    for entry in assets:
        text = entry.read_text(encoding="utf-8")
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), entry.name
        assert "@import" not in text and ".innerHTML" not in text, entry.name


async def test_with_keys_the_files_are_open_and_the_api_is_not(engine, app_settings):
    keyed = Settings(**{**app_settings.model_dump(), "api_keys": ["console-key"]})
    transport = httpx.ASGITransport(app=create_app(keyed, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        assert (await http.get("/")).status_code == 200
        assert (await http.get("/console/api.js")).status_code == 200
        assert (await http.get("/v1/collections")).status_code == 401
        assert (await http.post("/", content=b"{}")).status_code == 401  # only GET and HEAD are open
        assert (await http.get("/docs")).status_code == 401
        authorized = await http.get("/v1/collections", headers={"Authorization": "Bearer console-key"})
        assert authorized.status_code == 200


async def test_image_items_have_a_bounded_thumbnail(client):
    created = await client.post("/v1/collections", json={"name": "thumbs", "model": "tiny-clip"})
    assert created.status_code == 201, created.text
    items = [
        {"id": "photos/cat.jpg", "image": data_uri(encode(photo("astronaut"), quality=95))},
        {"id": "note", "text": "a photo of a cat"},
    ]
    assert (await client.post("/v1/collections/thumbs/items", json={"items": items})).status_code == 200
    thumb = await client.get("/v1/collections/thumbs/items/photos%2Fcat.jpg/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert len(thumb.content) <= MAX_THUMBNAIL_BYTES
    assert max(Image.open(io.BytesIO(thumb.content)).size) == THUMBNAIL_SIDE
    search = await client.post("/v1/collections/thumbs/search", json={"query": "cat", "mode": "dense"})
    assert "thumbnail" not in search.text  # hits stay small
    text = await client.get("/v1/collections/thumbs/items/note/thumbnail")
    assert text.status_code == 404 and "only image items" in text.json()["error"]["message"]
    await client.delete("/v1/collections/thumbs/items/photos%2Fcat.jpg")
    gone = await client.get("/v1/collections/thumbs/items/photos%2Fcat.jpg/thumbnail")
    assert gone.status_code == 404
    assert (await client.get("/v1/collections/nope/items/x/thumbnail")).status_code == 404
    await client.delete("/v1/collections/thumbs")
