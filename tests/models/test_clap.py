"""transformers CLAP: our vectors vs `ClapProcessor` + `get_text_features` / `get_audio_features` on the
same weights, for real audio files (espeak-ng speech, a tone, a noise burst) decoded by media/audio.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from omniembed.engine.bootstrap import load_model
from omniembed.media.audio import AudioLimits, decode_audio
from omniembed.models.base import Adapter, AudioClip, Truncation
from omniembed.models.registry import detect_family, resolve
from tests.support.parity import assert_parity, normalized
from tests.support.synthetic_audio import encode_audio, espeak_wav, noise_burst, tone
from tests.support.tiny_clap import build_tiny_clap

RATE = 48_000
TEXTS = ["a dog barking", "speech", "the quick brown fox jumps over the lazy dog near the river bank", "a"]
# (sound, format, source rate): every format, every sound, several source rates.
CASES = [
    ("speech", "wav", 22_050),
    ("tone", "wav", 16_000),
    ("noise", "wav", 44_100),
    ("speech", "flac", 16_000),
    ("tone", "flac", 44_100),
    ("noise", "flac", 8_000),
    ("speech", "mp3", 22_050),
    ("tone", "mp3", 48_000),
    ("noise", "mp3", 16_000),
    ("speech", "vorbis", 44_100),
    ("tone", "opus", 48_000),
    ("noise", "vorbis", 22_050),
]


def sound(kind: str, fmt: str, rate: int) -> AudioClip:
    """The case's file decoded to 48 kHz: what the engine gives the tower and the reference alike."""
    if kind == "speech":
        speech = decode_audio(
            espeak_wav("Hello there, this is a test of audio embeddings."), AudioLimits(), rate
        )
        samples = speech.samples
    else:
        samples = tone(523.25, 1.5, rate) if kind == "tone" else noise_burst(2.0, rate)
    return decode_audio(encode_audio(samples, rate, fmt), AudioLimits(), RATE)


@pytest.fixture(scope="module")
def clips() -> list[AudioClip]:
    return [sound(*case) for case in CASES]


def _loaded(directory: Path) -> tuple[Adapter, object, object]:
    from transformers import ClapModel, ClapProcessor

    adapter = load_model(resolve(str(directory)))
    return adapter, ClapModel.from_pretrained(directory).eval(), ClapProcessor.from_pretrained(directory)


@pytest.fixture(scope="module")
def unfused(tmp_path_factory: pytest.TempPathFactory):
    return _loaded(build_tiny_clap(tmp_path_factory.mktemp("models") / "tiny-clap"))


@pytest.fixture(scope="module")
def fused(tmp_path_factory: pytest.TempPathFactory):
    return _loaded(build_tiny_clap(tmp_path_factory.mktemp("models") / "tiny-clap-fused", fused=True))


def ours_text(adapter: Adapter, texts: list[str]) -> np.ndarray:
    assert adapter.text is not None
    windows = adapter.text.preprocess(texts, Truncation.END)
    return adapter.text.forward(adapter.text.collate([each[0] for each in windows]))


def ours_audio(adapter: Adapter, clips: list[AudioClip]) -> np.ndarray:
    """One batch of every clip's windows; a clip's vector is its windows' mean weighted by seconds."""
    tower = adapter.audio
    assert tower is not None
    windows = [tower.preprocess(clip) for clip in clips]
    rows = tower.forward(tower.collate([window.feature for each in windows for window in each]))
    vectors, start = [], 0
    for each in windows:
        weights = np.array([window.weight for window in each])[:, None]
        vectors.append((rows[start : start + len(each)] * weights).sum(axis=0) / weights.sum())
        start += len(each)
    return normalized(np.stack(vectors))


def reference_text(reference, texts: list[str]) -> np.ndarray:
    _, model, processor = reference
    batch = processor(text=texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        return model.get_text_features(**batch).pooler_output.numpy()


def reference_audio(reference, samples: list[np.ndarray]) -> np.ndarray:
    _, model, processor = reference
    batch = processor(audio=samples, sampling_rate=RATE, return_tensors="pt")
    with torch.no_grad():
        return model.get_audio_features(**batch).pooler_output.numpy()


def test_family_detection_and_spec(unfused, fused, tmp_path):
    adapter, _, _ = unfused
    spec = adapter.spec
    assert spec.family == "clap" and spec.modalities == ("text", "audio")
    assert spec.dimension == 16 and spec.normalize and spec.audio_sample_rate == RATE
    assert spec.max_text_tokens == 512 and spec.score_activation == "softmax"
    assert spec.logit_scale == pytest.approx(math.exp(3.0))  # logit_scale_a, not logit_scale_t (2.5)
    assert adapter.audio is not None and adapter.audio.sample_rate == RATE and adapter.image is None
    assert fused[0].spec.family == "clap"
    assert detect_family(str(build_tiny_clap(tmp_path / "detected"))) == "clap"


def test_text_parity_single_and_batched(unfused):
    adapter = unfused[0]
    expected = reference_text(unfused, TEXTS)
    assert_parity(ours_text(adapter, TEXTS), expected)
    for text, row in zip(TEXTS, expected, strict=True):
        assert_parity(ours_text(adapter, [text]), row[None, :])


def test_audio_parity_single_clips(unfused, clips):
    adapter = unfused[0]
    for case, clip in zip(CASES, clips, strict=True):
        found = assert_parity(ours_audio(adapter, [clip]), reference_audio(unfused, [clip.samples]))
        assert found.min() >= 0.9999, case


def test_audio_parity_batched(unfused, clips):
    assert_parity(ours_audio(unfused[0], clips), reference_audio(unfused, [clip.samples for clip in clips]))


def test_fused_model_parity_alone_and_batched(fused, clips):
    """The fused extractor flags one clip of each batch at random; a clip alone is always flagged, so
    each of ours must equal the reference given that clip alone, whatever it was batched with."""
    chosen = clips[::3]
    expected = np.concatenate([reference_audio(fused, [clip.samples]) for clip in chosen])
    assert_parity(ours_audio(fused[0], chosen), expected)
    assert_parity(ours_audio(fused[0], chosen[:1]), expected[:1])
    assert_parity(ours_text(fused[0], TEXTS), reference_text(fused, TEXTS))


@pytest.mark.parametrize("variant", ["unfused", "fused"])
def test_a_long_clip_is_the_weighted_mean_of_its_windows(variant, request):
    reference = request.getfixturevalue(variant)
    adapter = reference[0]
    assert adapter.audio is not None
    samples = np.concatenate([tone(440, 10.0, RATE), noise_burst(10.0, RATE), tone(880, 5.0, RATE)])
    windows = adapter.audio.preprocess(AudioClip(samples, RATE))
    assert [window.weight for window in windows] == [10.0, 10.0, 5.0]
    ours = ours_audio(adapter, [AudioClip(samples, RATE)])
    assert np.isfinite(ours).all()
    pieces = [samples[: 10 * RATE], samples[10 * RATE : 20 * RATE], samples[20 * RATE :]]
    rows = np.concatenate([reference_audio(reference, [piece]) for piece in pieces])
    expected = normalized((rows * np.array([[10.0], [10.0], [5.0]])).sum(axis=0, keepdims=True))
    assert_parity(ours, expected)
