"""Per-tower dynamic batching.

Items from concurrent requests queue here as preprocessed features. One loop per tower takes as
many as fit a cost budget (padded tokens for text, images for image towers), waiting at most a few
milliseconds for company when the device is idle (less once as many items wait as the last pass
carried: the company it expects has come), and runs collate + forward on the model's own
device threads, so the event loop never waits on model work. A tower that can run several passes
at once (OpenVINO streams) gets that many batches in flight; the next batch forms while they run.
Items whose request was cancelled are dropped before the forward pass.

When several passes could start at once (OpenVINO streams), the waiting items are shared among
the idle ones instead of all riding in the first: 16 waiting single captions on two idle
single-core streams go 8 and 8, not 16 and none. A pass that frees up while another still runs
takes no more than its share of all the work in the system (waiting + in flight): with 2 in
flight and 14 waiting it takes 8, not 14, so two streams under a closed loop of clients settle
into even batches instead of one running big batches and the other one or two items at a time.

Requests take turns: a batch takes the first waiting item of every request (oldest request first),
then the second of each, and so on, so a request of thousands of items cannot hold back a
one-item request that arrives behind it for more than one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from omniembed.models.base import Tower

logger = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class _Entry:
    feature: Any
    cost: int
    future: asyncio.Future[np.ndarray]


BatchObserver = Callable[[int], None]


class Batcher:
    def __init__(
        self,
        tower: Tower,
        *,
        budget: int,
        max_wait_s: float,
        executor: Executor,
        observe_batch: BatchObserver | None = None,
    ) -> None:
        self.tower = tower
        self.budget = max(1, budget)
        self.max_wait_s = max_wait_s
        self._executor = executor
        self._observe_batch = observe_batch
        self._requests: deque[deque[_Entry]] = deque()  # waiting items, one queue per request
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[None], int] = {}  # each running pass and its item count
        self._last_size = 0
        self.forward_passes = 0
        self.items_forwarded = 0

    @property
    def pending(self) -> int:
        return sum(len(request) for request in self._requests)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._in_flight):
            task.cancel()
        for entry in (entry for request in self._requests for entry in request):
            if not entry.future.done():
                entry.future.cancel()
        self._requests.clear()

    def submit(self, features: Sequence[Any]) -> list[asyncio.Future[np.ndarray]]:
        loop = asyncio.get_running_loop()
        entries = [_Entry(feature, self.tower.cost(feature), loop.create_future()) for feature in features]
        if entries:
            self._requests.append(deque(entries))
        self._wakeup.set()
        return [entry.future for entry in entries]

    async def _run(self) -> None:
        slots = asyncio.Semaphore(max(1, self.tower.concurrency))
        while True:
            await slots.acquire()
            try:
                batch = await self._next_batch()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving: a scheduling bug must not strand every later request
                logger.exception("batcher loop error")
                batch = []
            if not batch:
                slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._forward(batch))
            self._in_flight[task] = len(batch)

            def finished(done: asyncio.Task[None]) -> None:
                self._in_flight.pop(done, None)
                slots.release()
                if not done.cancelled() and done.exception() is not None:
                    logger.error("batch dispatch failed", exc_info=done.exception())

            task.add_done_callback(finished)

    async def _next_batch(self) -> list[_Entry]:
        while not self._requests:
            self._wakeup.clear()
            await self._wakeup.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        while self._fits_more() and not self._company_arrived() and (remaining := deadline - loop.time()) > 0:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        return self._take()

    def _company_arrived(self) -> bool:
        """As many items wait as the last pass carried, for every idle pass: the clients whose
        answers that pass produced have come back, and waiting out the deadline would only leave a
        core idle (in a closed loop of 16 single-caption clients, ~2 ms of every ~28 ms cycle)."""
        return self._last_size > 0 and self.pending >= self._last_size * self._idle_passes()

    def _idle_passes(self) -> int:
        """Passes that could start now, the one being formed included."""
        return max(1, self.tower.concurrency - len(self._in_flight))

    def _in_turn(self) -> Iterator[_Entry]:
        """Waiting items in batch order: one from each request per round, oldest request first."""
        queues = [iter(request) for request in self._requests]
        while queues:
            still = []
            for items in queues:
                entry = next(items, None)
                if entry is not None:
                    yield entry
                    still.append(items)
            queues = still

    def _fits_more(self) -> bool:
        widest, count = 0, 0
        for entry in self._in_turn():
            widest, count = max(widest, entry.cost), count + 1
            if widest * count >= self.budget:
                return False
        return True

    def _take(self) -> list[_Entry]:
        """Take items in turn while the padded cost stays within budget (at least one), and no more
        than this pass's share: of the waiting items among the idle passes, and of all the items
        (waiting and in flight) among all passes."""
        pending = self.pending
        all_passes = max(1, self.tower.concurrency)
        in_flight = sum(self._in_flight.values())
        share = min(-(-pending // self._idle_passes()), -(-(pending + in_flight) // all_passes))
        batch: list[_Entry] = []
        used: set[_Entry] = set()  # taken, or cancelled and dropped
        widest = 0
        for entry in self._in_turn():
            if not entry.future.done():
                new_widest = max(widest, entry.cost)
                if batch and (new_widest * (len(batch) + 1) > self.budget or len(batch) >= share):
                    break
                batch.append(entry)
                widest = new_widest
            used.add(entry)
        # Each request's used items are the front of its queue (taken in turn, in order).
        for request in self._requests:
            while request and request[0] in used:
                request.popleft()
        self._requests = deque(request for request in self._requests if request)
        return batch

    async def _forward(self, batch: list[_Entry]) -> None:
        live = [entry for entry in batch if not entry.future.done()]
        if not live:
            return
        features = [entry.feature for entry in live]
        loop = asyncio.get_running_loop()
        try:
            rows = await loop.run_in_executor(self._executor, self._collate_and_forward, features)
        except asyncio.CancelledError:  # stopping: nobody will receive these rows
            for entry in live:
                entry.future.cancel()
            raise
        except Exception as error:  # a broken batch fails its own requests, not the loop
            logger.exception("forward pass failed for a batch of %d", len(live))
            for entry in live:
                if not entry.future.done():
                    entry.future.set_exception(error)
            return
        self.forward_passes += 1
        self._last_size = len(live)
        self.items_forwarded += len(live)
        if self._observe_batch is not None:
            self._observe_batch(len(live))
        for entry, row in zip(live, rows, strict=True):
            if not entry.future.done():
                entry.future.set_result(row)

    def _collate_and_forward(self, features: list[Any]) -> Any:
        output = self.tower.forward(self.tower.collate(features))
        if len(output) != len(features):  # an array of vectors, or a list of matrices / sparse vectors
            raise RuntimeError(f"tower returned {len(output)} rows for {len(features)} items")
        return output
