"""Small JPEG previews of image and video items, so a client (the web console) can show items and
results as pictures.

A thumbnail is kept in its item's payload (base64, key `thumbnail`) rather than in a sidecar: it
is then replaced, deleted and dropped with its item, on either store, with nothing to keep in step.
What gets one: image items (PDF pages indexed as pages are image items, so each page gets one) and
video items, from the frame at the middle of the video, decoded by omniembed's own video path
(media/video.py) under the engine's video limits and decode-memory budget. Text and audio items
get none. Bounds, for both: the longest side at most THUMBNAIL_SIDE pixels and at most
MAX_THUMBNAIL_BYTES as JPEG (the quality steps down until it fits; a picture that fits at no step
gets no thumbnail). Search hits and listings never carry it, so they stay small;
`GET /v1/collections/{name}/items/{id}/thumbnail` serves it.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pybase64
from PIL import Image

from omniembed.engine.media_inputs import VIDEO_BYTES_PER_PIXEL
from omniembed.errors import NotFoundError
from omniembed.media.images import ImageLimits, decode_cost, decode_image
from omniembed.media.video import VideoLimits, decode_video

if TYPE_CHECKING:
    from omniembed.engine.engine import Engine
    from omniembed.retrieval.service import CollectionItem, CollectionService

THUMBNAIL_SIDE = 256
MAX_THUMBNAIL_BYTES = 30_000
PAYLOAD_KEY = "thumbnail"
_QUALITIES = (82, 70, 55, 40)


def render(image: Image.Image) -> bytes | None:
    """`image` as a bounded JPEG, or None when even the lowest quality is over the byte bound."""
    small = image.convert("RGB")
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    for quality in _QUALITIES:
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_THUMBNAIL_BYTES:
            return buffer.getvalue()
    return None


def _encoded(data: bytes, limits: ImageLimits) -> str | None:
    # JPEG draft mode decodes at a fraction of full size: the preview needs no more.
    jpeg = render(decode_image(data, limits, draft=(THUMBNAIL_SIDE, THUMBNAIL_SIDE)))
    return pybase64.b64encode(jpeg).decode("ascii") if jpeg is not None else None


def video_thumbnail(data: bytes, limits: VideoLimits) -> str | None:
    """A video's base64 thumbnail: its middle frame, bounded like an image's (None if it cannot fit)."""
    # One sample is the middle one (sample_times), shrunk as soon as it is decoded.
    jpeg = decode_video(data, limits, num_frames=1, transform=render).frames[0]
    return pybase64.b64encode(jpeg).decode("ascii") if jpeg is not None else None


async def for_items(engine: Engine, items: list[CollectionItem]) -> dict[int, str]:
    """Base64 thumbnails of the image and video items with bytes, by index (decoded off the event
    loop and within the engine's decode-memory budget, like the media it embeds)."""
    limits, budget = engine.policy.image_limits, engine.decode_budget
    video_limits = engine.policy.video_limits
    jobs: dict[int, Awaitable[str | None]] = {}
    for index, item in enumerate(items):
        if item.modality not in ("image", "video") or item.media is None or item.media.data is None:
            continue
        data = item.media.data
        if item.modality == "video":
            # As the engine charges a video: one full-size frame at a time, capped at the budget.
            cost = min(video_limits.max_pixels * VIDEO_BYTES_PER_PIXEL, budget.limit)
            work = functools.partial(video_thumbnail, data, video_limits)
        else:
            cost = decode_cost(data, limits, (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            work = functools.partial(_encoded, data, limits)
        jobs[index] = budget.run(engine.pool, cost, work)
    # Side by side on the pool (the budget still bounds their memory), not one after another.
    encoded = await asyncio.gather(*jobs.values())
    return {index: preview for index, preview in zip(jobs, encoded, strict=True) if preview is not None}


async def read(service: CollectionService, name: str, item_id: str) -> bytes:
    """The JPEG thumbnail of one item; NotFoundError when the item or its thumbnail is missing."""
    points = await service.retrieve(name, [item_id], with_vectors=False)
    encoded = points[0].payload.get(PAYLOAD_KEY) if points else None
    if not isinstance(encoded, str):
        what = "no thumbnail (only image items and video items have one)" if points else "no such item"
        raise NotFoundError(f"Item '{item_id}' of collection '{name}' has {what}.", param="item_id")
    return pybase64.b64decode(encoded)
