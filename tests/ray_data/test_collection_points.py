"""The collection side of Ray indexing, in-process (no Ray cluster): the points built from the
read tasks' and the actors' columns are the ones `CollectionService.add` stores for the same items
(payload, thumbnail, BM25 terms, vector), and what Ray cannot fill as the service would is refused
up front, as are contradictory CLI flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from qdrant_client import QdrantClient

from omniembed import Embedder
from omniembed.cli import main as cli_main
from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.media.payload import MediaReference
from omniembed.ray import EmbedBatches, expand_files
from omniembed.ray.collection import DOCUMENT_OPTIONS, MULTIVECTOR_OPTIONS, collection_config
from omniembed.ray.points import prepare_payloads, stored_points
from omniembed.retrieval.pdf import render_pages
from omniembed.retrieval.schema import CollectionConfig, StoredPoint
from omniembed.retrieval.server_store import ServerStore
from omniembed.retrieval.service import CollectionItem, CollectionService
from omniembed.settings import Settings
from tests.retrieval.pdfs import text_pdf
from tests.support import tiny_late_interaction as tiny
from tests.support.media import encode, photo, video_path

# The keys `omniembed index` marks its items with, beside id, modality, metadata and text.
MARKS = ("source", "content_hash", "page")
NOTES = "Oat milk, coffee beans and cat food. " * 3


@pytest.fixture
def store():
    opened = ServerStore(QdrantClient(location=":memory:"))
    yield opened
    opened.close()


def as_the_service_stores(
    model: str,
    store: ServerStore,
    points: list[StoredPoint],
    media: Callable[[StoredPoint], bytes | None],
    **load: Any,
) -> tuple[CollectionConfig, dict[str, StoredPoint]]:
    """The same items (ids, text, metadata, `media(point)` bytes) through `CollectionService.add`
    into a new collection: its config and its points by id, to hold the Ray path's points against."""
    with Embedder(model, **load) as embedder:
        service = CollectionService(embedder.engine, store)
        config = embedder.run(service.create("reference", None))
        same = []
        for point in points:
            data = media(point)
            same.append(
                CollectionItem(
                    id=point.id,
                    modality=point.payload["modality"],
                    text=point.payload.get("text"),
                    media=MediaReference(data=data) if data is not None else None,
                    metadata=point.payload["metadata"],
                    extra_payload={key: point.payload[key] for key in MARKS if key in point.payload},
                )
            )
        embedder.run(service.add("reference", same))
    stored = store.retrieve("reference", [point.id for point in points])
    return config, {point.id: point for point in stored}


def cosine(got: Any, want: Any) -> float:
    got, want = np.asarray(got), np.asarray(want)
    return float(got @ want / np.linalg.norm(got) / np.linalg.norm(want))


def test_points_are_what_the_collection_service_stores(tiny_clip_dir, store):
    jpeg, video = encode(photo("chelsea"), quality=90), video_path().read_bytes()
    files = pa.table(
        {
            "path": ["/d/cat.jpg", "/d/notes.md", "/d/broken.jpg", "/d/bikes.mp4"],
            "bytes": [jpeg, NOTES.encode(), b"\xff\xd8\xff\xe0 not a JPEG", video],
        }
    )
    prepared = prepare_payloads(expand_files(files))
    assert prepared.column("data").to_pylist()[2] is not None  # bytes kept; the error says why
    assert "image" in prepared.column("error").to_pylist()[2].lower()
    actor = EmbedBatches(
        str(tiny_clip_dir), kind_column="kind", column="data", runtime="torch", options=DOCUMENT_OPTIONS
    )
    points, failed = stored_points(actor(prepared))
    assert list(failed) == ["/d/broken.jpg#0"] and len(points) == 3
    assert points[0].payload["thumbnail"] and points[1].sparse  # the photo's preview, the notes' terms
    assert points[2].payload["thumbnail"]  # the video's key frame

    media = {"image": jpeg, "video": video}
    _, stored = as_the_service_stores(
        str(tiny_clip_dir), store, points, lambda point: media.get(point.payload["modality"]), runtime="torch"
    )
    for point in points:
        expected = stored[point.id]
        assert point.payload == expected.payload
        assert point.sparse is None or expected.sparse is not None
        if point.sparse is not None:
            assert dict(zip(*point.sparse, strict=True)) == pytest.approx(
                dict(zip(*expected.sparse, strict=True))
            )
        assert cosine(point.vector, expected.vector) >= 0.9999


