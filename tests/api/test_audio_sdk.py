"""The official `openai` client against a real `omniembed serve` process with a tiny CLAP: an
`input_audio` content part, and vLLM's `messages` body through `extra_body`."""

from __future__ import annotations

import base64

import numpy as np
import openai
import pytest

from tests.support.server import running_server
from tests.support.synthetic_audio import espeak_wav
from tests.support.tiny_clap import build_tiny_clap


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = build_tiny_clap(tmp_path_factory.mktemp("models") / "tiny-clap")
    with running_server(["--model", f"tiny-clap={model}"]) as running:
        yield running


@pytest.fixture(scope="module")
def oai(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-needed", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def speech() -> str:
    return base64.b64encode(espeak_wav("hello from the audio test")).decode()


def test_input_audio_part_and_audio_route_agree(oai, speech):
    part = {"type": "input_audio", "input_audio": {"data": speech, "format": "wav"}}
    response = oai.embeddings.create(model="tiny-clap", input=[part, "a man speaking"])
    assert len(response.data) == 2 and response.model == "tiny-clap"
    direct = oai.post(
        "/embeddings/audio", cast_to=object, body={"model": "tiny-clap", "input": speech, "format": "wav"}
    )
    np.testing.assert_allclose(response.data[0].embedding, direct["data"][0]["embedding"], atol=1e-5)


def test_messages_body_through_extra_body(oai, speech):
    messages = [
        {"role": "system", "content": "Represent this recording."},
        {
            "role": "user",
            "content": [{"type": "input_audio", "input_audio": {"data": speech, "format": "wav"}}],
        },
    ]
    response = oai.embeddings.create(
        model="tiny-clap", input=openai.NOT_GIVEN, extra_body={"messages": messages}, encoding_format="float"
    )
    assert len(response.data) == 1 and len(response.data[0].embedding) == 16
    assert np.linalg.norm(response.data[0].embedding) == pytest.approx(1.0, abs=1e-4)


def test_sdk_raises_bad_request_for_bad_bodies(oai, speech):
    with pytest.raises(openai.BadRequestError) as raised:
        oai.embeddings.create(
            model="tiny-clap", input="x", extra_body={"messages": [{"role": "user", "content": "y"}]}
        )
    assert "'input' or 'messages'" in str(raised.value)
    with pytest.raises(openai.BadRequestError):
        oai.embeddings.create(
            model="tiny-clap",
            input=openai.NOT_GIVEN,
            extra_body={"messages": [{"role": "robot", "content": "y"}]},
        )
    with pytest.raises(openai.BadRequestError):
        oai.embeddings.create(
            model="tiny-clap",
            input=[{"type": "input_audio", "input_audio": {"data": speech[:40], "format": "wav"}}],
        )
