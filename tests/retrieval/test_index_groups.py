"""`omniembed index` hands files over in groups: their items go through one embedding call (the
engine fills one batch across files) and one upsert; a group the service refuses is indexed
again file by file, so a bad file fails alone with its reason."""

from __future__ import annotations

from omniembed.retrieval.ingest import IndexReport, index_files
from tests.support.media import encode, photo


def image_passes(service) -> float:
    sample = {"model": "tiny-clip", "modality": "image"}
    value = service.engine.metrics.registry.get_sample_value("omniembed_forward_passes_total", sample)
    return value or 0.0


async def test_a_group_of_photos_is_one_forward_pass(service, tmp_path):
    await service.create("photos", "tiny-clip")
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        (tmp_path / f"{name}.jpg").write_bytes(encode(photo(name)))
    files = [(path, path.name) for path in sorted(tmp_path.glob("*.jpg"))]
    before, report = image_passes(service), IndexReport()
    await index_files(service, "photos", files, report, 200, 40)
    assert report.indexed_files == 4 and report.items == 4 and not report.failed
    assert image_passes(service) - before == 1  # one file at a time ran four
    again = IndexReport()
    await index_files(service, "photos", files, again, 200, 40)
    assert again.unchanged == 4 and again.indexed_files == 0


async def test_a_bad_file_fails_alone(service, tmp_path):
    await service.create("mixed", "tiny-clip")
    folder = tmp_path / "files"  # beside the embedded store's data folder
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(encode(photo("chelsea")))
    (folder / "broken.jpg").write_bytes(encode(photo("coffee"))[:300])
    (folder / "empty.txt").write_text("")
    (folder / "note.txt").write_text("Feed the cat at six.")
    files = [(path, path.name) for path in sorted(folder.iterdir())]
    report = IndexReport()
    await index_files(service, "mixed", files, report, 200, 40)
    assert list(report.failed) == [str(folder / "broken.jpg")], report.failed
    assert report.indexed_files == 3 and report.items == 2  # the empty text has no items
    assert (await service.describe("mixed"))[1] == 2
    hits = await service.search("mixed", text="feed the cat", mode="keyword", top_k=1)
    assert hits[0].id == "note.txt#0"
