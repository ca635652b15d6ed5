"""Decoding untrusted video bytes into sampled RGB frames with PyAV, from memory only.

The container is identified from its magic bytes and opened with that demuxer named explicitly
(never probed), nested protocol access is switched off, and the codec, resolution, duration and
frame count are checked against limits before and during decoding. Client-chosen frame counts and
rates are clamped, not trusted.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from omniembed.errors import (
    InvalidInputError,
    MediaDecodeError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

logger = logging.getLogger(__name__)

# Bounds of a request's sampling options (check_sampling: a 400 above them). Frames are clamped further
# to the limits below (at most `max_frames`); these refuse values that cannot be meant: a rate above
# common frame rates, a frame count no limit comes near, NaN, infinities, zero and negatives.
MAX_FPS = 60.0
MAX_NUM_FRAMES = 10_000

# Magic → the FFmpeg demuxer opened for it. Anything else is refused before FFmpeg sees it.
_CONTAINERS: tuple[tuple[bytes, int, str, str], ...] = (
    (b"ftyp", 4, "mp4", "MP4/MOV"),
    (b"\x1a\x45\xdf\xa3", 0, "matroska", "Matroska/WebM"),
    (b"RIFF", 0, "avi", "AVI"),
)
_DEMUXER_OPTIONS = {
    "protocol_whitelist": "none",  # a container may not open other files or URLs
    "enable_drefs": "0",
    "use_absolute_path": "0",
}


@dataclass(frozen=True)
class VideoLimits:
    max_duration_s: float = 600.0
    max_frames: int = 64
    max_pixels: int = 3840 * 2160
    default_frames: int = 8
    containers: tuple[str, ...] = ("mp4", "matroska", "avi")
    codecs: tuple[str, ...] = ("h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mjpeg")


@dataclass(frozen=True)
class DecodedVideo:
    frames: list[Any]  # PIL images, or what `transform` made of each
    timestamps: list[float]
    duration_s: float


# ISO-BMFF brands of still-image formats (HEIF/AVIF), which share MP4's "ftyp" box.
_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


def _matches(data: bytes, magic: bytes, offset: int, demuxer: str) -> bool:
    if data[offset : offset + len(magic)] != magic:
        return False
    if demuxer == "avi":
        return data[8:12] == b"AVI "
    if demuxer == "mp4":
        return data[8:12] not in _IMAGE_BRANDS
    return True


def _demuxer(data: bytes, limits: VideoLimits) -> str:
    for magic, offset, demuxer, label in _CONTAINERS:
        if _matches(data, magic, offset, demuxer):
            if demuxer not in limits.containers:
                raise UnsupportedMediaTypeError(f"{label} videos are not accepted.")
            return demuxer
    accepted = ", ".join(label for _, _, demuxer, label in _CONTAINERS if demuxer in limits.containers)
    raise UnsupportedMediaTypeError(f"The video container is not recognized; accepted: {accepted}.")


def is_video(data: bytes) -> bool:
    """Whether the bytes start like a container we decode (MP4/MOV, Matroska/WebM, AVI)."""
    return any(_matches(data, magic, offset, demuxer) for magic, offset, demuxer, _ in _CONTAINERS)


def check_sampling(num_frames: int | None, fps: float | None) -> None:
    """Refuse sampling options that are not finite or out of range (400, whichever route sent them)."""
    if num_frames is not None and not (isinstance(num_frames, int) and 1 <= num_frames <= MAX_NUM_FRAMES):
        raise InvalidInputError(
            f"num_frames must be a whole number from 1 to {MAX_NUM_FRAMES}.", param="num_frames"
        )
    if fps is not None and not (isinstance(fps, int | float) and math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise InvalidInputError(f"fps must be a number above 0 and at most {MAX_FPS:g}.", param="fps")


def sample_times(duration: float, count: int | None, fps: float | None, limits: VideoLimits) -> list[float]:
    """Target timestamps: `count` uniform mid-segment samples, or one every 1/fps seconds; both clamped
    to `max_frames` (picked uniformly over the whole video, never cut off at the end)."""
    cap = limits.max_frames
    if fps is not None:
        if not (math.isfinite(fps) and fps > 0):  # 1/fps would divide by zero or overflow
            raise InvalidInputError("fps must be a finite number above 0.", param="fps")
        step = 1.0 / min(fps, MAX_FPS)
        total = max(1, int(duration / step))
        picks = range(total) if total <= cap else _spread(total, cap)
        return [i * step for i in picks]
    n = max(1, min(count or limits.default_frames, cap))
    return [(i + 0.5) * duration / n for i in range(n)]


def _spread(total: int, cap: int) -> list[int]:
    """`cap` indexes out of `total`, evenly spaced, first and last included."""
    if cap <= 1:
        return [0]
    return [round(i * (total - 1) / (cap - 1)) for i in range(cap)]


def decode_video(
    data: bytes,
    limits: VideoLimits,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    transform: Callable[[Image.Image], Any] | None = None,
) -> DecodedVideo:
    """Sampled frames; `transform` (e.g. the model's pre-processing) runs on each as it is decoded,
    so one full-size RGB frame at a time is alive, not all of them (64 4K frames are 1.6 GB)."""
    if not data:
        raise MediaDecodeError("The video is empty (0 bytes).")
    demuxer = _demuxer(data, limits)
    import av

    try:
        with av.open(io.BytesIO(data), mode="r", format=demuxer, options=_DEMUXER_OPTIONS) as container:
            if not container.streams.video:
                raise MediaDecodeError("The file has no video stream.")
            stream = container.streams.video[0]
            _check_stream(stream, limits)
            duration = _duration(container, stream)
            if duration > limits.max_duration_s:
                raise PayloadTooLargeError(
                    f"The video lasts {duration:.1f}s; the limit is {limits.max_duration_s:.0f}s."
                )
            targets = sample_times(duration, num_frames, fps, limits)
            stream.thread_type = "AUTO"
            frames, stamps = _collect(container, stream, targets, limits, transform or _identity)
    except (PayloadTooLargeError, UnsupportedMediaTypeError, MediaDecodeError):
        raise
    except (av.error.FFmpegError, ValueError, OSError, EOFError) as error:
        raise MediaDecodeError(f"The video could not be decoded: {error}") from error
    if not frames:
        raise MediaDecodeError("The video has no decodable frames.")
    return DecodedVideo(frames=frames, timestamps=stamps, duration_s=duration)


def _check_stream(stream: Any, limits: VideoLimits) -> None:
    codec = stream.codec_context.name
    if codec not in limits.codecs:
        raise UnsupportedMediaTypeError(f"The video codec '{codec}' is not accepted.")
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > limits.max_pixels:
        raise PayloadTooLargeError(
            f"The video is {width}x{height}; the limit is {limits.max_pixels} pixels per frame."
        )


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0


def _identity(image: Image.Image) -> Image.Image:
    return image


def _collect(
    container: Any,
    stream: Any,
    targets: list[float],
    limits: VideoLimits,
    transform: Callable[[Image.Image], Any],
) -> tuple[list[Any], list[float]]:
    """Decode forward once, keeping the first frame at or after each target time."""
    frames: list[Any] = []
    stamps: list[float] = []
    budget = int(limits.max_duration_s * 240) + 1  # frames decoded at most, whatever the stream claims
    last = None
    pending = list(targets)
    for decoded, frame in enumerate(container.decode(stream)):
        if decoded >= budget:
            raise PayloadTooLargeError("The video has more frames than its declared duration allows.")
        if frame.width * frame.height > limits.max_pixels:
            raise PayloadTooLargeError("A video frame exceeds the resolution limit.")
        time = float(frame.time or 0.0)
        if time > limits.max_duration_s:
            raise PayloadTooLargeError(f"The video runs past {limits.max_duration_s:.0f}s.")
        last = frame
        kept = None
        while pending and time + 1e-6 >= pending[0]:
            pending.pop(0)
            kept = transform(frame.to_image()) if kept is None else kept
            frames.append(kept)
            stamps.append(round(time, 4))
        if not pending:
            break
    if pending and last is not None:
        last_time = float(last.time or 0.0)
        if pending[-1] - last_time > max(1.0, 0.1 * targets[-1]):
            raise MediaDecodeError(
                f"The video stops at {last_time:.2f}s but declares more; it is truncated or corrupt."
            )
        # Targets just past the last frame (durations are often rounded up) reuse it.
        image, time = transform(last.to_image()), round(last_time, 4)
        for _ in pending:
            frames.append(image)
            stamps.append(time)
    return frames, stamps
