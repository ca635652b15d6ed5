"""Audio end to end on a tiny random CLAP, in-process: every request shape that carries a sound
(OpenAI parts, vLLM's `messages`, multipart uploads, `/v1/embeddings/audio`, Cohere `inputs`,
Infinity's `modality: audio`) gives the engine's own vector; text ↔ audio scoring and zero-shot
classification; bad audio is a 4xx in each route's dialect."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import engine_from_settings, load_models
from omniembed.engine.engine import Engine
from omniembed.engine.items import AudioInput, TextInput
from omniembed.media.payload import MediaReference
from omniembed.settings import Settings
from tests.support.synthetic_audio import encode_audio, espeak_wav, noise_burst, tone
from tests.support.tiny_clap import build_tiny_clap

MIME = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
}


@pytest.fixture(scope="module")
def clap_dir(tmp_path_factory):
    return build_tiny_clap(tmp_path_factory.mktemp("models") / "tiny-clap")


@pytest.fixture(scope="module")
async def clap_engine(clap_dir, minilm_dir):
    settings = Settings(models=[f"tiny-clap={clap_dir}", f"minilm={minilm_dir}"], batch_wait_ms=5.0)
    built = engine_from_settings(settings)
    await load_models(built, settings)
    yield built
    await built.close()


@pytest.fixture(scope="module")
async def audio_client(clap_engine):
    app = create_app(Settings(models=["unused"]), engine=clap_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as http:
        yield http


@pytest.fixture(scope="module")
def sounds() -> dict[str, bytes]:
    """Speech from espeak-ng, and a tone and a noise burst in the other formats and rates."""
    return {
        "wav": espeak_wav("the quick brown fox"),
        "flac": encode_audio(tone(440, 1.5, 44_100), 44_100, "flac"),
        "mp3": encode_audio(noise_burst(1.0, 22_050), 22_050, "mp3"),
        "opus": encode_audio(tone(660, 1.0, 16_000), 16_000, "opus"),
        "m4a": encode_audio(tone(220, 1.0, 48_000), 48_000, "m4a"),
    }


async def engine_vector(engine: Engine, data: bytes) -> np.ndarray:
    result = await engine.embed("tiny-clap", [AudioInput(reference=MediaReference(data=data))])
    return result.embeddings[0]


def vectors(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["embeddings"]["float"] if "embeddings" in body else [row["embedding"] for row in body["data"]]
    return np.asarray(rows, dtype=np.float32)


def shapes(data: bytes, fmt: str) -> list[tuple[str, dict]]:
    b64 = base64.b64encode(data).decode()
    uri = f"data:{MIME[fmt]};base64,{b64}"
    input_audio = {
        "type": "input_audio",
        "input_audio": {"data": b64, "format": "ogg" if fmt == "opus" else fmt},
    }
    return [
        ("/v1/embeddings", {"input": [input_audio]}),
        ("/v1/embeddings", {"input": [{"type": "audio_url", "audio_url": {"url": uri}}]}),
        ("/v1/embeddings", {"input": [{"type": "audio_url", "audio_url": uri}]}),
        ("/v1/embeddings", {"input": [uri], "modality": "audio"}),
        ("/embeddings", {"input": [uri], "modality": "audio"}),
        ("/embeddings_audio", {"input": [uri]}),
        ("/v1/embeddings/audio", {"input": b64}),
        ("/v1/embeddings/audio", {"input": [uri]}),
        ("/v2/embed", {"inputs": [{"content": [{"type": "audio_url", "audio_url": {"url": uri}}]}]}),
    ]


@pytest.mark.parametrize("fmt", list(MIME))
async def test_every_json_shape_gives_the_engines_vector(audio_client, clap_engine, sounds, fmt):
    expected = await engine_vector(clap_engine, sounds[fmt])
    for path, body in shapes(sounds[fmt], fmt):
        extra = {"input_type": "search_document"} if path == "/v2/embed" else {}
        got = vectors(await audio_client.post(path, json={"model": "tiny-clap", **body, **extra}))
        assert got.shape == (1, expected.shape[0]), path
        np.testing.assert_allclose(got[0], expected, atol=1e-5, err_msg=f"{path} {body}"[:200])


async def test_multipart_uploads(audio_client, clap_engine, sounds):
    expected = np.stack([await engine_vector(clap_engine, sounds[name]) for name in ("wav", "flac")])
    files = [("file", ("speech.wav", sounds["wav"], "audio/wav")), ("file", ("tone.flac", sounds["flac"]))]
    response = await audio_client.post("/v1/embeddings/audio", data={"model": "tiny-clap"}, files=files)
    np.testing.assert_allclose(vectors(response), expected, atol=1e-5)
    assert response.json()["usage"]["audio_seconds"] > 2
    # On /v1/embeddings an unlabelled sound is read off its bytes, next to a text.
    files = [("file", ("blob", sounds["flac"], "application/octet-stream")), ("text", (None, b"a tone"))]
    got = vectors(await audio_client.post("/v1/embeddings", data={"model": "tiny-clap"}, files=files))
    np.testing.assert_allclose(got[0], expected[1], atol=1e-5)


async def test_messages_with_audio_are_one_vector(audio_client, clap_engine, sounds):
    b64 = base64.b64encode(sounds["wav"]).decode()
    messages = [
        {"role": "system", "content": "a recording"},
        {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": b64, "format": "wav"}}]},
    ]
    got = vectors(
        await audio_client.post("/v1/embeddings", json={"model": "tiny-clap", "messages": messages})
    )
    assert got.shape[0] == 1
    parts = await clap_engine.embed(
        "tiny-clap", [TextInput("a recording"), AudioInput(reference=MediaReference(data=sounds["wav"]))]
    )
    mean = parts.embeddings.mean(axis=0)  # a two-tower model: the normalized mean of the parts
    np.testing.assert_allclose(got[0], mean / np.linalg.norm(mean), atol=1e-5)


async def test_score_and_classify_text_against_audio(audio_client, clap_engine, sounds):
    uri = f"data:audio/wav;base64,{base64.b64encode(sounds['wav']).decode()}"
    part = {"type": "audio_url", "audio_url": uri}
    body = {"model": "tiny-clap", "queries": ["a man speaking", "a dog barking"], "documents": [part]}
    response = await audio_client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    text = (await clap_engine.embed("tiny-clap", [TextInput("a man speaking")])).embeddings[0]
    audio = await engine_vector(clap_engine, sounds["wav"])
    assert response.json()["scores"][0][0] == pytest.approx(float(text @ audio), abs=1e-5)
    body = {"model": "tiny-clap", "inputs": [part], "labels": ["speech", "dog", "music"]}
    response = await audio_client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.text
    assert {entry["label"] for entry in response.json()["data"][0]["labels"]} == {"speech", "dog", "music"}


def bad_audio(sounds: dict[str, bytes]) -> dict[str, bytes]:
    eight_channels = encode_audio(np.stack([tone(440, 0.2, 8000)] * 9), 8000, "wav")
    return {
        "truncated": sounds["wav"][:60],
        "garbage": b"this is not a sound at all" * 10,
        "png": base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
        ),
        "zero-length": encode_audio(np.zeros((1, 0)), 16_000, "wav"),
        "nine-channels": eight_channels,
    }


@pytest.mark.parametrize("case", ["truncated", "garbage", "png", "zero-length", "nine-channels"])
async def test_bad_audio_is_a_4xx_in_each_dialect(audio_client, sounds, case):
    b64 = base64.b64encode(bad_audio(sounds)[case]).decode()
    part = {"type": "input_audio", "input_audio": {"data": b64}}
    openai_shaped = [
        ("/v1/embeddings", {"input": [part]}),
        ("/v1/embeddings", {"messages": [{"role": "user", "content": [part]}]}),
        ("/v1/embeddings/audio", {"input": b64}),
        ("/embeddings", {"input": [b64], "modality": "audio"}),
        ("/v1/classify", {"inputs": [part], "labels": ["a", "b"]}),
    ]
    for path, body in openai_shaped:
        response = await audio_client.post(path, json={"model": "tiny-clap", **body})
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.json()["error"]["message"], path
    cohere = {"model": "tiny-clap", "input_type": "search_document", "inputs": [{"content": [part]}]}
    response = await audio_client.post("/v2/embed", json=cohere)
    assert 400 <= response.status_code < 500 and response.json()["message"], response.text
    assert (await audio_client.get("/health")).status_code == 200


async def test_an_empty_input_audio_is_a_400(audio_client):
    body = {"model": "tiny-clap", "input": [{"type": "input_audio", "input_audio": {"data": ""}}]}
    response = await audio_client.post("/v1/embeddings", json=body)
    assert response.status_code == 400 and "empty" in response.json()["error"]["message"]


async def test_text_models_refuse_audio_with_a_clear_400(audio_client, sounds):
    uri = f"data:audio/wav;base64,{base64.b64encode(sounds['wav']).decode()}"
    response = await audio_client.post(
        "/embeddings", json={"model": "minilm", "input": [uri], "modality": "audio"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "has no audio" in error["message"] and error["param"] == "modality"
    response = await audio_client.post("/v1/embeddings/audio", json={"model": "minilm", "input": uri})
    assert response.status_code == 400 and "has no audio" in response.json()["error"]["message"]


async def test_infinity_lists_audio_capability(audio_client):
    models = (await audio_client.get("/models")).json()["data"]
    clap = next(model for model in models if model["id"] == "tiny-clap")
    assert clap["capabilities"] == ["embed", "audio_embed"]
