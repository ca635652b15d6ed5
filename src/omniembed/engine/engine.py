"""The engine: one neutral `embed` call over every served model.

Dialects, the Python API and the retrieval layer all call `Engine.embed`. It resolves the model,
checks options, admits the request as a whole, preprocesses texts/images/videos on CPU threads,
queues the features on the model's batchers, and assembles one vector per item (chunk windows,
video frames and interleaved parts are fused by a normalized mean), then post-processes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from omniembed.catalog import load_catalog
from omniembed.engine.items import (
    EmbedOptions,
    EmbedResult,
    FrameVectors,
    ImageInput,
    InterleavedInput,
    Item,
    TextInput,
    VideoInput,
)
from omniembed.engine.metrics import Metrics
from omniembed.engine.postprocess import check_dimensions, finalize, fuse
from omniembed.engine.runner import ModelRunner, RunnerLimits, awaited
from omniembed.errors import InvalidInputError, ModelNotFoundError, NotReadyError, PayloadTooLargeError
from omniembed.media.budget import DecodeBudget
from omniembed.media.fetch import FetchPolicy, fetch_media
from omniembed.media.images import ImageLimits, decode_cost, decode_image, to_rgb
from omniembed.media.payload import MediaReference
from omniembed.media.video import VideoLimits, decode_video
from omniembed.models.base import Adapter, ModelSpec

logger = logging.getLogger(__name__)

VIDEO_BYTES_PER_PIXEL = 12  # of a frame at the video_max_pixels limit: 100 MB for 4K

Part = TextInput | ImageInput | VideoInput


@dataclass(frozen=True)
class InputPolicy:
    image_limits: ImageLimits = field(default_factory=ImageLimits)
    video_limits: VideoLimits = field(default_factory=VideoLimits)
    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    fast_image_decode: bool = True
    max_text_chars: int = 200_000  # Settings.max_text_chars
    max_items_per_request: int = 2048  # Settings.max_items_per_request (scoring's own lists and labels)


def resolve_prompt(spec: ModelSpec, input_type: str | None) -> str | None:
    """`input_type` → the model's prompt prefix. Cohere's own types are accepted as no-ops."""
    if input_type is None:
        return None
    if input_type in spec.prompts:
        return spec.prompts[input_type] or None
    table = load_catalog().input_types
    for prompt_name in table.get(input_type, ()):
        if prompt_name in spec.prompts:
            return spec.prompts[prompt_name] or None
    if input_type in table:
        return None
    known = sorted({*table, *spec.prompts})
    raise InvalidInputError(
        f"Unknown input_type '{input_type}' for model '{spec.name}'; accepted: {', '.join(known)}.",
        param="input_type",
    )


class Engine:
    def __init__(
        self,
        *,
        limits: RunnerLimits | None = None,
        policy: InputPolicy | None = None,
        metrics: Metrics | None = None,
        preprocess_threads: int = 0,
    ) -> None:
        self.limits = limits or RunnerLimits()
        self.policy = policy or InputPolicy()
        self.metrics = metrics or Metrics()
        threads = preprocess_threads or max(2, os.cpu_count() or 2)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="preprocess")
        image_limits = self.policy.image_limits
        self.decode_budget = DecodeBudget(image_limits.decode_memory_bytes, image_limits.decode_wait_s)
        self.runners: dict[str, ModelRunner] = {}
        self._aliases: dict[str, str] = {}

    # ----------------------------------------------------------------------------- models
    async def add(self, adapter: Adapter, *, load_seconds: float = 0.0) -> ModelRunner:
        started = time.perf_counter()
        runner = ModelRunner(adapter, self.limits, self.pool, self.metrics)
        self.runners[adapter.spec.name] = runner
        for alias in (adapter.spec.name, *adapter.spec.aliases):
            self._aliases.setdefault(alias.lower(), adapter.spec.name)
        await runner.start()
        total = load_seconds + time.perf_counter() - started
        self.metrics.model_load_seconds.labels(model=adapter.spec.name).set(total)
        return runner

    def names(self) -> list[str]:
        return list(self.runners)

    def runner(self, model: str | None) -> ModelRunner:
        if model is None or model == "":
            if not self.runners:
                raise NotReadyError("No model is loaded yet.")
            return next(iter(self.runners.values()))
        name = self._aliases.get(model.lower())
        if name is None:
            raise ModelNotFoundError(model, self.names())
        return self.runners[name]

    @property
    def ready(self) -> bool:
        return bool(self.runners) and all(r.ready for r in self.runners.values())

    async def close(self) -> None:
        for runner in self.runners.values():
            await runner.stop()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ----------------------------------------------------------------------------- embed
    async def embed(
        self, model: str | None, items: Sequence[Item], options: EmbedOptions | None = None
    ) -> EmbedResult:
        options = options or EmbedOptions()
        runner = self.runner(model)
        spec = runner.spec
        if not items:
            raise InvalidInputError("The input is empty; send at least one item.", param="input")
        check_dimensions(spec, options.dimensions)
        prompt = resolve_prompt(spec, options.input_type)
        parts = _parts(items)
        for index, part in parts:
            runner.require("text" if isinstance(part, TextInput) else "image")
            if isinstance(part, TextInput):
                self._check_text(part.text, index)
        with runner.admit(self._units(parts)):
            vectors, tokens, images, frames = await self._embed_parts(runner, parts, options, prompt)
        per_item = self._assemble(items, parts, vectors)
        embeddings = finalize(per_item, spec, normalize=options.normalize, dimensions=options.dimensions)
        for index, frame_rows in frames.items():
            frames[index] = FrameVectors(
                frame_rows.timestamps,
                finalize(
                    frame_rows.vectors, spec, normalize=options.normalize, dimensions=options.dimensions
                ),
            )
        self._count_items(runner, parts)
        return EmbedResult(spec.name, embeddings, prompt_tokens=tokens, image_count=images, frames=frames)

    def _check_text(self, text: str, index: int) -> None:
        """Every caller's texts meet the limit before any tokenizing: the HTTP schemas check it too,
        but the Python API, collections and label prompts come here directly."""
        limit = self.policy.max_text_chars
        if len(text) > limit:
            raise PayloadTooLargeError(
                f"Text of {len(text)} characters; the limit is {limit}.", param=f"input[{index}]"
            )

    def _units(self, parts: list[tuple[int, Part]]) -> int:
        units = 0
        for _, part in parts:
            if isinstance(part, VideoInput):
                asked = part.options.num_frames or self.policy.video_limits.default_frames
                units += min(max(1, asked), self.policy.video_limits.max_frames)
            else:
                units += 1
        return units

    @staticmethod
    def _count_items(runner: ModelRunner, parts: list[tuple[int, Part]]) -> None:
        for _, part in parts:
            runner.count_item(type(part).__name__.removesuffix("Input").lower())

    async def _embed_parts(
        self, runner: ModelRunner, parts: list[tuple[int, Part]], options: EmbedOptions, prompt: str | None
    ) -> tuple[list[np.ndarray], int, int, dict[int, FrameVectors]]:
        texts = [(i, p) for i, p in enumerate(parts) if isinstance(p[1], TextInput)]
        images = [(i, p) for i, p in enumerate(parts) if isinstance(p[1], ImageInput)]
        videos = [(i, p) for i, p in enumerate(parts) if isinstance(p[1], VideoInput)]
        # Only the modalities present get a job: a lone job is awaited in place (see awaited()).
        jobs: list[Any] = []
        if texts:
            jobs.append(self._texts(runner, [p.text for _, (_, p) in texts], options, prompt))  # type: ignore[union-attr]
        if images:
            jobs.append(self._images(runner, [p for _, (_, p) in images]))  # type: ignore[misc]
        jobs.extend(self._video(runner, p) for _, (_, p) in videos)  # type: ignore[arg-type]
        results = iter(await awaited(jobs))
        text_rows, tokens = next(results) if texts else ([], 0)
        image_rows = next(results) if images else []
        video_rows = list(results)
        vectors: list[np.ndarray] = [np.empty(0)] * len(parts)
        for (slot, _), row in zip(texts, text_rows, strict=True):
            vectors[slot] = row
        for (slot, _), row in zip(images, image_rows, strict=True):
            vectors[slot] = row
        frames: dict[int, FrameVectors] = {}
        image_count = len(images)
        for (slot, (item_index, video)), (clip, frame_vectors) in zip(videos, video_rows, strict=True):
            vectors[slot] = clip
            image_count += len(frame_vectors.timestamps)
            if video.options.pooling == "none":  # type: ignore[union-attr]
                frames[item_index] = frame_vectors
        return vectors, tokens, image_count, frames

    async def _texts(
        self, runner: ModelRunner, texts: list[str], options: EmbedOptions, prompt: str | None
    ) -> tuple[list[np.ndarray], int]:
        if not texts:
            return [], 0
        windows = await runner.tokenize(texts, options.truncation, prompt, options.max_tokens)
        flat = [window for group in windows for window in group]
        rows = await runner.run("text", flat)
        tokens = sum(len(window.ids) for window in flat)
        vectors: list[np.ndarray] = []
        cursor = 0
        for group in windows:
            chunk = rows[cursor : cursor + len(group)]
            cursor += len(group)
            vectors.append(chunk[0] if len(chunk) == 1 else fuse(chunk, [w.weight for w in group]))
        return vectors, tokens

    async def _bytes(self, reference: MediaReference) -> bytes:
        if reference.data is not None:
            return reference.data
        assert reference.url is not None
        return await fetch_media(reference.url, self.policy.fetch)

    def _decode_and_preprocess(self, runner: ModelRunner, data: bytes | Image.Image) -> Any:
        tower = runner.require("image")
        if isinstance(data, Image.Image):  # the Python API's own images: always the exact path
            return tower.preprocess(to_rgb(data))
        fast = self.policy.fast_image_decode
        image = decode_image(data, self.policy.image_limits, draft=runner.draft_request if fast else None)
        return tower.preprocess(image, fast=fast)

    async def _images(self, runner: ModelRunner, images: list[ImageInput]) -> list[np.ndarray]:
        if not images:
            return []
        loop = asyncio.get_running_loop()

        async def prepare(item: ImageInput) -> np.ndarray:
            source: bytes | Image.Image
            if item.image is not None:
                source = item.image
            elif item.reference is not None:
                source = await self._bytes(item.reference)
            else:
                raise InvalidInputError("An image item carries no data.", param="input")
            if isinstance(source, bytes):  # decoded pixels in flight stay within the budget
                draft = runner.draft_request if self.policy.fast_image_decode else None
                cost = decode_cost(source, self.policy.image_limits, draft)
                work = functools.partial(self._decode_and_preprocess, runner, source)
                return await self.decode_budget.run(self.pool, cost, work)
            return await loop.run_in_executor(self.pool, self._decode_and_preprocess, runner, source)

        pixels = await awaited([prepare(item) for item in images])
        return await runner.run("image", pixels)

    async def _video(self, runner: ModelRunner, video: VideoInput) -> tuple[np.ndarray, FrameVectors]:
        data = await self._bytes(video.reference)
        tower = runner.require("image")
        options = video.options
        limits = self.policy.video_limits

        def frames_to_pixels() -> tuple[list[np.ndarray], list[float]]:
            fast = self.policy.fast_image_decode
            decoded = decode_video(
                data,
                limits,
                num_frames=options.num_frames,
                fps=options.fps,
                transform=lambda frame: tower.preprocess(frame, fast=fast),
            )
            return decoded.frames, decoded.timestamps

        # One full-size frame at a time (RGB, the decoder's reference pictures, the resize's copies),
        # capped at the whole budget so a video is never refused for it, only made to wait.
        cost = min(limits.max_pixels * VIDEO_BYTES_PER_PIXEL, self.decode_budget.limit)
        pixels, stamps = await self.decode_budget.run(self.pool, cost, frames_to_pixels)
        rows = await runner.run("image", pixels)
        return fuse(rows), FrameVectors(stamps, np.stack(rows))

    @staticmethod
    def _assemble(
        items: Sequence[Item], parts: list[tuple[int, Part]], vectors: list[np.ndarray]
    ) -> np.ndarray:
        grouped: list[list[np.ndarray]] = [[] for _ in items]
        for (item_index, _), vector in zip(parts, vectors, strict=True):
            grouped[item_index].append(vector)
        rows = [
            fuse(group) if isinstance(item, InterleavedInput) else group[0]
            for item, group in zip(items, grouped, strict=True)
        ]
        return np.stack(rows).astype(np.float32, copy=False)


def _parts(items: Sequence[Item]) -> list[tuple[int, Part]]:
    parts: list[tuple[int, Part]] = []
    for index, item in enumerate(items):
        if isinstance(item, InterleavedInput):
            if not item.parts:
                raise InvalidInputError(f"Input {index} has no parts.", param=f"input[{index}]")
            parts.extend((index, part) for part in item.parts)
        else:
            parts.append((index, item))
    return parts
