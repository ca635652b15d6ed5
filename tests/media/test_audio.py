"""Decoding real audio files (encoded in memory with PyAV, and espeak-ng speech) with limits."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from omniembed.errors import (
    InvalidInputError,
    MediaDecodeError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from omniembed.media.audio import AudioLimits, audio_decode_cost, decode_audio, is_audio
from tests.support.media import encode, photo
from tests.support.synthetic_audio import FORMATS, PCM_ENCODERS, encode_audio, espeak_wav, noise_burst, tone
from tests.support.synthetic_video import encode_video

LIMITS = AudioLimits()
LOSSLESS = ("wav", "flac")
RATES = (8_000, 16_000, 22_050, 44_100, 48_000)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def middle_rms(samples: np.ndarray) -> float:
    """RMS away from the edges, where lossy encoders' priming and resampler delays live."""
    quarter = len(samples) // 4
    return float(np.sqrt(np.mean(samples[quarter:-quarter] ** 2)))


@pytest.mark.parametrize("source_rate", RATES)
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("channels", [1, 2])
def test_every_format_rate_and_layout_decodes_to_the_target_rate(fmt, source_rate, channels):
    sound = np.stack([tone(440, 1.0, source_rate)] * channels)
    for target in (16_000, 48_000):
        clip = decode_audio(encode_audio(sound, source_rate, fmt), LIMITS, target)
        assert clip.sample_rate == target and clip.samples.dtype == np.float32
        assert np.abs(clip.samples).max() <= 1.0
        # Lossless files keep their exact length; lossy ones may gain an encoder's priming and last frame's
        # padding (raw AAC: 1024 samples each, at the source rate).
        slack = 0.002 if fmt in LOSSLESS else 0.05 + 2048 / source_rate
        assert clip.seconds == pytest.approx(1.0, abs=slack)
        assert dominant_frequency(clip.samples, target) == pytest.approx(440, abs=3)
        assert middle_rms(clip.samples) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


@pytest.mark.parametrize("encoder", PCM_ENCODERS)
def test_every_pcm_sample_format_decodes_to_the_same_samples(encoder):
    sound = tone(440, 0.5, 16_000)
    clip = decode_audio(encode_audio(sound, 16_000, "wav", encoder=encoder), LIMITS, 16_000)
    quantization = 2 / 255 if encoder == "pcm_u8" else 1e-4
    np.testing.assert_allclose(clip.samples, sound, atol=quantization)


def test_stereo_is_averaged_to_mono():
    left, right = tone(440, 0.5, 16_000, 0.8), tone(1_000, 0.5, 16_000, 0.4)
    clip = decode_audio(
        encode_audio(np.stack([left, right]), 16_000, "wav", encoder="pcm_f32le"), LIMITS, 16_000
    )
    np.testing.assert_allclose(clip.samples, (left + right) / 2, atol=1e-6)
    opposite = decode_audio(encode_audio(np.stack([left, -left]), 16_000, "flac"), LIMITS, 16_000)
    assert np.abs(opposite.samples).max() < 1e-3


def test_two_tones_survive_resampling_in_place():
    low, high = tone(300, 1.0, 44_100), tone(3_000, 1.0, 44_100)
    clip = decode_audio(encode_audio(np.stack([low, high]), 44_100, "flac"), LIMITS, 16_000)
    spectrum = np.abs(np.fft.rfft(clip.samples))
    peaks = sorted(np.argsort(spectrum)[-2:] * 16_000 / len(clip.samples))
    assert peaks == pytest.approx([300, 3_000], abs=2)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus", "m4a"])
def test_a_noise_burst_stays_where_it_was(fmt):
    burst = noise_burst(2.0, 22_050)
    clip = decode_audio(encode_audio(burst, 22_050, fmt), LIMITS, 48_000)
    energy = [float(np.mean(part**2)) for part in np.array_split(clip.samples, 8)]
    assert max(energy[0], energy[-1]) < 1e-3 * max(energy)
    assert np.argmax(energy) in (3, 4)


def test_speech_from_espeak_in_lossless_and_lossy_formats():
    speech = decode_audio(espeak_wav("The quick brown fox jumps over the lazy dog."), LIMITS, 48_000)
    assert 1.5 < speech.seconds < 6 and middle_rms(speech.samples) > 0.01
    as_16k = decode_audio(espeak_wav("The quick brown fox jumps over the lazy dog."), LIMITS, 16_000)
    assert len(as_16k.samples) == pytest.approx(len(speech.samples) / 3, abs=2)
    for fmt in ("flac", "mp3", "vorbis"):
        again = decode_audio(encode_audio(speech.samples, 48_000, fmt), LIMITS, 48_000)
        assert again.seconds == pytest.approx(speech.seconds, abs=0.1), fmt


def test_is_audio_recognizes_the_containers_and_nothing_else():
    for fmt in FORMATS:
        assert is_audio(encode_audio(tone(440, 0.1, 16_000), 16_000, fmt)), fmt
    assert not is_audio(encode(photo(), "PNG")) and not is_audio(b"hello") and not is_audio(b"")


# ----------------------------------------------------------------------------- bad input
def test_empty_bytes_and_a_file_without_samples_are_invalid_input():
    with pytest.raises(InvalidInputError, match="empty") as empty:
        decode_audio(b"", LIMITS, 16_000)
    header = (
        b"RIFF"
        + struct.pack("<I", 36)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16_000, 32_000, 2, 16)
    )
    with pytest.raises(InvalidInputError, match="no samples") as silent:
        decode_audio(header + b"data" + struct.pack("<I", 0), LIMITS, 16_000)
    assert type(empty.value) is InvalidInputError and type(silent.value) is InvalidInputError


