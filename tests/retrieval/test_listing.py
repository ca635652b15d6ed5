"""Listing a collection page by page (both stores): stable point-id order, a cursor that resumes
exactly where the page ended, the modality filter, `has_thumbnail` without reading thumbnails, text
cut short; and disk use (the embedded store measures its folder, a server reports none)."""

from __future__ import annotations

import subprocess

from omniembed.retrieval.schema import CollectionConfig, StoredPoint
from omniembed.retrieval.store import LISTED_TEXT_CHARS


def _point(index: int) -> StoredPoint:
    modality = ("text", "image", "video")[index % 3]
    payload = {"id": f"item-{index}", "modality": modality, "metadata": {"n": index}}
    if modality == "text":
        payload["text"] = f"{index} " + "x" * 900
    else:
        payload["page"] = index
    if modality != "text" and index % 2 == 0:
        payload["thumbnail"] = "aGVsbG8="
    return StoredPoint(id=f"item-{index}", vector=[1.0, float(index), 0.5, 0.0], sparse=None, payload=payload)


def _filled(store, count: int = 23) -> None:
    store.create(CollectionConfig(name="listed", model="m", dimension=4))
    store.upsert("listed", [_point(index) for index in range(count)])


def _every(store, limit: int, modalities: tuple[str, ...] = ()) -> list:
    found, offset = [], None
    while True:
        page = store.scroll("listed", limit, offset, modalities)
        assert len(page.items) <= limit
        found += page.items
        if page.next_offset is None:
            return found
        offset = page.next_offset


def test_pages_cover_every_item_once_in_a_stable_order(store):
    _filled(store)
    paged = _every(store, 5)
    assert sorted(item.id for item in paged) == sorted(f"item-{i}" for i in range(23))
    assert [item.id for item in paged] == [item.id for item in _every(store, 1000)]
    store.delete("listed", [paged[3].id])  # deleting one item leaves the order of the others
    assert [item.id for item in _every(store, 4)] == [item.id for item in paged if item.id != paged[3].id]


def test_listed_fields_and_modality_filter(store):
    _filled(store)
    by_id = {item.id: item for item in _every(store, 7)}
    text, image, video = by_id["item-0"], by_id["item-4"], by_id["item-2"]
    assert text.text is not None and len(text.text) == LISTED_TEXT_CHARS and text.text.startswith("0 x")
    assert (text.has_thumbnail, text.page, text.metadata) == (False, None, {"n": 0})
    assert (image.modality, image.has_thumbnail, image.page) == ("image", True, 4)
    assert (video.modality, video.has_thumbnail) == ("video", True)
    assert by_id["item-1"].has_thumbnail is False  # an image whose picture did not fit the bounds
    public = image.public()
    assert set(public) == {"id", "modality", "metadata", "text", "has_thumbnail", "page"}
    assert "page" not in text.public()
    images = _every(store, 2, ("image",))
    assert {item.modality for item in images} == {"image"} and len(images) == 8
    assert len(_every(store, 3, ("image", "video"))) == 15


def test_disk_bytes(store, tmp_path):
    _filled(store, 300)
    used = store.disk_bytes("listed")
    if store.__class__.__name__ == "ServerStore":
        assert used is None  # qdrant-client exposes no size (server_store.py says why)
        return
    folder = store.root / "listed"
    # `du` counts allocated blocks too (plus each folder's own): the shard's files are sparse.
    du = int(
        subprocess.run(
            ["du", "-s", "--block-size=1", folder], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    )
    folders = sum(1 for path in folder.rglob("*") if path.is_dir()) + 1
    apparent = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert 0 < used <= du <= used + folders * 4096 and used < apparent


def test_retrieve_without_vectors_reads_payloads_only(store):
    _filled(store, 3)
    [bare] = store.retrieve("listed", ["item-1"], with_vectors=False)
    [full] = store.retrieve("listed", ["item-1"])
    assert bare.payload == full.payload and bare.id == full.id == "item-1"
    assert bare.vector == [] and len(full.vector) == 4
