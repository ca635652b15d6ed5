"""Building an engine from Settings and loading the configured models into it."""

from __future__ import annotations

import asyncio
import logging
import time

from omniembed.engine.engine import Engine, InputPolicy
from omniembed.engine.metrics import Metrics
from omniembed.engine.runner import RunnerLimits
from omniembed.media.fetch import FetchPolicy
from omniembed.media.images import ImageLimits
from omniembed.media.video import VideoLimits
from omniembed.models.registry import LoadRequest, load_adapter, resolve
from omniembed.runtimes import check_precision, select_runtime
from omniembed.settings import DEFAULT_MODEL, Settings

logger = logging.getLogger(__name__)

STARTER_NOTICE = (
    "No model configured: serving 'omniembed/starter', a small offline starter model (MiniLM text + "
    "EfficientNet-Lite0 image tower bridged by ConSE). For real cross-modal quality pick a CLIP or SigLIP "
    "model, e.g. `omniembed serve --model CLIP/clip-vit-b-32` or `--model SigLIP/siglip2-vit-b-16`."
)


def input_policy(settings: Settings) -> InputPolicy:
    return InputPolicy(
        image_limits=ImageLimits.create(
            settings.max_image_pixels,
            settings.image_formats,
            decode_memory_mb=settings.decode_memory_mb,
            decode_wait_s=settings.decode_wait_s,
        ),
        video_limits=VideoLimits(
            max_duration_s=settings.video_max_duration_s,
            max_frames=settings.video_max_frames,
            max_pixels=settings.video_max_pixels,
            default_frames=min(settings.video_default_frames, settings.video_max_frames),
        ),
        fetch=FetchPolicy(
            enabled=settings.allow_url_fetch,
            allowed_domains=tuple(settings.allowed_media_domains),
            timeout_s=settings.url_fetch_timeout_s,
            max_redirects=settings.url_fetch_max_redirects,
            max_bytes=settings.max_request_bytes,
        ),
        fast_image_decode=settings.fast_image_decode,
        max_text_chars=settings.max_text_chars,
    )


def engine_from_settings(settings: Settings, metrics: Metrics | None = None) -> Engine:
    limits = RunnerLimits(
        max_batch_tokens=settings.max_batch_tokens,
        max_batch_images=settings.max_batch_images,
        batch_wait_ms=settings.batch_wait_ms,
        max_queue_items=settings.max_queue_items,
    )
    return Engine(
        limits=limits,
        policy=input_policy(settings),
        metrics=metrics,
        preprocess_threads=settings.preprocess_threads,
    )


def load_requests(settings: Settings) -> list[LoadRequest]:
    if not settings.models:
        logger.warning(STARTER_NOTICE)
    requested = settings.effective_runtime()
    runtime = select_runtime(requested, settings.device)
    check_precision(runtime, settings.precision)
    return [
        resolve(
            text,
            device=settings.device,
            runtime=runtime,
            runtime_explicit=requested != "auto",
            precision=settings.precision,
            int8_min_cosine=settings.int8_min_cosine,
            openvino_streams=settings.openvino_streams,
            models_dir=settings.models_dir,
            revision=settings.revision,
            trust_remote_code=settings.trust_remote_code,
        )
        for text in (settings.models or [DEFAULT_MODEL])
    ]


async def load_models(engine: Engine, settings: Settings) -> None:
    """Resolve, load (off the event loop) and warm up every configured model, in order."""
    for request in load_requests(settings):
        started = time.perf_counter()
        adapter = await asyncio.to_thread(load_adapter, request)
        await engine.add(adapter, load_seconds=time.perf_counter() - started)
        logger.info("serving %s: %s", request.name, adapter.spec.capabilities())
