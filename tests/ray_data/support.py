"""What the Ray tests share: the private network namespace they run Ray in, and a small corpus.

Ray listens on every interface (one of its processes even binds the machine's non-loopback
address), so a job runs in a network namespace of its own (`unshare --net`, loopback only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.media import encode, photo

ROOT = Path(__file__).resolve().parents[2]
STORY = " ".join(f"The lighthouse keeper logged ship number {i} at dawn." for i in range(60))


def missing() -> str | None:
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


def run_in_namespace(script: str, args: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`sh -c script args...` in a new network namespace, bounded in time."""
    # A short temp dir of its own: Ray's socket paths must fit in 107 bytes, and a Ray session
    # someone else runs on this machine stays out of the way.
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": ray_tmp}
    try:
        return subprocess.run(
            # A pid namespace too (with its own /proc, which Ray reads): when a timeout kills the
            # outer process, the kernel ends every Ray daemon started inside with it.
            ["unshare", "--net", "--pid", "--mount-proc", "--kill-child", "sh", "-c", script, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
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
