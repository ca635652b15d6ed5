"""One served model: its adapter, a batcher per tower, a device thread, and admission control."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from omniembed.engine.batcher import Batcher
from omniembed.engine.metrics import Metrics
from omniembed.errors import CapabilityError, OverloadedError, PayloadTooLargeError
from omniembed.models.base import Adapter, ModelSpec, TextFeature, TowerKind, Truncation

logger = logging.getLogger(__name__)


# A short caption tokenizes in 20-30 µs, less than the hop to a worker thread and back costs (and the
# worker's CPU): requests this small tokenize on the event loop. Measured with single-caption
# requests at concurrency 16: the preprocess threads' share of CPU was half the event loop's.
INLINE_TOKENIZE_CHARS = 512


async def awaited(jobs: Sequence[Awaitable[Any]]) -> list[Any]:
    """The results of `jobs`, in order. A lone job (one caption, one image, a request of one
    modality) is awaited in place: gather would build a task or gathering future for it, a cost
    paid on every single-item request."""
    if len(jobs) == 1:
        return [await jobs[0]]
    return list(await asyncio.gather(*jobs))


@dataclass(frozen=True)
class RunnerLimits:
    max_batch_tokens: int = 16384
    max_batch_images: int = 32
    batch_wait_ms: float = 2.0
    max_queue_items: int = 2048


class ModelRunner:
    def __init__(
        self, adapter: Adapter, limits: RunnerLimits, preprocess_pool: ThreadPoolExecutor, metrics: Metrics
    ) -> None:
        self.adapter = adapter
        self.spec: ModelSpec = adapter.spec
        self.limits = limits
        self.metrics = metrics
        self._preprocess_pool = preprocess_pool
        # Device threads per model: one (forward passes never race each other) unless a tower can run
        # several passes at once (OpenVINO streams), each on its own infer request.
        towers = adapter.towers()
        workers = max((tower.concurrency for tower in towers.values()), default=1)
        self._device_thread = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix=f"device-{self.spec.name}"
        )
        self.batchers: dict[TowerKind, Batcher] = {}
        for modality, tower in towers.items():
            # Token-counted towers share the token budget; images and audio windows count one each.
            budget = limits.max_batch_tokens if modality in ("text", "fused") else limits.max_batch_images
            self.batchers[modality] = Batcher(
                tower,
                budget=budget,
                max_wait_s=limits.batch_wait_ms / 1000,
                executor=self._device_thread,
                observe_batch=self._observer(modality),
            )
        self.in_flight = 0
        self._queue_depth = metrics.queue_depth.labels(model=self.spec.name)
        self._item_counters: dict[str, Any] = {}
        self.ready = False
        self.recent_rate = 0.0  # items per second, for Retry-After estimates

    def _observer(self, modality: str) -> Any:
        # Labelled children looked up once: labels() validates and locks on every call.
        passes = self.metrics.forward_passes.labels(model=self.spec.name, modality=modality)
        sizes = self.metrics.batch_size.labels(model=self.spec.name, modality=modality)

        def observe(size: int) -> None:
            passes.inc()
            sizes.observe(size)

        return observe

    async def start(self) -> None:
        for batcher in self.batchers.values():
            batcher.start()
        started = time.perf_counter()
        await self.warm_up()
        self.ready = True
        logger.info("model %s ready (warm-up %.2fs)", self.spec.name, time.perf_counter() - started)

    async def warm_up(self) -> None:
        """One real forward per tower, so /ready means the first request is not a cold start."""
        if "text" in self.batchers:
            windows = await self.tokenize(["warm-up"], Truncation.END)
            await self.run("text", [windows[0][0]])
        if "image" in self.batchers:
            pixels = await self.preprocess_images([Image.new("RGB", (64, 64), (127, 127, 127))])
            await self.run("image", pixels)

    async def stop(self) -> None:
        for batcher in self.batchers.values():
            await batcher.stop()
        self._device_thread.shutdown(wait=True, cancel_futures=True)
        self.ready = False

    @contextlib.contextmanager
    def admit(self, items: int) -> Iterator[None]:
        """Reserve queue room for a whole request, or refuse it at once (never a partial admit).

        A request larger than the whole queue could never be admitted, even on an idle server: it
        is a 413 naming the limit, not a 429 whose Retry-After a client would honour forever."""
        capacity = self.limits.max_queue_items
        if items > capacity:
            raise PayloadTooLargeError(
                f"The request needs {items} queue slots (one per text, image, interleaved part, video "
                f"frame or label prompt); model '{self.spec.name}' queues at most {capacity} "
                "(max_queue_items). Split it into smaller requests.",
                param="input",
            )
        if self.in_flight + items > capacity:
            self.metrics.rejected.labels(model=self.spec.name).inc()
            retry = max(1, math.ceil(self.in_flight / self.recent_rate)) if self.recent_rate > 0 else 1
            raise OverloadedError(
                f"Model '{self.spec.name}' is at capacity ({self.in_flight} of {capacity} items queued); "
                "retry shortly.",
                retry_after=min(retry, 30),
            )
        self.in_flight += items
        self._queue_depth.set(self.in_flight)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.in_flight -= items
            self._queue_depth.set(self.in_flight)
            elapsed = time.perf_counter() - started
            if elapsed > 0:
                self.recent_rate = 0.8 * self.recent_rate + 0.2 * (items / elapsed)

    def count_item(self, modality: str) -> None:
        counter = self._item_counters.get(modality)
        if counter is None:  # first item of this modality: its series appears now, not at start
            counter = self._item_counters[modality] = self.metrics.items.labels(
                model=self.spec.name, modality=modality
            )
        counter.inc()

    def require(self, modality: TowerKind, asked: str | None = None) -> Any:
        """The tower of `modality`; `asked` names the input in the error when it differs from
        its tower (a video goes through the image tower)."""
        tower = self.adapter.tower(modality)
        if tower is None:
            supported = ", ".join(self.spec.modalities)
            raise CapabilityError(
                f"Model '{self.spec.name}' cannot embed {asked or modality} inputs "
                f"(it supports: {supported}).",
                param="input",
            )
        return tower

    async def tokenize(
        self,
        texts: Sequence[str],
        truncation: Truncation,
        prompt: str | None = None,
        max_tokens: int | None = None,
        add_special_tokens: bool = True,
    ) -> list[list[TextFeature]]:
        tower = self.require("text")
        arguments = (list(texts), truncation, prompt, max_tokens, add_special_tokens)
        if sum(len(text) for text in texts) <= INLINE_TOKENIZE_CHARS:
            return tower.preprocess(*arguments)
        loop = asyncio.get_running_loop()
        windows: list[list[TextFeature]] = await loop.run_in_executor(
            self._preprocess_pool, tower.preprocess, *arguments
        )
        return windows

    async def preprocess_images(self, images: Sequence[Image.Image]) -> list[np.ndarray]:
        tower = self.require("image")
        loop = asyncio.get_running_loop()
        jobs = [loop.run_in_executor(self._preprocess_pool, tower.preprocess, image) for image in images]
        return list(await asyncio.gather(*jobs))

    async def run(self, modality: TowerKind, features: Sequence[Any]) -> list[np.ndarray]:
        """Queue preprocessed features on the tower's batcher and wait for their rows."""
        if not features:
            return []
        rows: list[np.ndarray] = await awaited(self.batchers[modality].submit(features))
        return rows

    @property
    def draft_request(self) -> tuple[int, int] | None:
        tower = self.adapter.image
        return tower.preprocessor.draft_request() if tower is not None else None
