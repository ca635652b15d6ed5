"""Media parts of a request → decoded pixels, frames and sound, off the event loop and within the
decode-memory budget. Shared by the per-kind towers' path and the fused path of the engine."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from omniembed.engine.items import AudioInput, ImageInput, VideoInput
from omniembed.errors import InvalidInputError
from omniembed.media.audio import AudioLimits, audio_decode_cost, decode_audio
from omniembed.media.budget import DecodeBudget
from omniembed.media.fetch import FetchPolicy, fetch_media
from omniembed.media.images import ImageLimits, decode_cost, decode_image, to_rgb
from omniembed.media.payload import MediaReference
from omniembed.media.video import DecodedVideo, VideoLimits, decode_video
from omniembed.models.base import AudioClip

VIDEO_BYTES_PER_PIXEL = 12  # of a frame at the video_max_pixels limit: 100 MB for 4K

ImageTransform = Callable[[Image.Image, bool], Any]  # (image, fast) → what the tower takes


@dataclass(frozen=True)
class InputPolicy:
    image_limits: ImageLimits = field(default_factory=ImageLimits)
    video_limits: VideoLimits = field(default_factory=VideoLimits)
    audio_limits: AudioLimits = field(default_factory=AudioLimits)
    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    fast_image_decode: bool = True
    max_text_chars: int = 200_000  # Settings.max_text_chars
    max_items_per_request: int = 2048  # Settings.max_items_per_request (scoring's own lists and labels)
    # Per image and per video frame given to a model's own processor (VLM embedders): larger ones are
    # scaled down first, which bounds both the memory held and the visual tokens per image.
    visual_max_pixels: int = 1_843_200  # Settings.visual_max_pixels (1800 patches of 32x32)
    frame_max_pixels: int = 786_432  # Settings.frame_max_pixels (768 patches of 32x32)


def shrink(image: Image.Image, max_pixels: int) -> Image.Image:
    """Scale down to at most `max_pixels`, keeping the aspect ratio; smaller images are untouched."""
    pixels = image.width * image.height
    if pixels <= max_pixels:
        return image
    scale = (max_pixels / pixels) ** 0.5
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def resample(clip: AudioClip, sample_rate: int) -> AudioClip:
    """The Python API's samples at another rate, with the same resampler decoding uses (FFmpeg's)."""
    import av

    samples = np.ascontiguousarray(clip.samples, dtype=np.float32).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
    frame.sample_rate = clip.sample_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    out = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]) if frames else np.zeros(0, np.float32)
    return AudioClip(out.astype(np.float32, copy=False), sample_rate)


class MediaInputs:
    def __init__(self, policy: InputPolicy, pool: ThreadPoolExecutor, budget: DecodeBudget) -> None:
        self.policy = policy
        self.pool = pool
        self.budget = budget

    async def data(self, reference: MediaReference) -> bytes:
        if reference.data is not None:
            return reference.data
        assert reference.url is not None
        return await fetch_media(reference.url, self.policy.fetch)

    async def image(
        self, item: ImageInput, transform: ImageTransform, draft: tuple[int, int] | None = None
    ) -> Any:
        """The image decoded (the fast path's draft decode when allowed) and transformed on a thread."""
        if item.image is not None:  # the Python API's own images: always the exact path
            rgb = to_rgb(item.image)
            return await asyncio.get_running_loop().run_in_executor(self.pool, transform, rgb, False)
        if item.reference is None:
            raise InvalidInputError("An image item carries no data.", param="input")
        source = await self.data(item.reference)
        fast = self.policy.fast_image_decode
        draft = draft if fast else None
        limits = self.policy.image_limits

        def work() -> Any:
            return transform(decode_image(source, limits, draft=draft), fast)

        return await self.budget.run(self.pool, decode_cost(source, limits, draft), work)

    async def video(self, video: VideoInput, transform: Callable[[Image.Image], Any]) -> DecodedVideo:
        """Sampled frames, each transformed as it is decoded so one full-size frame is alive at a time."""
        data = await self.data(video.reference)
        limits = self.policy.video_limits
        options = video.options
        work = functools.partial(
            decode_video, data, limits, num_frames=options.num_frames, fps=options.fps, transform=transform
        )
        # One full-size frame at a time (RGB, the decoder's reference pictures, the resize's copies),
        # capped at the whole budget so a video is never refused for it, only made to wait.
        cost = min(limits.max_pixels * VIDEO_BYTES_PER_PIXEL, self.budget.limit)
        decoded: DecodedVideo = await self.budget.run(self.pool, cost, work)
        return decoded

    async def audio(self, item: AudioInput, sample_rate: int) -> AudioClip:
        limits = self.policy.audio_limits
        if item.clip is not None:  # the Python API's own samples
            clip = item.clip
            if clip.sample_rate == sample_rate:
                return clip
            return await asyncio.get_running_loop().run_in_executor(self.pool, resample, clip, sample_rate)
        if item.reference is None:
            raise InvalidInputError("An audio item carries no data.", param="input")
        data = await self.data(item.reference)
        work = functools.partial(decode_audio, data, limits, sample_rate)
        clip_out: AudioClip = await self.budget.run(
            self.pool, min(audio_decode_cost(data, limits, sample_rate), self.budget.limit), work
        )
        return clip_out
