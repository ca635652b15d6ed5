"""Against real server processes on 127.0.0.1 (bounded bursts):
- overload: 10x the queue capacity at once → the excess gets a fast 429 with Retry-After, never a
  5xx, and memory stays flat;
- SIGTERM during a burst → /ready turns 503, every accepted request completes, the process exits
  with status 0 (a clean drain is not a crash to a process manager); SIGINT likewise.
"""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from tests.hardening.test_malformed_and_bombs import rss_kb
from tests.support.server import running_server

LONG_TEXT = " ".join(f"token{i}" for i in range(120))
ITEMS = 8
CAPACITY = 16


@pytest.fixture(scope="module")
def busy_server(minilm_dir):
    args = ["--model", f"minilm={minilm_dir}", "--max-queue-items", str(CAPACITY)]
    with running_server(args) as running:
        yield running


async def burst(url: str, count: int, items: int, words: int = 120) -> list[tuple[int, float, str | None]]:
    text = " ".join(LONG_TEXT.split()[:words])
    body = {"model": "minilm", "input": [f"{text} {i}" for i in range(items)]}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def one() -> tuple[int, float, str | None]:
            started = time.perf_counter()
            response = await http.post("/v1/embeddings", json=body)
            return response.status_code, time.perf_counter() - started, response.headers.get("retry-after")

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_overload_answers_429_fast_and_stays_flat(busy_server):
    requests = 10 * CAPACITY // ITEMS  # 10x the queue capacity, in items
    samples, results = [], []
    for wave in range(8):
        outcome = await burst(busy_server.url, requests, ITEMS)
        samples.append(rss_kb(busy_server.process.pid))
        if wave >= 3:  # the first waves warm the allocator up to its working size
            results += outcome
    # The allocator steps RSS by up to ~100 MB once (arena and thread-pool growth; seen at any of the
    # first waves on a 2-core CI machine), so one step is allowed. A leak of more than ~1.6 MB per
    # request over the 100 measured requests would still exceed the bound.
    growth_mb = (max(samples[3:]) - max(samples[:3])) / 1024
    statuses = [status for status, _, _ in results]
    assert all(status in (200, 429) for status in statuses), statuses
    assert statuses.count(200) >= 2 and statuses.count(429) >= requests // 2
    for status, seconds, retry_after in results:
        if status == 429:
            assert retry_after is not None and int(retry_after) >= 1
            assert seconds < 2.0, f"a refusal took {seconds:.2f}s"
    assert growth_mb < 160, f"RSS grew {growth_mb:.1f} MB; samples (kB) {samples}"
    assert busy_server.process.poll() is None


async def test_sigterm_drains_and_completes_accepted_requests(minilm_dir):
    env = {"OMNIEMBED_DRAIN_SECONDS": "2"}
    with running_server(["--model", f"minilm={minilm_dir}"], env=env) as server:
        work = asyncio.ensure_future(burst(server.url, 12, 4, words=40))
        await asyncio.sleep(0.3)  # the burst is accepted and queued
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            ready = await http.get("/ready")
            late = await http.post("/v1/embeddings", json={"model": "minilm", "input": "during the drain"})
        results = await work
        exit_code = await asyncio.to_thread(server.process.wait, 60)
        log = server.output()
    assert ready.status_code == 503 and ready.json()["status"] == "draining"
    assert late.status_code == 200
    assert [status for status, _, _ in results] == [200] * 12
    # uvicorn alone re-raises the signal after its graceful shutdown (status -15, i.e. 143).
    assert exit_code == 0, log[-2000:]
    assert "draining" in log and "Finished server process" in log


async def test_requests_in_flight_when_the_listener_closes_still_complete(minilm_dir):
    with running_server(["--model", f"minilm={minilm_dir}"], env={"OMNIEMBED_DRAIN_SECONDS": "0"}) as server:
        work = asyncio.ensure_future(burst(server.url, 8, 8))
        await asyncio.sleep(0.5)  # accepted and queued: several seconds of work
        server.process.send_signal(signal.SIGINT)
        results = await work
        exit_code = await asyncio.to_thread(server.process.wait, 60)
        log = server.output()
    assert [status for status, _, _ in results] == [200] * 8
    assert max(seconds for _, seconds, _ in results) > 0.5  # some were still running at SIGINT
    assert exit_code == 0, log[-2000:]
