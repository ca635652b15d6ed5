"""`omniembed embed` prints JSON vectors; `omniembed models` lists the catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def _sample(name: str, field) -> tuple[list[str], object]:
    """A flag spelling of a non-default value for a Settings field, and the value it must give."""
    default = field.get_default(call_default_factory=True)
    flag = "--" + name.replace("_", "-")
    special = {
        "models": (["--model", "a", "-m", "b"], ["a", "b"]),
        "api_keys": (["--api-key", "k1", "--api-key", "k2"], ["k1", "k2"]),
        "device": ([flag, "cpu"], "cpu"),
        "log_level": ([flag, "debug"], "debug"),
        "store": ([flag, "http://127.0.0.1:6333"], "http://127.0.0.1:6333"),
        "image_formats": ([flag, "tiff", flag, "png"], ["TIFF", "PNG"]),
        "model_options": (["--model-option", "a:is_matryoshka=true"], ["a:is_matryoshka=true"]),
    }
    if name in special:
        return special[name]
    if isinstance(default, bool):
        return ([f"--no-{flag[2:]}"] if default else [flag]), not default
    if isinstance(default, int):
        return [flag, str(default + 1)], default + 1
    if isinstance(default, float):
        return [flag, str(default / 2)], default / 2
    if isinstance(default, list):
        return [flag, "x", flag, "y"], ["x", "y"]
    if isinstance(default, Path) or "Path" in str(field.annotation):
        return [flag, "/tmp/omniembed-flag"], Path("/tmp/omniembed-flag")
    choices = getattr(field.annotation, "__args__", ())
    if choices and all(isinstance(choice, str) for choice in choices):
        other = next(choice for choice in choices if choice != default)
        return [flag, other], other
    return [flag, "main"], "main"


def test_every_setting_is_a_serve_flag_and_wins_over_env(monkeypatch):
    from omniembed.cli import build_parser, settings_from
    from omniembed.settings import Settings

    parser = build_parser()
    for name, field in Settings.model_fields.items():
        argv, expected = _sample(name, field)
        args = parser.parse_args(["serve", *argv])
        assert getattr(args, name) is not None, f"no flag for {name}"
        assert getattr(settings_from(args), name) == expected, name
    # Flags beat the environment, including the seed-compatible names.
    monkeypatch.setenv("OMNIEMBED_DATA_DIR", "/tmp/from-env")
    monkeypatch.setenv("OMNIEMBED_VIDEO_MAX_FRAMES", "5")
    monkeypatch.setenv("EMBEDDING_MODEL_NAME", "from-env")
    monkeypatch.setenv("OMNIEMBED_FAST_IMAGE_DECODE", "true")
    argv = ["serve", "--data-dir", "/tmp/from-flag", "--video-max-frames", "7", "-m", "from-flag"]
    settings = settings_from(parser.parse_args([*argv, "--no-fast-image-decode"]))
    assert (settings.data_dir, settings.video_max_frames, settings.models) == (
        Path("/tmp/from-flag"),
        7,
        ["from-flag"],
    )
    assert settings.fast_image_decode is False
    # An absent flag leaves the environment alone.
    assert settings_from(parser.parse_args(["serve"])).video_max_frames == 5


def test_serve_help_lists_every_setting():
    done = run_cli("serve", "--help", timeout=60)
    assert done.returncode == 0
    for flag in ("--data-dir", "--store", "--video-max-frames", "--max-text-chars", "--api-key", "--model"):
        assert flag in done.stdout, flag


def test_readme_configuration_names_every_setting():
    from omniembed.settings import Settings

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Configuration") :].split("\n## ", 1)[0]
    for name in Settings.model_fields:
        assert name.upper() in section or f"--{name.replace('_', '-')}" in section, name


def test_ray_serve_flags_are_checked_before_anything_starts(capsys):
    from omniembed.cli import main

    assert main(["serve", "--replicas", "2", "--replica-gpus", "1"]) == 2
    assert "--replicas, --replica-gpus only apply with --ray-serve" in capsys.readouterr().err
    assert main(["serve", "--ray-serve", "--min-replicas", "3", "--max-replicas", "1"]) == 2
    assert "min_replicas <= max_replicas" in capsys.readouterr().err
    assert main(["serve", "--ray-serve", "--replicas", "2", "--max-replicas", "4"]) == 2
    assert "not both" in capsys.readouterr().err
