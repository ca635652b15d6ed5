"""Real audio files encoded in memory with PyAV's encoders, and speech from espeak-ng."""

from __future__ import annotations

import io
import shutil
import subprocess

import av
import numpy as np
import pytest

# name → (muxer, encoder, its options); Opus encodes at 48 kHz only (the file is resampled to it).
FORMATS: dict[str, tuple[str, str, dict[str, str]]] = {
    "wav": ("wav", "pcm_s16le", {}),
    "flac": ("flac", "flac", {}),
    "mp3": ("mp3", "libmp3lame", {}),
    "vorbis": ("ogg", "vorbis", {"strict": "experimental"}),
    "opus": ("ogg", "libopus", {}),
    "m4a": ("ipod", "aac", {}),
    "adts": ("adts", "aac", {}),
}
PCM_ENCODERS = ("pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le")


def tone(frequency: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    times = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * times)).astype(np.float32)


def noise_burst(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """White noise under a rise-and-fall envelope, silence on both sides."""
    count = round(seconds * rate)
    envelope = np.zeros(count, dtype=np.float32)
    middle = slice(count // 4, 3 * count // 4)
    envelope[middle] = np.hanning(middle.stop - middle.start)
    noise = np.random.default_rng(seed).uniform(-0.6, 0.6, count).astype(np.float32)
    return noise * envelope


def _as_format(planar: np.ndarray, sample_format: str, is_planar: bool) -> np.ndarray:
    data = planar if is_planar else planar.T.reshape(1, -1)
    scaled: dict[str, tuple[float, float, type[np.generic]]] = {
        "u8": (127.0, 128.0, np.uint8),
        "s16": (32767.0, 0.0, np.int16),
        "s32": (2147483647.0, 0.0, np.int32),
        "dbl": (1.0, 0.0, np.float64),
        "flt": (1.0, 0.0, np.float32),
    }
    scale, offset, dtype = scaled[sample_format.removesuffix("p")]
    return np.ascontiguousarray(np.round(data * scale + offset) if scale > 1 else data).astype(dtype)


def encode_audio(channels: np.ndarray, rate: int, fmt: str = "wav", *, encoder: str | None = None) -> bytes:
    """`channels` ([channels, samples] or mono [samples], floats in [-1, 1]) as a file in `fmt`."""
    planar = np.atleast_2d(np.asarray(channels, dtype=np.float64))
    muxer, default_encoder, options = FORMATS[fmt]
    if (encoder or default_encoder) == "vorbis" and len(planar) == 1:
        planar = np.concatenate([planar, planar])  # FFmpeg's own Vorbis encoder writes stereo only
    layout = {1: "mono", 2: "stereo"}.get(len(planar), f"{len(planar)} channels")
    if (encoder or default_encoder) == "libopus":
        planar = _resample(planar, rate, 48_000)
        rate = 48_000
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=muxer) as output:
        stream = output.add_stream(encoder or default_encoder, rate=rate, layout=layout, options=options)
        context = stream.codec_context
        step = context.frame_size or 1024
        for start in range(0, planar.shape[1], step):
            chunk = _as_format(planar[:, start : start + step], context.format.name, context.format.is_planar)
            frame = av.AudioFrame.from_ndarray(chunk, format=context.format.name, layout=layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()


def _resample(planar: np.ndarray, rate: int, target: int) -> np.ndarray:
    times = np.arange(round(planar.shape[1] * target / rate)) / target
    return np.stack([np.interp(times, np.arange(planar.shape[1]) / rate, row) for row in planar])


def espeak_wav(text: str) -> bytes:
    """Speech synthesized by espeak-ng (22.05 kHz mono WAV), skipped where it is not installed."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/test.sh installs it)")
    return subprocess.run(
        ["espeak-ng", "--stdout", "-s", "190", text], capture_output=True, check=True
    ).stdout
