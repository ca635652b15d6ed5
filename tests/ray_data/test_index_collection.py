"""`index_collection` on a real local Ray cluster, in a private network namespace
(tests/ray_data/support.py): real photos and texts into a qdrant-client local-mode collection,
vectors equal to the single-process Embedder's, the collection searchable as any other; a rerun
embeds and adds nothing; `omniembed index --ray` end to end; a killed actor loses and repeats
nothing. tests/ray_data/collection_job.py is the script run in the namespace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from omniembed import Embedder
from omniembed.media.payload import MediaReference
from omniembed.ray.collection import DOCUMENT_OPTIONS
from omniembed.retrieval.edge_store import EdgeStore
from omniembed.retrieval.server_store import ServerStore
from omniembed.retrieval.service import CollectionService
from tests.ray_data.support import corpus, missing, run_in_namespace
from tests.support.media import encode, photo

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


def ledger_total(path: Path) -> int:
    return sum(int(line) for line in path.read_text().split()) if path.exists() else 0


def cosines(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return (left * right).sum(1) / np.linalg.norm(left, axis=1) / np.linalg.norm(right, axis=1)


def test_folder_to_collection_on_ray(tmp_path, tiny_clip_dir):
    folder, qdrant = corpus(tmp_path / "in"), tmp_path / "qdrant"
    report, ledger = tmp_path / "report.json", tmp_path / "ledger"
    python = sys.executable
    script = f'ip link set lo up && exec {python} -m tests.ray_data.collection_job "$0" "$1" "$2" "$3" "$4"'
    done = run_in_namespace(script, [str(tiny_clip_dir), str(folder), str(qdrant), str(report), str(ledger)])
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    first, again = json.loads(report.read_text())
    broken = str(folder.resolve() / "photos" / "broken.jpg")
    # 3 photos, the notes, 4 chunks of the story; the broken photo fails with its reason.
    assert (first["items"], first["files"], first["total"], first["already_done"]) == (8, 6, 8, 0)
    assert list(first["failed"]) == [f"{broken}#0"] and first["failed"][f"{broken}#0"]
    assert (again["items"], again["already_done"], again["total"]) == (0, 8, 8)
    assert list(again["failed"]) == [f"{broken}#0"]  # tried again, since it never got in
    assert ledger_total(ledger) == 8  # the rerun embedded nothing

    store = ServerStore(QdrantClient(path=str(qdrant)))
    try:
        with Embedder(str(tiny_clip_dir), runtime="torch") as embedder:
            check_points(store, embedder, folder)
            service = CollectionService(embedder.engine, store)
            cat = MediaReference(data=(folder / "photos" / "chelsea.jpg").read_bytes())
            hits = embedder.run(service.search("photos", image=cat, mode="dense", top_k=1))
            assert hits[0].metadata["path"].endswith("chelsea.jpg")
            hits = embedder.run(service.search("photos", text="lighthouse keeper", mode="keyword", top_k=4))
            assert len(hits) == 4 and all(hit.metadata["path"].endswith("story.txt") for hit in hits)
    finally:
        store.close()


@pytest.mark.slow
def test_index_cli_on_ray_then_search(tmp_path, tiny_clip_dir):
    folder, edge, cli_out = corpus(tmp_path / "in"), tmp_path / "edge", tmp_path / "cli.txt"
    python = sys.executable
    script = (
        f'ip link set lo up && {python} -m omniembed index "$1" --collection kb --ray --model "$0" '
        f'--data-dir "$2" --runtime torch --batch-size 4 > "$3"; echo "exit $?" >> "$3"'
    )
    done = run_in_namespace(script, [str(tiny_clip_dir), str(folder), str(edge), str(cli_out)])
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    broken = str(folder.resolve() / "photos" / "broken.jpg")
    lines = cli_out.read_text().splitlines()
    assert lines[-1] == "exit 1", lines  # an item failed
    assert lines[-3].startswith("6 files, 8 items embedded into collection 'kb'") and "1 failed" in lines[-3]
    assert lines[-2].startswith(f"  failed: {broken}#0: ")
    edge_store = EdgeStore(edge)
    try:
        assert edge_store.count("kb") == 8
    finally:
        edge_store.close()
    found = subprocess.run(
        [python, "-m", "omniembed", "search", "kb", "oat milk", "--mode", "keyword", "--data-dir", str(edge)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMNIEMBED_RUNTIME": "torch"},
    )
    assert found.returncode == 0 and "Oat milk" in found.stdout.splitlines()[1], found.stdout + found.stderr


def check_points(store: ServerStore, embedder: Embedder, folder: Path) -> None:
    """Every item once, as the single-process Embedder embeds it, with its payload."""
    files = sorted(path for path in folder.rglob("*") if path.suffix in {".jpg", ".md", ".txt"})
    points = [point for path in files for point in by_source(store, path)]
    assert len(points) == 8 and len({point.id for point in points}) == 8
    images = [point for point in points if point.payload["modality"] == "image"]
    texts = [point for point in points if point.payload["modality"] == "text"]
    assert all(point.payload["thumbnail"] for point in images) and all(point.sparse for point in texts)
    expected = np.concatenate(
        [
            embedder.embed_images([Path(point.payload["source"]).read_bytes() for point in images]),
            # As `omniembed index` embeds a document: long chunks in windows, averaged.
            embedder.embed_texts([point.payload["text"] for point in texts], **DOCUMENT_OPTIONS),
        ]
    )
    assert cosines(np.array([point.vector for point in images + texts]), expected).min() >= 0.9999


def by_source(store: ServerStore, path: Path) -> list:
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return store.retrieve("photos", [f"{digest}#{chunk}" for chunk in range(8)])


@pytest.mark.slow
def test_a_killed_actor_leaves_every_item_once_in_the_collection(tmp_path, tiny_clip_dir):
    folder, qdrant, marker = tmp_path / "in", tmp_path / "qdrant", tmp_path / "died"
    report, ledger = tmp_path / "report.json", tmp_path / "ledger"
    folder.mkdir()
    for index in range(12):  # 12 distinct photos: 6 batches of 2, the actor dies in its third
        image = photo(("chelsea", "coffee", "astronaut")[index % 3]).rotate(index * 7)
        (folder / f"photo{index}.png").write_bytes(encode(image, "PNG"))
    args = [str(tiny_clip_dir), str(folder), str(qdrant), str(report), str(ledger), "kill-once", str(marker)]
    done = run_in_namespace(
        f'ip link set lo up && exec {sys.executable} -m tests.ray_data.collection_job "$0" "$1" "$2" "$3" '
        '"$4" "$5" "$6"',
        args,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert marker.exists(), "the actor never died"
    (run,) = json.loads(report.read_text())
    assert (run["items"], run["total"], run["failed"]) == (12, 12, {})
    store = ServerStore(QdrantClient(path=str(qdrant)))
    try:
        ids = [point.id for path in sorted(folder.iterdir()) for point in by_source(store, path)]
        assert len(ids) == 12 and len(set(ids)) == 12 and store.count("photos") == 12
    finally:
        store.close()
