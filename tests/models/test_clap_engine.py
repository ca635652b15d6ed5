"""CLAP through the engine: audio bytes in any format → the reference's vector; an item of speech and
its caption is the mean of the two; zero-shot audio classification with CLAP's own prompt."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.items import AudioInput, InterleavedInput, TextInput
from omniembed.engine.scoring import AUDIO_TEMPLATES, Scoring
from omniembed.media.audio import AudioLimits, decode_audio
from omniembed.media.payload import MediaReference
from omniembed.models.base import AudioClip
from omniembed.models.registry import resolve
from tests.support.parity import assert_parity, normalized
from tests.support.synthetic_audio import encode_audio, noise_burst, tone
from tests.support.tiny_clap import build_tiny_clap

RATE = 48_000


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_clap(tmp_path_factory.mktemp("clap") / "model")


@pytest.fixture(scope="module")
def reference(model_dir):
    from transformers import ClapModel, ClapProcessor

    return ClapModel.from_pretrained(model_dir).eval(), ClapProcessor.from_pretrained(model_dir)


@pytest.fixture
async def engine(model_dir):
    built = Engine()
    await built.add(load_model(resolve(f"clap={model_dir}")))
    yield built
    await built.close()


def reference_audio(reference, samples):
    model, processor = reference
    batch = processor(audio=samples, sampling_rate=RATE, return_tensors="pt")
    with torch.no_grad():
        return model.get_audio_features(**batch).pooler_output.numpy()


def reference_text(reference, texts):
    model, processor = reference
    batch = processor(text=texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        return model.get_text_features(**batch).pooler_output.numpy()


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus", "m4a"])
async def test_audio_bytes_match_the_reference(engine, reference, fmt):
    data = encode_audio(tone(440.0, 2.0, 22_050)[None, :], 22_050, fmt)
    result = await engine.embed("clap", [AudioInput(reference=MediaReference(data=data))])
    samples = decode_audio(data, AudioLimits(), RATE).samples
    assert_parity(result.embeddings, reference_audio(reference, [samples]))
    assert result.audio_seconds == pytest.approx(2.0, abs=0.1)


async def test_python_api_samples_are_resampled(engine, reference):
    clip = AudioClip(noise_burst(1.5, 16_000), 16_000)
    result = await engine.embed("clap", [AudioInput(clip=clip)])
    data = encode_audio(clip.samples[None, :], 16_000, "wav")
    samples = decode_audio(data, AudioLimits(), RATE).samples
    assert_parity(result.embeddings, reference_audio(reference, [samples]), minimum=0.999)


async def test_interleaved_audio_and_caption_is_their_mean(engine, reference):
    data = encode_audio(tone(880.0, 1.0, RATE)[None, :], RATE, "wav")
    item = InterleavedInput((AudioInput(reference=MediaReference(data=data)), TextInput("a high beep")))
    result = await engine.embed("clap", [item])
    audio = normalized(reference_audio(reference, [decode_audio(data, AudioLimits(), RATE).samples]))[0]
    text = normalized(reference_text(reference, ["a high beep"]))[0]
    assert_parity(result.embeddings, normalized(audio + text)[None, :])


async def test_zero_shot_audio_classification_uses_the_sound_prompt(engine, reference):
    data = encode_audio(tone(440.0, 1.0, RATE)[None, :], RATE, "wav")
    labels = ["dog barking", "a sine tone", "rain"]
    result = await Scoring(engine).classify("clap", [AudioInput(reference=MediaReference(data=data))], labels)
    prompts = [AUDIO_TEMPLATES[0].replace("{}", label) for label in labels]
    audio = normalized(reference_audio(reference, [decode_audio(data, AudioLimits(), RATE).samples]))
    expected = audio @ normalized(reference_text(reference, prompts)).T
    np.testing.assert_allclose(result.similarities, expected, atol=1e-4)
    assert result.calibrated
