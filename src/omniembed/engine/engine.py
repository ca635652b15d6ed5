"""The engine: one neutral `embed` call over every served model.

Dialects, the Python API and the retrieval layer all call `Engine.embed`. It resolves the model,
checks options, admits the request as a whole, preprocesses texts/images/videos on CPU threads,
queues the features on the model's batchers, and assembles one vector per item (chunk windows,
video frames and interleaved parts are fused by a normalized mean), then post-processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omniembed.catalog import load_catalog
from omniembed.engine.fused import FusedItems, item_parts
from omniembed.engine.items import (
    AudioInput,
    ChatInput,
    EmbedOptions,
    EmbedResult,
    FrameVectors,
    ImageInput,
    InterleavedInput,
    Item,
    Part,
    TextInput,
    VideoInput,
)
from omniembed.engine.media_inputs import InputPolicy, MediaInputs
from omniembed.engine.metrics import Metrics
from omniembed.engine.outputs import check_output, check_pruning, pooled, prune
from omniembed.engine.postprocess import check_dimensions, finalize, fuse
from omniembed.engine.runner import ModelRunner, RunnerLimits, awaited
from omniembed.errors import InvalidInputError, ModelNotFoundError, NotReadyError, PayloadTooLargeError
from omniembed.media.budget import DecodeBudget
from omniembed.models.base import Adapter, ModelSpec, TowerKind

__all__ = ["Engine", "InputPolicy", "resolve_prompt"]

logger = logging.getLogger(__name__)


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
        self.media = MediaInputs(self.policy, self.pool, self.decode_budget)
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
        check_output(spec, options)
        check_pruning(options.sparse_top_k, options.sparse_min_weight)
        if options.output == "dense":
            check_dimensions(spec, options.dimensions)
        prompt = resolve_prompt(spec, options.input_type)
        parts = _parts(items)
        for index, part in parts:
            if isinstance(part, TextInput):
                self.check_text(part.text, index)
        if runner.adapter.fused is not None:
            return await self._embed_fused(runner, items, parts, options, prompt)
        for _, part in parts:
            runner.require(_tower_kind(part), "video" if isinstance(part, VideoInput) else None)
        with runner.admit(self._units(parts)):
            embedded = await self._embed_parts(runner, parts, options, prompt)
        per_item = self._assemble(items, parts, embedded.vectors)
        frames = {
            index: FrameVectors(rows.timestamps, self._finalize(rows.vectors, spec, options))
            for index, rows in embedded.frames.items()
        }
        item_tokens = [0] * len(items)
        for (item_index, _), count in zip(parts, embedded.tokens, strict=True):
            item_tokens[item_index] += count
        self._count_items(runner, parts)
        return EmbedResult(
            spec.name,
            self._finalize(per_item, spec, options),
            prompt_tokens=sum(item_tokens),
            image_count=embedded.images,
            frames=frames,
            item_tokens=item_tokens,
            audio_seconds=embedded.audio_seconds,
        )

    async def _embed_fused(
        self,
        runner: ModelRunner,
        items: Sequence[Item],
        parts: list[tuple[int, Part]],
        options: EmbedOptions,
        prompt: str | None,
    ) -> EmbedResult:
        fused = FusedItems(self.media, runner)
        with runner.admit(self._units(parts)):
            rows, item_tokens = await fused.embed(items, options, prompt)
        self._count_items(runner, parts)
        spec = runner.spec
        result = EmbedResult(
            spec.name,
            np.zeros((len(items), 0), dtype=np.float32),
            prompt_tokens=sum(item_tokens),
            image_count=sum(isinstance(part, ImageInput) for _, part in parts),
            item_tokens=item_tokens,
        )
        if options.output == "multivector":
            result.multivectors = [np.ascontiguousarray(row, dtype=np.float32) for row in rows]
        elif options.output == "sparse":
            result.sparse = [prune(row, options.sparse_top_k, options.sparse_min_weight) for row in rows]
        else:
            dense = pooled(rows) if spec.output == "multivector" else np.stack(rows)
            result.embeddings = self._finalize(dense, spec, options)
        return result

    @staticmethod
    def _finalize(vectors: np.ndarray, spec: ModelSpec, options: EmbedOptions) -> np.ndarray:
        return finalize(vectors, spec, normalize=options.normalize, dimensions=options.dimensions)

    def check_text(self, text: str, index: int) -> None:
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
    ) -> _Embedded:
        """Each part through its own tower; a lone kind's job is awaited in place (see awaited())."""
        slots: dict[type, list[int]] = {}
        for slot, (_, part) in enumerate(parts):
            slots.setdefault(type(part), []).append(slot)
        texts, images = slots.get(TextInput, []), slots.get(ImageInput, [])
        videos, sounds = slots.get(VideoInput, []), slots.get(AudioInput, [])
        jobs: list[Any] = []
        if texts:
            jobs.append(self._texts(runner, [parts[s][1].text for s in texts], options, prompt))  # type: ignore[union-attr]
        if images:
            jobs.append(self._images(runner, [parts[s][1] for s in images]))  # type: ignore[misc]
        jobs.extend(self._video(runner, parts[s][1]) for s in videos)  # type: ignore[arg-type]
        jobs.extend(self._audio(runner, parts[s][1]) for s in sounds)  # type: ignore[arg-type]
        results = iter(await awaited(jobs))
        embedded = _Embedded([np.empty(0)] * len(parts), [0] * len(parts), len(images))
        text_rows, text_tokens = next(results) if texts else ([], [])
        for slot, row, count in zip(texts, text_rows, text_tokens, strict=True):
            embedded.vectors[slot], embedded.tokens[slot] = row, count
        for slot, row in zip(images, next(results) if images else [], strict=True):
            embedded.vectors[slot] = row
        for slot in videos:
            clip, frame_vectors = next(results)
            embedded.vectors[slot] = clip
            embedded.images += len(frame_vectors.timestamps)
            item_index, video = parts[slot]
            if video.options.pooling == "none":  # type: ignore[union-attr]
                embedded.frames[item_index] = frame_vectors
        for slot in sounds:
            embedded.vectors[slot], seconds = next(results)
            embedded.audio_seconds += seconds
        return embedded

    async def _texts(
        self, runner: ModelRunner, texts: list[str], options: EmbedOptions, prompt: str | None
    ) -> tuple[list[np.ndarray], list[int]]:
        windows = await runner.tokenize(
            texts, options.truncation, prompt, options.max_tokens, options.add_special_tokens
        )
        flat = [window for group in windows for window in group]
        rows = await runner.run("text", flat)
        vectors: list[np.ndarray] = []
        cursor = 0
        for group in windows:
            chunk = rows[cursor : cursor + len(group)]
            cursor += len(group)
            vectors.append(chunk[0] if len(chunk) == 1 else fuse(chunk, [w.weight for w in group]))
        return vectors, [sum(len(window.ids) for window in group) for group in windows]

    async def _images(self, runner: ModelRunner, images: list[ImageInput]) -> list[np.ndarray]:
        tower = runner.require("image")
        draft = runner.draft_request
        pixels = await awaited([self.media.image(item, tower.preprocess, draft) for item in images])
        return await runner.run("image", pixels)

    async def _video(self, runner: ModelRunner, video: VideoInput) -> tuple[np.ndarray, FrameVectors]:
        tower = runner.require("image")
        fast = self.policy.fast_image_decode
        decoded = await self.media.video(video, lambda frame: tower.preprocess(frame, fast=fast))
        rows = await runner.run("image", decoded.frames)
        return fuse(rows), FrameVectors(decoded.timestamps, np.stack(rows))

    async def _audio(self, runner: ModelRunner, sound: AudioInput) -> tuple[np.ndarray, float]:
        """A clip through the audio tower: windows of the model's length, averaged by duration."""
        tower = runner.require("audio")
        clip = await self.media.audio(sound, tower.sample_rate)
        windows = await asyncio.get_running_loop().run_in_executor(self.pool, tower.preprocess, clip)
        rows = await runner.run("audio", [window.feature for window in windows])
        vector = rows[0] if len(rows) == 1 else fuse(rows, [window.weight for window in windows])
        return vector, clip.seconds

    @staticmethod
    def _assemble(
        items: Sequence[Item], parts: list[tuple[int, Part]], vectors: list[np.ndarray]
    ) -> np.ndarray:
        grouped: list[list[np.ndarray]] = [[] for _ in items]
        for (item_index, _), vector in zip(parts, vectors, strict=True):
            grouped[item_index].append(vector)
        rows = [
            fuse(group) if isinstance(item, InterleavedInput | ChatInput) else group[0]
            for item, group in zip(items, grouped, strict=True)
        ]
        return np.stack(rows).astype(np.float32, copy=False)


@dataclass
class _Embedded:
    """Per part of a request: its vector and its text tokens; and the request's media totals."""

    vectors: list[np.ndarray]
    tokens: list[int]
    images: int
    frames: dict[int, FrameVectors] = field(default_factory=dict)
    audio_seconds: float = 0.0


def _tower_kind(part: Part) -> TowerKind:
    if isinstance(part, TextInput):
        return "text"
    return "audio" if isinstance(part, AudioInput) else "image"  # a video is frames through the image tower


def _parts(items: Sequence[Item]) -> list[tuple[int, Part]]:
    parts: list[tuple[int, Part]] = []
    for index, item in enumerate(items):
        own = item_parts(item)
        if not own:
            raise InvalidInputError(f"Input {index} has no parts.", param=f"input[{index}]")
        parts.extend((index, part) for part in own)
    return parts
