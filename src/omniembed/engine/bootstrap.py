"""Building an engine from Settings and loading the configured models into it."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from omniembed.engine.engine import Engine, InputPolicy
from omniembed.engine.metrics import Metrics
from omniembed.engine.runner import RunnerLimits
from omniembed.errors import ConfigurationError
from omniembed.media.audio import AudioLimits
from omniembed.media.fetch import FetchPolicy
from omniembed.media.images import ImageLimits
from omniembed.media.video import VideoLimits
from omniembed.models.base import Adapter
from omniembed.models.declared import parse_model_option
from omniembed.models.registry import LoadRequest, load_adapter, resolve
from omniembed.runtimes import apply_runtime, check_precision, select_runtime
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
        audio_limits=AudioLimits(
            max_duration_s=settings.audio_max_duration_s, max_channels=settings.audio_max_channels
        ),
        fetch=FetchPolicy(
            enabled=settings.allow_url_fetch,
            allowed_domains=tuple(settings.allowed_media_domains),
            timeout_s=settings.url_fetch_timeout_s,
            max_redirects=settings.url_fetch_max_redirects,
            max_bytes=settings.max_request_bytes,
        ),
        fast_image_decode=settings.fast_image_decode,
        visual_max_pixels=settings.visual_max_pixels,
        frame_max_pixels=settings.frame_max_pixels,
        max_text_chars=settings.max_text_chars,
        max_items_per_request=settings.max_items_per_request,
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
    requests = [
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
    return with_model_options(requests, settings.model_options)


def with_model_options(requests: list[LoadRequest], options: list[str]) -> list[LoadRequest]:
    """Give each request the `--model-option name:key=value` entries naming it (its served name or an
    alias); an option naming no served model is a start-up error, not silently ignored."""
    parsed = [parse_model_option(option) for option in options]
    names = {alias.lower(): request.name for request in requests for alias in request.aliases}
    names.update({request.name.lower(): request.name for request in requests})  # served names first
    for target, _, _ in parsed:
        if target.lower() not in names:
            served = ", ".join(request.name for request in requests)
            raise ConfigurationError(
                f"--model-option names '{target}', which is not served (served: {served})."
            )
    return [
        dataclasses.replace(
            request,
            model_options=tuple(
                (key, value) for target, key, value in parsed if names[target.lower()] == request.name
            ),
        )
        for request in requests
    ]


def load_model(request: LoadRequest) -> Adapter:
    """Load a model's adapter and put its towers on the request's runtime (exported and cached for
    ONNX Runtime / OpenVINO, as loaded for torch)."""
    return apply_runtime(load_adapter(request), request)


async def load_models(engine: Engine, settings: Settings) -> None:
    """Resolve, load (off the event loop) and warm up every configured model, in order."""
    for request in load_requests(settings):
        started = time.perf_counter()
        adapter = await asyncio.to_thread(load_model, request)
        await engine.add(adapter, load_seconds=time.perf_counter() - started)
        logger.info("serving %s: %s", request.name, adapter.spec.capabilities())
