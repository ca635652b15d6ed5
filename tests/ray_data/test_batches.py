"""`EmbedBatches` and the folder-splitting step, called in-process (no Ray cluster): vectors equal
the single-process Embedder's, bad items become error rows, and text is chunked as `index` does."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from omniembed import Embedder
from omniembed.errors import ConfigurationError
from omniembed.ray import EmbedBatches, expand_files
from omniembed.retrieval.ingest import chunk_words
from tests.support.media import encode, photo

TEXTS = ["a photo of a cat", "a cup of coffee", "an astronaut"]


@pytest.fixture(scope="module")
def embedder(tiny_clip_dir):
    with Embedder(str(tiny_clip_dir), runtime="torch") as built:
        yield built


@pytest.fixture(scope="module")
def images():
    return [encode(photo(name), quality=90) for name in ("chelsea", "coffee", "astronaut")]


def cosines(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    left = left / np.linalg.norm(left, axis=1, keepdims=True)
    right = right / np.linalg.norm(right, axis=1, keepdims=True)
    return (left * right).sum(axis=1)


def test_text_and_image_columns_match_the_embedder(tiny_clip_dir, embedder, images):
    texts = EmbedBatches(str(tiny_clip_dir), kind="text", runtime="torch")
    out = texts(pa.table({"text": TEXTS, "n": [1, 2, 3]}))
    assert out.column_names == ["text", "n", "embedding", "error"]
    assert out.schema.field("embedding").type == pa.list_(pa.float32(), embedder.dimension)
    got = np.array(out.column("embedding").to_pylist(), dtype=np.float32)
    assert cosines(got, embedder.embed_texts(TEXTS)).min() >= 0.9999
    pictures = EmbedBatches(str(tiny_clip_dir), kind="image", runtime="torch")
    out = pictures({"bytes": np.array(images, dtype=object)})  # Ray's default numpy batches
    got = np.array(out.column("embedding").to_pylist(), dtype=np.float32)
    assert cosines(got, embedder.embed_images(images)).min() >= 0.9999
    assert out.column("error").null_count == 3


def test_a_bad_item_is_an_error_row_and_the_rest_are_embedded(tiny_clip_dir, embedder, images):
    batches = EmbedBatches(str(tiny_clip_dir), kind_column="kind", column="data", runtime="torch")
    table = pa.table(
        {
            "kind": ["image", "image", "text", "image", "sound", "text"],
            "data": [images[0], b"\xff\xd8 not a jpeg", TEXTS[0].encode(), None, b"x", b"hi"],
            "error": [None, None, None, None, None, "unreadable PDF"],
        }
    )
    out = batches(table).to_pylist()
    errors = [row["error"] for row in out]
    assert errors[0] is None and errors[2] is None
    assert "image" in errors[1].lower() or "decode" in errors[1].lower()
    assert errors[3] == "The item is empty." and "Unknown kind" in errors[4]
    assert errors[5] == "unreadable PDF"  # passed through, not embedded
    assert [row["embedding"] is None for row in out] == [False, True, False, True, True, True]
    assert cosines(np.array([out[0]["embedding"]]), embedder.embed_images(images[:1]))[0] >= 0.9999
    assert cosines(np.array([out[2]["embedding"]]), embedder.embed_texts(TEXTS[:1]))[0] >= 0.9999


def test_embed_options_and_refused_outputs(tiny_clip_dir):
    batches = EmbedBatches(str(tiny_clip_dir), runtime="torch", options={"dimensions": 8})
    out = batches(pa.table({"text": ["short"]}))
    assert out.schema.field("embedding").type == pa.list_(pa.float32(), 8)
    with pytest.raises(ConfigurationError):
        EmbedBatches(str(tiny_clip_dir), runtime="torch", options={"output": "sparse"})


def test_expand_files_chunks_like_index_and_skips_done_ids():
    words = " ".join(f"w{i}" for i in range(450))
    jpeg = encode(photo("coffee"))
    files = pa.table(
        {"path": ["/d/notes.txt", "/d/cup.JPG", "/d/x.bin"], "bytes": [words.encode(), jpeg, b"?"]}
    )
    rows = expand_files(files, chunk_size=200, overlap=40).to_pylist()
    digest = hashlib.sha256(words.encode()).hexdigest()
    chunks = chunk_words(words, 200, 40)
    assert [row["text"] for row in rows[:-1]] == chunks and len(chunks) == 3
    assert [row["id"] for row in rows[:-1]] == [f"{digest}#{i}" for i in range(3)]
    assert json.loads(rows[1]["metadata"]) == {"path": "/d/notes.txt", "chunk": 1}
    assert rows[-1]["kind"] == "image" and rows[-1]["data"] == jpeg and rows[-1]["text"] is None
    skipped = expand_files(files, skip=frozenset({f"{digest}#1"}))
    assert skipped.num_rows == 3 and f"{digest}#1" not in skipped.column("id").to_pylist()
    assert expand_files(files.slice(2)).num_rows == 0  # unsupported suffix, schema kept


def test_an_unreadable_pdf_is_one_error_row():
    rows = expand_files(pa.table({"path": ["/d/broken.pdf"], "bytes": [b"%PDF-1.4 garbage"]})).to_pylist()
    assert len(rows) == 1 and rows[0]["error"] and rows[0]["data"] is None


def test_a_half_written_output_file_is_set_aside_and_its_ids_redone(tmp_path):
    import pyarrow.parquet as pq

    from omniembed.ray.folder import existing_ids, parquet_files
    from omniembed.ray.items import resolve

    pq.write_table(pa.table({"id": ["a#0", "b#0"]}), tmp_path / "done.parquet")
    (tmp_path / "crashed.parquet").write_bytes((tmp_path / "done.parquet").read_bytes()[:40])
    filesystem, root = resolve(tmp_path)
    assert existing_ids(filesystem, root) == {"a#0", "b#0"}
    assert [Path(path).name for path in parquet_files(filesystem, root)] == ["done.parquet"]
    assert (tmp_path / "_incomplete-crashed.parquet").exists()
    assert pq.read_table(tmp_path).num_rows == 2  # readers skip the set-aside file
