"""README.md's examples run as written, against a real `omniembed serve` process (the offline
starter model). Every ```bash and ```python block that talks to a server or the library (curl,
openai, cohere, Embedder, the omniembed CLI) runs; the few that cannot run offline are listed in
SKIPPED with the reason (the install and test commands are not examples of use: not collected).
Only these substitutions are made: the server's address for `localhost:8000`, a real small JPEG
for the `data:image/jpeg;base64,...` placeholder, and the files the examples name (cat.jpg,
dog.png, clip.mp4, ./docs, `pil_image`, `jpeg_bytes`). curl runs with `--fail-with-body`, so an
HTTP error fails its block.

Blocks of `omniembed` CLI lines and Python blocks run in this process (each new process would load
torch and the model again: ~16 s each on the test machines); curl blocks run in bash.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.media import data_uri, encode, photo, video_path
from tests.support.server import running_server

README = Path(__file__).parents[1] / "README.md"
_BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)
_TALKS = re.compile(r"\bcurl\b|\bOpenAI\(|\bcohere\b|\bEmbedder\b|^omniembed ", re.M)
# A distinctive piece of a block → why it does not run here.
SKIPPED = {
    "omniembed serve --model": "serves models from the Hugging Face hub (internet) or from local paths "
    "(`/models/...`) this machine lacks; the test starts its own server",
}
_PRELUDE = (
    'from PIL import Image\npil_image = Image.open("cat.jpg")\njpeg_bytes = open("cat.jpg", "rb").read()\n'
)


def _blocks() -> list[tuple[str, str, str]]:
    text = README.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        language, code = match.group(1), match.group(2)
        if _TALKS.search(code):
            found.append((f"README.md:{text.count(chr(10), 0, match.start()) + 1}", language, code))
    return found


BLOCKS = _blocks()
_PARAMS = [
    pytest.param(
        language,
        code,
        id=name,
        marks=[pytest.mark.skip(reason=why) for marker, why in SKIPPED.items() if marker in code],
    )
    for name, language, code in BLOCKS
]


def test_readme_has_the_examples():
    assert len(BLOCKS) >= 7, [name for name, _, _ in BLOCKS]
    for marker in SKIPPED:  # a skip that no longer matches a block is stale
        assert any(marker in code for _, _, code in BLOCKS), marker


@pytest.fixture(scope="module")
def server(models_cache, starter_engine, tmp_path_factory):  # starter_engine fills models_cache
    env = {key: "" for key in ("OMNIEMBED_MODELS", "OMNIEMBED_MODEL", "EMBEDDING_MODEL_NAME")}
    env["OMNIEMBED_DATA_DIR"] = str(tmp_path_factory.mktemp("readme-server-data"))
    with running_server(["--models-dir", str(models_cache)], env=env) as running:
        yield running


@pytest.fixture
def workdir(tmp_path, monkeypatch, models_cache):
    """A directory holding the files the examples name, made the current directory."""
    small = photo("chelsea").resize((224, 147))
    (tmp_path / "cat.jpg").write_bytes(encode(small))
    (tmp_path / "dog.png").write_bytes(encode(photo("astronaut").resize((128, 128)), "PNG"))
    shutil.copy(video_path(), tmp_path / "clip.mp4")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "brew.md").write_text("# Cold brew\n\nSteep the coffee for 12 to 18 hours.\n")
    (tmp_path / "docs" / "cat.jpg").write_bytes(encode(small))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMNIEMBED_MODELS_DIR", str(models_cache))
    monkeypatch.setenv("OMNIEMBED_DATA_DIR", str(tmp_path / "cli-data"))
    return tmp_path


def _localize(code: str, url: str, image: str) -> str:
    code = code.replace("data:image/jpeg;base64,...", image)
    code = re.sub(r"(https?://)?(localhost|127\.0\.0\.1):8000", url, code)
    return code.replace("curl -s ", "curl -sS --fail-with-body ")


def _run_bash(code: str, workdir: Path) -> None:
    from omniembed.cli import main

    commands = [line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if all(line.startswith("omniembed ") for line in commands):
        for command in commands:
            assert not command.startswith("omniembed serve"), "a server would block: list it in SKIPPED"
            assert main(shlex.split(command, comments=True)[1:]) == 0, command
        return
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{code[:500]}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert '"error"' not in done.stdout, done.stdout[-2000:]


@pytest.mark.parametrize(("language", "code"), _PARAMS)
def test_readme_example_runs(language, code, server, workdir):
    image = data_uri((workdir / "cat.jpg").read_bytes())
    code = _localize(code, server.url, image)
    if language == "bash":
        _run_bash(code, workdir)
    else:
        namespace: dict[str, object] = {"__name__": "readme_example"}
        exec(compile(_PRELUDE + code, "README.md", "exec"), namespace)
    assert server.process.poll() is None, server.output()[-4000:]
    assert os.getcwd() == str(workdir)
