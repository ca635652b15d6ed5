"""A MobileCLIP model built in a local directory, served by a real `omniembed serve` process with the
default runtime choice, answers the official `openai` client with open_clip's own vectors."""

from __future__ import annotations

import io

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from tests.support.media import data_uri, encode, photo
from tests.support.parity import assert_parity
from tests.support.server import running_server
from tests.support.tiny_open_clip import build_tiny_open_clip, open_clip_reference

TEXTS = ["a photo of a cat", "a cup of coffee"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    # The real FastViT MCi0 image tower (random weights): the server process knows only timm's names.
    directory = tmp_path_factory.mktemp("mobileclip") / "MobileCLIP2-S0"
    return build_tiny_open_clip(directory, "MobileCLIP2-S0", real_image_tower=True)


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("mobileclip-cache")
    arguments = ["--model", f"mobileclip={model_dir}", "--models-dir", str(cache)]
    # The suite pins torch (tests/conftest.py); this server makes the README's default choice.
    with running_server(arguments, env={"OMNIEMBED_RUNTIME": "auto"}) as running:
        yield running


def test_serves_open_clips_vectors(server, model_dir):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)
    png = encode(photo("chelsea"), "PNG")
    reference = open_clip_reference(model_dir, TEXTS, [Image.open(io.BytesIO(png))])
    text = client.embeddings.create(model="mobileclip", input=TEXTS, encoding_format="float")
    image = client.embeddings.create(
        model="mobileclip",
        input=[{"type": "image_url", "image_url": {"url": data_uri(png, "image/png")}}],  # type: ignore[list-item]
        encoding_format="float",
    )
    assert_parity(np.array([row.embedding for row in text.data]), reference["text"])
    assert_parity(np.array([image.data[0].embedding]), reference["image"])
    card = httpx.get(f"{server.url}/v1/models/mobileclip", timeout=10).json()
    assert card["capabilities"]["family"] == "open_clip"
    assert card["capabilities"]["runtime"] == "openvino"  # `auto` on a CPU with OpenVINO installed
