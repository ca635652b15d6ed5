"""`omniembed index` walks a folder (text, Markdown, PDF, images, video), resumes by content hash,
and `omniembed search` prints a table."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.support.media import encode, photo, video_path


def minimal_pdf(line: str) -> bytes:
    """A one-page PDF with one line of Helvetica text and a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 20 80 Td ({line}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return body


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omniembed", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_index_resume_and_search(tmp_path, minilm_dir, models_cache):
    import os

    docs = tmp_path / "docs"
    (docs / "notes").mkdir(parents=True)
    (docs / "notes" / "espresso.md").write_text(
        "# Coffee\nEspresso is brewed by forcing hot water through ground coffee."
    )
    (docs / "everest.txt").write_text(
        "Mount Everest is the highest mountain on Earth. " * 60
    )  # several chunks
    (docs / "permit.pdf").write_bytes(minimal_pdf("Glacier hiking permit form"))
    (docs / "cat.jpg").write_bytes(encode(photo("chelsea")))
    shutil.copy(video_path("carphone_pristine.mp4"), docs / "clip.mp4")
    (docs / "data.bin").write_bytes(b"\x00\x01")
    env = {
        **os.environ,
        "OMNIEMBED_DATA_DIR": str(tmp_path / "store"),
        "OMNIEMBED_MODELS_DIR": str(models_cache),
    }
    first = cli(
        "index", str(docs), "--collection", "kb", "--chunk-words", "100", "--overlap-words", "20", env=env
    )
    assert first.returncode == 0, first.stderr
    assert "5 files indexed" in first.stdout and "1 unsupported" in first.stdout, first.stdout
    again = cli("index", str(docs), "--collection", "kb", env=env)
    assert "0 files indexed" in again.stdout and "5 unchanged" in again.stdout, again.stdout
    (docs / "notes" / "espresso.md").write_text("Cold brew steeps coffee grounds in cold water overnight.")
    changed = cli("index", str(docs), "--collection", "kb", env=env)
    assert "1 files indexed" in changed.stdout, changed.stdout
    found = cli("search", "kb", "how long does cold brew steep", "--top-k", "3", env=env)
    assert found.returncode == 0, found.stderr
    rows = [line for line in found.stdout.splitlines()[1:] if line.strip()]
    assert "notes/espresso.md#0" in rows[0] and "Cold brew" in rows[0]
    permit = cli("search", "kb", "glacier permit", "--mode", "keyword", "-k", "1", env=env)
    assert "permit.pdf#0" in permit.stdout
    cat = cli("search", "kb", "a photo of a cat", "-k", "3", "--mode", "dense", env=env)
    assert "cat.jpg#0" in cat.stdout
    missing = cli("search", "nope", "x", env=env)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
