"""`omniembed embed` prints JSON vectors; `omniembed models` lists the catalog."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tests.support.media import encode, photo


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omniembed", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_embed_text_and_image(tiny_clip_dir, tmp_path):
    image = tmp_path / "cat.jpg"
    image.write_bytes(encode(photo("chelsea")))
    done = run_cli(
        "embed", "--model", str(tiny_clip_dir), "--text", "a cat", "--text", "a dog", "--image", str(image)
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["dimension"] == 16
    assert [row.get("text") or row.get("image") for row in output["data"]] == ["a cat", "a dog", str(image)]
    vectors = np.asarray([row["embedding"] for row in output["data"]])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_embed_reports_errors_without_traceback(tiny_clip_dir, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    done = run_cli("embed", "--model", str(tiny_clip_dir), "--image", str(bad))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_family_fails_with_supported_list(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    done = run_cli("embed", "--model", str(tmp_path), "--text", "x")
    assert done.returncode == 1
    assert "Supported families" in done.stderr and "clip" in done.stderr


def test_models_lists_catalog():
    done = run_cli("models")
    assert done.returncode == 0
    assert "CLIP/clip-vit-b-32" in done.stdout and "omniembed/starter" in done.stdout


def test_serve_with_unknown_family_exits_with_the_supported_list(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    done = run_cli("serve", "--model", str(tmp_path), "--port", "0", timeout=120)
    assert done.returncode != 0
    assert "Supported families" in done.stderr and "siglip" in done.stderr
    assert "Traceback" not in done.stderr
