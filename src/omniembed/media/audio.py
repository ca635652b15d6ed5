"""Decoding untrusted audio bytes into a mono float32 clip with PyAV, from memory only.

As with video, the container is identified from its magic bytes and opened with that demuxer named
explicitly (never probed), nested protocol access is switched off, and each container accepts only
its own codecs, so no exotic decoder ever sees the bytes. Duration and channels are checked against
the limits from the header first, then again while decoding, since a header can lie.

Every decode has a bound on the seconds it may produce, known before decoding (`audio_decode_cost`
reserves memory for it) and enforced during it: the exact duration a WAV, FLAC, Ogg or MP4 header
declares (plus a little slack for encoder padding), what an MP3 of that size can hold at the lowest
MP3 bitrate, or else the duration limit. Audio that decodes past its bound is refused, so the
reservation is a true upper bound whatever the header says.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from omniembed.errors import (
    InvalidInputError,
    MediaDecodeError,
    OmniEmbedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from omniembed.models.base import AudioClip

_DEMUXER_OPTIONS = {
    "protocol_whitelist": "none",  # a container may not open other files or URLs
    "enable_drefs": "0",
    "use_absolute_path": "0",
}
_PCM = ("pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le")
# ISO-BMFF brands of still-image formats (HEIF/AVIF), which share MP4's "ftyp" box.
_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
# The lowest MP3 bitrate (MPEG-2.5 Layer III, 8 kbit/s) is 1000 bytes a second; half that, for tags.
_MP3_MIN_BYTES_PER_SECOND = 500
_WAV_SIZE_PLACEHOLDERS = 0x7FFFF000  # data sizes from here up mean "unknown" (see _wav_declared_seconds)
_DECODER_OVERHEAD_BYTES = 8 * 1024 * 1024  # the demuxer's and decoder's own buffers and frames


@dataclass(frozen=True)
class Container:
    demuxer: str  # the FFmpeg demuxer opened for it
    label: str  # as named in error messages
    decoders: tuple[str, ...]  # FFmpeg decoder names accepted in it
    exact_duration: bool  # the header states the duration (not an estimate from the bitrate)


_CONTAINERS = (
    Container("wav", "WAV", _PCM, exact_duration=True),
    Container("flac", "FLAC", ("flac",), exact_duration=True),
    Container("mp3", "MP3", ("mp3float", "mp3"), exact_duration=False),
    Container("ogg", "Ogg (Vorbis, Opus)", ("vorbis", "libvorbis", "opus", "libopus", "flac"), True),
    Container("mp4", "M4A/MP4 (AAC)", ("aac", "alac", "mp3float", "mp3"), exact_duration=True),
    Container("aac", "AAC (ADTS)", ("aac",), exact_duration=False),
)


@dataclass(frozen=True)
class AudioLimits:
    max_duration_s: float = 600.0
    max_channels: int = 8
    # Beyond any real recording; refuses headers whose rate would make the limits meaningless.
    max_source_rate: int = 384_000
    containers: tuple[str, ...] = ("wav", "flac", "mp3", "ogg", "mp4", "aac")


def _demuxer_for(data: bytes) -> str | None:
    head = data[:12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS:
        return "mp4"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xE6 == 0xE2:  # frame sync, Layer III
            return "mp3"
        if head[1] & 0xF6 == 0xF0:  # ADTS sync, layer 0
            return "aac"
    return None


def is_audio(data: bytes) -> bool:
    """Whether the bytes start like an audio container we decode (an MP4 may also be a video)."""
    return _demuxer_for(data) is not None


def _container(data: bytes, limits: AudioLimits) -> Container:
    demuxer = _demuxer_for(data)
    for container in _CONTAINERS:
        if container.demuxer == demuxer:
            if demuxer not in limits.containers:
                raise UnsupportedMediaTypeError(f"{container.label} audio is not accepted.")
            return container
    accepted = ", ".join(each.label for each in _CONTAINERS if each.demuxer in limits.containers)
    raise UnsupportedMediaTypeError(f"The audio format is not recognized; accepted: {accepted}.")


def audio_decode_cost(data: bytes, limits: AudioLimits, sample_rate: int) -> int:
    """Bytes `decode_audio` may hold at its peak for these bytes: its output buffer at the bound it
    enforces, plus the decoder's own. Unreadable bytes cost little: their decode fails at once."""
    overhead = _DECODER_OVERHEAD_BYTES + len(data)
    try:
        container = _container(data, limits)
        seconds = _with_source(
            data, container, lambda source, stream: _bound(data, container, limits, source, stream)
        )
    except OmniEmbedError:
        return overhead
    return 4 * _capacity(seconds, sample_rate) + overhead


def decode_audio(data: bytes, limits: AudioLimits, sample_rate: int) -> AudioClip:
    """Mono float32 samples in [-1, 1] at `sample_rate`, channels averaged."""
    if not data:
        raise InvalidInputError("The audio is empty (0 bytes).")
    container = _container(data, limits)

    def decode(source: Any, stream: Any) -> tuple[np.ndarray, float, float]:
        bound = _bound(data, container, limits, source, stream)
        samples, seconds = _decode(source, stream, limits, sample_rate, bound)
        return samples, seconds, _declared_seconds(source, stream)

    samples, seconds, declared = _with_source(data, container, decode)
    if samples.size == 0:
        raise InvalidInputError("The audio has no samples.")
    if container.demuxer == "wav":
        declared = max(declared, _wav_declared_seconds(data))
    if container.exact_duration and declared - seconds > max(0.2, 0.05 * declared):
        raise MediaDecodeError(
            f"The audio stops at {seconds:.2f}s but declares {declared:.2f}s; it is truncated or corrupt."
        )
    return AudioClip(samples=samples, sample_rate=sample_rate)