@pytest.mark.parametrize("data", [b"hello, this is text", encode(photo(), "PNG"), b"\x00" * 64])
def test_unrecognized_bytes_are_refused_naming_the_accepted_formats(data):
    with pytest.raises(UnsupportedMediaTypeError, match="accepted: WAV, FLAC, MP3, Ogg"):
        decode_audio(data, LIMITS, 16_000)


def test_codecs_and_containers_outside_the_lists_are_refused():
    with pytest.raises(UnsupportedMediaTypeError, match="codec 'pcm_mulaw' is not accepted in WAV"):
        decode_audio(encode_audio(tone(440, 0.2, 8_000), 8_000, "wav", encoder="pcm_mulaw"), LIMITS, 16_000)
    with pytest.raises(UnsupportedMediaTypeError, match="MP3 audio is not accepted"):
        decode_audio(
            encode_audio(tone(440, 0.2, 8_000), 8_000, "mp3"), AudioLimits(containers=("wav",)), 16_000
        )


def test_an_mp4_without_sound_is_refused_clearly():
    with pytest.raises(MediaDecodeError, match=r"MP4 .*video without sound.* has no audio stream"):
        decode_audio(encode_video("mp4", "h264"), LIMITS, 16_000)


@pytest.mark.parametrize("fmt", ["wav", "flac", "vorbis", "m4a", "adts"])
def test_truncated_and_corrupt_files_are_decode_errors(fmt):
    data = encode_audio(np.stack([tone(440, 2.0, 16_000)] * 2), 16_000, fmt)
    rng = np.random.default_rng(0)
    for broken in (data[: len(data) // 2], data[:40], data[:12] + rng.bytes(4000)):
        with pytest.raises(MediaDecodeError):
            decode_audio(broken, LIMITS, 16_000)


def test_non_finite_samples_are_refused():
    sound = tone(440, 0.2, 16_000)
    sound[100] = np.nan
    with pytest.raises(MediaDecodeError, match="not finite"):
        decode_audio(encode_audio(sound, 16_000, "wav", encoder="pcm_f32le"), LIMITS, 16_000)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_duration_and_channel_limits_are_checked_from_the_header(fmt):
    data = encode_audio(np.stack([tone(440, 2.0, 16_000)] * 2), 16_000, fmt)
    with pytest.raises(PayloadTooLargeError, match=r"the limit is 1s"):
        decode_audio(data, AudioLimits(max_duration_s=1.0), 16_000)
    with pytest.raises(PayloadTooLargeError, match="2 channels; the limit is 1"):
        decode_audio(data, AudioLimits(max_channels=1), 16_000)


def test_more_channels_than_the_default_limit():
    data = encode_audio(np.stack([tone(440, 0.1, 16_000)] * 9), 16_000, "wav")
    with pytest.raises(PayloadTooLargeError, match="9 channels; the limit is 8"):
        decode_audio(data, LIMITS, 16_000)


def _flac_with_total_samples(seconds: float, total_samples: int) -> bytes:
    """A real FLAC file whose STREAMINFO states `total_samples` (0: unknown) instead of the truth."""
    data = bytearray(encode_audio(tone(440, seconds, 8_000), 8_000, "flac"))
    fields = int.from_bytes(data[18:26], "big")
    data[18:26] = ((fields & ~((1 << 36) - 1)) | total_samples).to_bytes(8, "big")
    return bytes(data)


def test_a_header_that_understates_the_duration_cannot_bypass_the_limits():
    lying = _flac_with_total_samples(6.0, 8_000)  # says 1 s, holds 6 s
    assert decode_audio(_flac_with_total_samples(1.0, 8_000), LIMITS, 8_000).seconds == pytest.approx(1.0)
    with pytest.raises(MediaDecodeError, match=r"more than the .* its header and size allow"):
        decode_audio(lying, LIMITS, 8_000)
    unknown = _flac_with_total_samples(3.0, 0)  # no duration in the header: counted while decoding
    assert decode_audio(unknown, LIMITS, 8_000).seconds == pytest.approx(3.0, abs=0.01)
    with pytest.raises(PayloadTooLargeError, match="runs past 2s, the duration limit"):
        decode_audio(unknown, AudioLimits(max_duration_s=2.0), 8_000)


def test_an_absurd_sample_rate_is_refused():
    data = bytearray(encode_audio(tone(440, 0.2, 16_000), 16_000, "wav"))
    struct.pack_into("<I", data, 24, 1_000_000_000)
    with pytest.raises(MediaDecodeError, match="sample rate"):
        decode_audio(bytes(data), LIMITS, 16_000)


# ----------------------------------------------------------------------------- decode memory
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_decode_cost_bounds_the_decoded_samples(fmt):
    data = encode_audio(noise_burst(3.0, 22_050), 22_050, fmt)
    clip = decode_audio(data, LIMITS, 48_000)
    cost = audio_decode_cost(data, LIMITS, 48_000)
    assert cost >= clip.samples.nbytes
    if fmt not in ("adts",):  # its duration is only estimated from the bitrate: bounded by the limit
        assert cost < clip.samples.nbytes + 16 * 1024 * 1024
    assert audio_decode_cost(data, AudioLimits(max_duration_s=1.0), 48_000) > 0  # never raises


def test_the_decode_cost_of_unreadable_bytes_is_small():
    for data in (b"", b"not audio", b"RIFF\x00\x00\x00\x00WAVE"):
        assert 0 < audio_decode_cost(data, LIMITS, 48_000) < 16 * 1024 * 1024