def test_the_collection_is_created_once_and_checked_after(tiny_clip_dir, minilm_dir, store):
    settings = Settings(runtime="torch")
    created = collection_config(store, "kb", str(tiny_clip_dir), settings, "int8", False)
    assert store.config("kb") == created and created.quantization == "int8"
    assert collection_config(store, "kb", None, settings, "none", False) == created  # no model given
    with pytest.raises(InvalidInputError, match="cannot take"):
        collection_config(store, "kb", str(minilm_dir), settings, "none", False)
    store.create(CollectionConfig("splade", "some-model", 8, sparse="a-sparse-model"))
    with pytest.raises(CapabilityError, match="without --ray"):  # no sparse model in the actors
        collection_config(store, "splade", None, settings, "none", False)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ray", "--collection", "kb", "--output", "out"], "not both"),
        (["--ray"], "not both"),
        (["--collection", "kb", "--output", "out"], "with --ray only"),
        (["--ray", "--collection", "kb", "--actors", "0"], "at least 1"),
        (["--ray", "--collection", "kb", "--sparse", "splade"], "BM25"),
    ],
)
def test_contradictory_index_flags_are_refused_before_ray_starts(tmp_path, capsys, flags, message):
    assert cli_main(["index", str(tmp_path), *flags]) == 1
    assert message in capsys.readouterr().err


def test_pdf_pages_are_page_images_as_the_service_stores_them(tiny_clip_dir, store):
    pdf = text_pdf([["Glacier hiking permit"], ["Load balancer diagram"]])
    rows = expand_files(pa.table({"path": ["/d/manual.pdf"], "bytes": [pdf]}), pdf_pages=True)
    assert rows.column("kind").to_pylist() == ["image", "image"]
    actor = EmbedBatches(
        str(tiny_clip_dir), kind_column="kind", column="data", runtime="torch", options=DOCUMENT_OPTIONS
    )
    points, failed = stored_points(actor(prepare_payloads(rows)))
    assert not failed and [point.payload["page"] for point in points] == [1, 2]
    assert "Glacier" in points[0].payload["text"] and points[0].sparse and points[0].payload["thumbnail"]

    pages = {page.number: page.png for page in render_pages(pdf)}
    _, stored = as_the_service_stores(
        str(tiny_clip_dir), store, points, lambda point: pages[point.payload["page"]], runtime="torch"
    )
    for point in points:
        assert point.payload == stored[point.id].payload
        assert cosine(point.vector, stored[point.id].vector) >= 0.9999


def test_a_multivector_collection_gets_what_the_service_stores(tmp_path, store):
    """ColPali-style: PDF pages become token matrices (and their pooled vector) on the Ray path
    exactly as `CollectionService.add` makes them for the same pages."""
    colpali = str(tiny.build_tiny_colpali(tmp_path / "colpali"))
    pdf = text_pdf([["load balancer configuration diagram"], ["cold brew steeping time"]])
    rows = prepare_payloads(expand_files(pa.table({"path": ["/d/m.pdf"], "bytes": [pdf]}), pdf_pages=True))
    actor = EmbedBatches(colpali, kind_column="kind", column="data", options=MULTIVECTOR_OPTIONS)
    points, failed = stored_points(actor(rows))
    assert not failed and all(point.multivector for point in points)

    pages = {page.number: page.png for page in render_pages(pdf)}
    created, stored = as_the_service_stores(
        colpali, store, points, lambda point: pages[point.payload["page"]]
    )
    assert created.output == "multivector"
    for point in points:
        expected = stored[point.id]
        got, want = np.array(point.multivector), np.array(expected.multivector)
        assert got.shape == want.shape
        rows_cosine = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
        assert rows_cosine.min() >= 0.9999
        assert np.dot(point.vector, expected.vector) >= 0.9999  # the pooled vectors (unit length)