def _with_source(data: bytes, container: Container, work: Any) -> Any:
    """`work(source, stream)` on the opened container's checked audio stream, FFmpeg's errors made ours."""
    import av

    try:
        with av.open(
            io.BytesIO(data), mode="r", format=container.demuxer, options=_DEMUXER_OPTIONS
        ) as source:
            if not source.streams.audio:
                kind = "video without sound" if source.streams.video else "file"
                raise MediaDecodeError(f"The {container.label} {kind} has no audio stream.")
            return work(source, source.streams.audio[0])
    except OmniEmbedError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError, MemoryError) as error:
        raise MediaDecodeError(f"The audio could not be decoded ({container.label}): {error}") from error


def _wav_declared_seconds(data: bytes) -> float:
    """The duration a WAV's own `data` chunk states: FFmpeg clips it to the bytes present, which would
    hide a truncated file. 0 when unstated or unreadable: streaming writers (espeak-ng, FFmpeg to a
    pipe) leave 0 or a placeholder near 2 or 4 GiB there, since they cannot seek back to fill it in."""
    byte_rate, position = 0, 12
    while position + 8 <= len(data):
        chunk, size = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        if chunk == b"fmt " and size >= 16:
            byte_rate = int.from_bytes(data[position + 16 : position + 20], "little")
        if chunk == b"data":
            return size / byte_rate if byte_rate and 0 < size < _WAV_SIZE_PLACEHOLDERS else 0.0
        position += 8 + size + (size & 1)
    return 0.0


def _check_stream(stream: Any, container: Container, limits: AudioLimits) -> None:
    context = stream.codec_context
    if context.codec.name not in container.decoders:
        raise UnsupportedMediaTypeError(
            f"The audio codec '{context.codec.name}' is not accepted in {container.label}."
        )
    _check_shape(context.layout.nb_channels, context.sample_rate, limits)


def _check_shape(channels: int, rate: int, limits: AudioLimits) -> None:
    if channels > limits.max_channels:
        raise PayloadTooLargeError(f"The audio has {channels} channels; the limit is {limits.max_channels}.")
    if rate <= 0:
        raise MediaDecodeError("The audio declares no sample rate; it is truncated or corrupt.")
    if rate > limits.max_source_rate:
        raise MediaDecodeError(
            f"The audio's sample rate ({rate} Hz) is above the limit of {limits.max_source_rate} Hz."
        )


def _declared_seconds(source: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if source.duration is not None:
        return float(source.duration) / 1_000_000
    return 0.0


def _bound(data: bytes, container: Container, limits: AudioLimits, source: Any, stream: Any) -> float:
    """The seconds this decode may produce (see the module's docstring); refuses a declared excess."""
    _check_stream(stream, container, limits)
    declared = _declared_seconds(source, stream)
    if declared > limits.max_duration_s:
        raise PayloadTooLargeError(
            f"The audio lasts {declared:.1f}s; the limit is {limits.max_duration_s:g}s."
        )
    if container.exact_duration and declared > 0:
        return min(limits.max_duration_s, declared * 1.01 + 1.0)
    if container.demuxer == "mp3":
        return min(limits.max_duration_s, len(data) / _MP3_MIN_BYTES_PER_SECOND)
    return limits.max_duration_s


def _capacity(seconds: float, sample_rate: int) -> int:
    """Output samples for `seconds`, with room for the resampler's filter delay."""
    return math.ceil(seconds * sample_rate) + sample_rate // 10 + 64


def _decode(
    source: Any, stream: Any, limits: AudioLimits, sample_rate: int, bound: float
) -> tuple[np.ndarray, float]:
    """Decoded, averaged to mono and resampled into one buffer sized for `bound`, allocated up front
    but touched only as far as the audio goes, so a short clip occupies only its own length."""
    import av

    buffer = np.empty(_capacity(bound, sample_rate), dtype=np.float32)
    filled = 0
    seconds = 0.0
    resampler: Any = None
    setup: tuple[str, str, int] | None = None

    def take(frames: list[Any]) -> None:
        nonlocal filled
        for frame in frames:
            mono = frame.to_ndarray().mean(axis=0, dtype=np.float32)
            if filled + len(mono) > len(buffer):
                raise _too_long(limits, bound)
            buffer[filled : filled + len(mono)] = mono
            filled += len(mono)

    for frame in source.decode(stream):
        _check_shape(frame.layout.nb_channels, frame.sample_rate, limits)
        seconds += frame.samples / frame.sample_rate
        if seconds > bound:
            raise _too_long(limits, bound)
        # Chained Ogg streams and some MP3s change rate or layout midway; a resampler takes one setup.
        if (frame.format.name, frame.layout.name, frame.sample_rate) != setup:
            if resampler is not None:
                take(resampler.resample(None))
            setup = (frame.format.name, frame.layout.name, frame.sample_rate)
            resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=sample_rate)
        take(resampler.resample(frame))
    if resampler is not None:
        take(resampler.resample(None))
    samples = buffer[:filled]
    if not np.isfinite(samples).all():
        raise MediaDecodeError("The audio contains samples that are not finite numbers (NaN or infinity).")
    np.clip(samples, -1.0, 1.0, out=samples)
    return samples, seconds


def _too_long(limits: AudioLimits, bound: float) -> OmniEmbedError:
    if bound >= limits.max_duration_s:
        return PayloadTooLargeError(f"The audio runs past {limits.max_duration_s:g}s, the duration limit.")
    return MediaDecodeError(
        f"The audio decodes to more than the {bound:.1f}s its header and size allow; it is corrupt."
    )
