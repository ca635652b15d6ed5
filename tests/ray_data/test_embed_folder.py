"""`embed_folder` on a real local Ray cluster: real photos and texts into Parquet, vectors equal to
the single-process Embedder's, a corrupt image as an error row, and a rerun (through the CLI,
`python -m omniembed.ray`) that writes nothing.

The job runs in a private network namespace (tests/ray_data/support.py); tests/ray_data/ray_job.py
is the script run there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from omniembed import Embedder
from omniembed.retrieval.ingest import chunk_words
from tests.ray_data.support import STORY, corpus, missing, run_in_namespace
from tests.support.media import encode, photo


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_folder_to_parquet_on_ray(tmp_path, tiny_clip_dir):
    folder, output = corpus(tmp_path / "in"), tmp_path / "out"
    first_json, again_json = tmp_path / "first.json", tmp_path / "again.json"
    args = [str(tiny_clip_dir), str(folder), str(output), str(first_json), str(again_json)]
    python = sys.executable
    script = (
        f'ip link set lo up && {python} -m tests.ray_data.ray_job "$0" "$1" "$2" "$3" && '
        f'{python} -m omniembed.ray "$1" -o "$2" -m "$0" --runtime torch --batch-size 4 --json > "$4"'
    )
    done = run_in_namespace(script, args)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    first, again = json.loads(first_json.read_text()), json.loads(again_json.read_text())

    table = pq.read_table(output)  # the plain pyarrow reader, no Ray
    rows = table.to_pylist()
    assert len(rows) == first["items"] == table.num_rows
    assert len({row["id"] for row in rows}) == len(rows)
    by_path = {Path(row["path"]).name: row for row in rows if row["chunk"] == 0}
    assert set(by_path) == {
        "chelsea.jpg",
        "coffee.jpg",
        "astronaut.jpg",
        "broken.jpg",
        "notes.md",
        "story.txt",
    }
    assert by_path["broken.jpg"]["embedding"] is None and by_path["broken.jpg"]["error"]
    assert list(first["failed"]) == [f"{by_path['broken.jpg']['path']}#0"]

    with Embedder(str(tiny_clip_dir), runtime="torch") as embedder:
        good = [row for row in rows if row["error"] is None]
        images = [row for row in good if row["kind"] == "image"]
        texts = [row for row in good if row["kind"] == "text"]
        story = [row["text"] for row in texts if row["path"].endswith("story.txt")]
        assert len(images) == 3 and sorted(story) == sorted(chunk_words(STORY, 200, 40)) and len(story) == 4
        expected = np.concatenate(
            [
                embedder.embed_images([Path(row["path"]).read_bytes() for row in images]),
                embedder.embed_texts([row["text"] for row in texts]),
            ]
        )
    got = np.array([row["embedding"] for row in images + texts], dtype=np.float32)
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= 0.9999

    assert again["items"] == 0 and again["files_written"] == [] and again["already_done"] == len(rows)
    assert pq.read_table(output).num_rows == len(rows)


@pytest.mark.slow
@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_a_killed_actor_loses_and_repeats_nothing(tmp_path, tiny_clip_dir):
    folder, output, report, marker = tmp_path / "in", tmp_path / "out", tmp_path / "r.json", tmp_path / "died"
    folder.mkdir()
    for index in range(12):  # 12 distinct photos: 6 batches of 2, the actor dies in its third
        image = photo(("chelsea", "coffee", "astronaut")[index % 3]).rotate(index * 7)
        (folder / f"photo{index}.png").write_bytes(encode(image, "PNG"))
    args = [str(tiny_clip_dir), str(folder), str(output), str(report), "kill-once", str(marker)]
    done = run_in_namespace(
        f'ip link set lo up && exec {sys.executable} -m tests.ray_data.ray_job "$0" "$1" "$2" "$3" "$4" "$5"',
        args,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert marker.exists(), "the actor never died"
    ids = pq.read_table(output, columns=["id", "error"]).to_pylist()
    assert len(ids) == 12 and len({row["id"] for row in ids}) == 12
    assert all(row["error"] is None for row in ids)
