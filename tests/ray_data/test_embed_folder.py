"""`embed_folder` on a real local Ray cluster: real photos and texts into Parquet, vectors equal to
the single-process Embedder's, a corrupt image as an error row, and a rerun (through the CLI,
`python -m omniembed.ray`) that writes nothing.

Ray listens on every interface (one of its processes even binds the machine's non-loopback
address), so the job runs in a private network namespace this test creates (`unshare --net`,
loopback only); tests/ray_data/ray_job.py is the script run there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from omniembed import Embedder
from omniembed.retrieval.ingest import chunk_words
from tests.support.media import encode, photo

ROOT = Path(__file__).resolve().parents[2]
STORY = " ".join(f"The lighthouse keeper logged ship number {i} at dawn." for i in range(60))


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (scripts/test.sh installs it)"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (the ray extra)"
    return None


def run_in_namespace(script: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    """`sh -c script args...` in a new network namespace, bounded in time."""
    # A short temp dir of its own: Ray's socket paths must fit in 107 bytes, and a Ray session
    # someone else runs on this machine stays out of the way.
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": ray_tmp}
    try:
        return subprocess.run(
            ["unshare", "--net", "sh", "-c", script, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def corpus(folder: Path) -> Path:
    (folder / "photos").mkdir(parents=True)
    for name in ("chelsea", "coffee", "astronaut"):
        (folder / "photos" / f"{name}.jpg").write_bytes(encode(photo(name), quality=90))
    (folder / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated, not a JPEG")
    (folder / "notes.md").write_text("# Groceries\n\nOat milk, coffee beans and cat food.\n")
    (folder / "story.txt").write_text(STORY)  # 600 words: several overlapping chunks
    (folder / "ignored.bin").write_bytes(b"\x00" * 16)
    return folder


@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
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
@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
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
