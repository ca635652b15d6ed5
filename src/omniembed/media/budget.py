"""A byte budget for decoded pixels in flight, shared by every request and model of one engine.

The pixel limit bounds one image (40 MP), not how many decode at once: at the default queue of
2,048 items, concurrent large images each held hundreds of MB while decoding, and RSS grew with the
load. Each image reserves its peak decode memory (`decode_cost`, read from the header) before it
is decoded; when the budget is spent it waits, in arrival order, up to `decode_wait_s`, then its
request gets a 429 with a Retry-After estimated from the recent decode rate. An image that alone
needs more than the whole budget could never decode: that is a 413, not a 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from omniembed.errors import OverloadedError, PayloadTooLargeError

T = TypeVar("T")

MB = 1024 * 1024


class DecodeBudget:
    def __init__(self, limit_bytes: int, wait_s: float) -> None:
        self.limit = max(1, limit_bytes)
        self.wait_s = wait_s
        self.in_use = 0
        self.peak = 0  # the most ever reserved at once (tests and metrics read it)
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._rate = 0.0  # bytes of decoding finished per second, recent average

    async def run(self, executor: Executor, cost: int, work: Callable[[], T]) -> T:
        """`work()` on `executor` once `cost` bytes are reserved; they are released when it ends,
        even if the caller was cancelled meanwhile (the thread goes on using the memory)."""
        if cost <= 0:
            return await asyncio.wrap_future(executor.submit(work))
        await self.reserve(cost)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()

        def done(_: object) -> None:
            elapsed = time.perf_counter() - started
            with contextlib.suppress(RuntimeError):  # the loop closed first: nothing left to wake
                loop.call_soon_threadsafe(self._finish, cost, elapsed)

        try:
            future = executor.submit(work)
        except BaseException:
            self.release(cost)
            raise
        future.add_done_callback(done)
        return await asyncio.wrap_future(future)

    async def reserve(self, cost: int) -> None:
        if cost > self.limit:
            raise PayloadTooLargeError(
                f"The image needs {math.ceil(cost / MB)} MB to decode; the decode memory budget "
                f"(decode_memory_mb) is {self.limit // MB} MB.",
                param="input",
            )
        if not self._waiters and self.in_use + cost <= self.limit:
            self._take(cost)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (cost, waiter)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.wait_s)
        except (TimeoutError, asyncio.CancelledError) as error:
            if waiter.done() and not waiter.cancelled():  # granted just as the wait ended
                self.release(cost)
            else:
                self._waiters.remove(entry)
                waiter.cancel()
                self._wake()  # a smaller image behind this one may fit now
            if isinstance(error, TimeoutError):
                raise self._overloaded() from None
            raise

    def release(self, cost: int) -> None:
        self.in_use -= cost
        self._wake()

    def _finish(self, cost: int, elapsed: float) -> None:
        if elapsed > 0:
            rate = cost / elapsed
            self._rate = rate if self._rate == 0 else 0.8 * self._rate + 0.2 * rate
        self.release(cost)

    def _take(self, cost: int) -> None:
        self.in_use += cost
        self.peak = max(self.peak, self.in_use)

    def _wake(self) -> None:
        # In arrival order: a large image at the head is not starved by small ones behind it.
        while self._waiters and self.in_use + self._waiters[0][0] <= self.limit:
            cost, waiter = self._waiters.popleft()
            if not waiter.done():
                self._take(cost)
                waiter.set_result(None)

    def _overloaded(self) -> OverloadedError:
        backlog = self.in_use + sum(cost for cost, _ in self._waiters)
        retry = math.ceil(backlog / self._rate) if self._rate > 0 else math.ceil(self.wait_s)
        return OverloadedError(
            f"Image decoding is at its memory budget ({self.in_use // MB} of {self.limit // MB} MB "
            f"in use, {len(self._waiters)} images waiting); retry shortly.",
            retry_after=min(max(1, retry), 30),
        )
