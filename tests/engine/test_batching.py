"""The scheduler really batches, maps results back to the right request, drops cancelled items,
and refuses work beyond its queue bound instead of queueing without limit."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.items import ImageInput, TextInput
from omniembed.engine.runner import RunnerLimits
from omniembed.errors import OverloadedError
from omniembed.models.registry import resolve
from tests.support.media import photo


async def test_concurrent_single_item_requests_share_forward_passes(engine: Engine):
    batcher = engine.runner("minilm").batchers["text"]
    texts = [f"sentence number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(24)]
    solo = {t: (await engine.embed("minilm", [TextInput(t)])).embeddings[0] for t in texts[:3]}
    before = batcher.forward_passes
    results = await asyncio.gather(*(engine.embed("minilm", [TextInput(t)]) for t in texts))
    passes = batcher.forward_passes - before
    assert passes < len(texts), f"{passes} forward passes for {len(texts)} concurrent requests"
    # Each request got its own vector back, not a neighbour's.
    for text, result in zip(texts, results, strict=True):
        if text in solo:
            np.testing.assert_allclose(result.embeddings[0], solo[text], atol=1e-5)
    vectors = np.stack([r.embeddings[0] for r in results])
    assert len({vector.tobytes() for vector in vectors}) == len(texts)


async def test_batches_are_counted_in_metrics(engine: Engine):
    from prometheus_client import generate_latest

    await asyncio.gather(*(engine.embed("tiny-clip", [TextInput(f"text {i}")]) for i in range(8)))
    exposition = generate_latest(engine.metrics.registry).decode()
    assert 'omniembed_forward_passes_total{modality="text",model="tiny-clip"}' in exposition
    assert "omniembed_batch_size_bucket" in exposition


@pytest.fixture
async def gated_engine(tiny_clip_dir):
    """An engine whose device thread can be held, to observe queueing deterministically."""
    built = Engine(limits=RunnerLimits(max_queue_items=6, batch_wait_ms=1))
    adapter = load_model(resolve(str(tiny_clip_dir)))
    gate = threading.Event()
    gate.set()
    original = adapter.text.forward
    calls: list[int] = []

    def held_forward(batch):
        gate.wait(timeout=10)
        calls.append(batch["input_ids"].shape[0])
        return original(batch)

    adapter.text.forward = held_forward
    await built.add(adapter)
    yield built, gate, calls, adapter.spec.name
    gate.set()
    await built.close()


async def test_cancelled_request_items_never_reach_forward(gated_engine):
    engine, gate, calls, name = gated_engine
    calls.clear()
    gate.clear()
    blocker = asyncio.create_task(engine.embed(name, [TextInput("occupies the device")]))
    await asyncio.sleep(0.05)  # the blocker's batch is now inside forward, held by the gate
    doomed = asyncio.create_task(engine.embed(name, [TextInput(f"doomed {i}") for i in range(4)]))
    await asyncio.sleep(0.05)
    doomed.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    await blocker
    with pytest.raises(asyncio.CancelledError):
        await doomed
    survivor = await engine.embed(name, [TextInput("after")])
    assert survivor.embeddings.shape[0] == 1
    assert calls == [1, 1], f"forward batch sizes {calls}: cancelled items were forwarded"


async def test_full_queue_refuses_fast_with_retry_after(gated_engine):
    engine, gate, _, name = gated_engine
    gate.clear()
    admitted = [
        asyncio.create_task(engine.embed(name, [TextInput(f"t{i}") for i in range(3)])) for i in range(2)
    ]
    await asyncio.sleep(0.05)
    with pytest.raises(OverloadedError) as refused:
        await engine.embed(name, [TextInput("one too many")])
    assert refused.value.retry_after >= 1
    gate.set()
    results = await asyncio.gather(*admitted)
    assert all(r.embeddings.shape == (3, 16) for r in results)
    # Room again once the admitted work finished.
    assert (await engine.embed(name, [TextInput("fits now")])).embeddings.shape == (1, 16)


async def test_images_and_texts_of_one_request_keep_their_order(engine: Engine):
    cat = ImageInput(image=photo("chelsea"))
    mixed = await engine.embed("tiny-clip", [TextInput("first"), cat, TextInput("third")])
    alone = [
        (await engine.embed("tiny-clip", [TextInput("first")])).embeddings[0],
        (await engine.embed("tiny-clip", [cat])).embeddings[0],
        (await engine.embed("tiny-clip", [TextInput("third")])).embeddings[0],
    ]
    np.testing.assert_allclose(mixed.embeddings, np.stack(alone), atol=1e-5)


async def until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_a_small_request_is_not_stuck_behind_a_large_one(tiny_clip_dir):
    """Requests take turns within batches: one image queued behind a 16-image request rides in the
    next batch, instead of waiting for all four of the large request's batches."""
    built = Engine(limits=RunnerLimits(max_batch_images=4, batch_wait_ms=1))
    adapter = load_model(resolve(str(tiny_clip_dir)))
    gate = threading.Event()
    original = adapter.image.forward
    sizes: list[int] = []

    def held_forward(batch):
        gate.wait(timeout=10)
        sizes.append(len(batch))
        return original(batch)

    adapter.image.forward = held_forward
    gate.set()
    await built.add(adapter)  # its warm-up passes go through
    name, picture = adapter.spec.name, photo("chelsea")
    try:
        sizes.clear()
        gate.clear()
        blocker = asyncio.create_task(built.embed(name, [ImageInput(image=picture)]))
        await asyncio.sleep(0.1)  # the blocker's batch holds the device
        waiting = built.runner(name).batchers["image"]
        large = asyncio.create_task(built.embed(name, [ImageInput(image=picture)] * 16))
        await until(lambda: waiting.pending == 16)
        small = asyncio.create_task(built.embed(name, [ImageInput(image=picture)]))
        await until(lambda: waiting.pending == 17)
        gate.set()
        done, _ = await asyncio.wait({large, small}, return_when=asyncio.FIRST_COMPLETED)
        assert small in done and large not in done
        await asyncio.gather(blocker, large)
        # blocker, then [large, small, large, large], then the rest of the large request.
        assert sizes[:2] == [1, 4] and sum(sizes) == 18
        np.testing.assert_allclose(small.result().embeddings[0], blocker.result().embeddings[0], atol=1e-5)
    finally:
        gate.set()
        await built.close()


async def test_waiting_items_are_shared_among_idle_passes(tiny_clip_dir):
    """With two passes free (OpenVINO streams), eight waiting images go four and four, so both
    cores work, instead of eight in the first pass and none in the second."""
    built = Engine(limits=RunnerLimits(batch_wait_ms=300))  # all eight arrive while it waits
    adapter = load_model(resolve(str(tiny_clip_dir)))
    adapter.image.concurrency = 2
    original = adapter.image.forward
    gate = threading.Event()
    gate.set()
    sizes: list[int] = []

    def held_forward(batch):
        sizes.append(len(batch))
        gate.wait(timeout=10)  # passes stay busy until both batches have formed
        return original(batch)

    adapter.image.forward = held_forward
    await built.add(adapter)
    batcher = built.runner(adapter.spec.name).batchers["image"]
    picture = photo("chelsea")
    # Passes of 4 set the company the next batch waits for (the warm-up's pass of 1 would let
    # the first two singles go at once, on the two idle passes).
    await built.embed(adapter.spec.name, [ImageInput(image=picture)] * 8)
    try:
        sizes.clear()
        gate.clear()
        requests = [built.embed(adapter.spec.name, [ImageInput(image=picture)]) for _ in range(8)]
        served = asyncio.gather(*requests)
        await until(lambda: sum(sizes) == 8 or (len(sizes) == 1 and batcher.pending == 0))
        gate.set()
        await served
        assert sorted(sizes) == [4, 4], sizes
    finally:
        gate.set()
        await built.close()


async def test_an_idle_pass_takes_its_share_of_all_the_work_not_all_that_waits(tiny_clip_dir):
    """One pass busy with 1 image, 14 waiting: the pass that frees up takes 8 (half of the 15 in
    the system, rounded up) and leaves 6 for the busy pass's next turn. Taking all 14 locks two
    streams into a lopsided cycle (one runs 14-item batches, the other 1-2 item batches at several
    times the cost per item), which carried 15 % of single-caption traffic at concurrency 16."""
    built = Engine(limits=RunnerLimits(batch_wait_ms=300))  # all fourteen arrive while it waits
    adapter = load_model(resolve(str(tiny_clip_dir)))
    adapter.image.concurrency = 2
    original = adapter.image.forward
    gates = [threading.Event() for _ in range(3)]  # first pass, second pass, every later pass
    sizes: list[int] = []

    def held_forward(batch):
        index = len(sizes)
        sizes.append(len(batch))
        gates[min(index, 2)].wait(timeout=10)
        return original(batch)

    adapter.image.forward = held_forward
    for gate in gates:
        gate.set()
    await built.add(adapter)
    name, picture = adapter.spec.name, photo("chelsea")
    batcher = built.runner(name).batchers["image"]
    try:
        sizes.clear()
        for gate in gates:
            gate.clear()
        pair = asyncio.create_task(built.embed(name, [ImageInput(image=picture)] * 2))
        await until(lambda: sizes == [1, 1])  # split over the two idle passes, both held
        singles = asyncio.gather(*(built.embed(name, [ImageInput(image=picture)]) for _ in range(14)))
        await until(lambda: batcher.pending == 14)
        gates[0].set()  # the first pass frees up with 14 waiting and 1 image still in flight
        await until(lambda: len(sizes) == 3 and batcher.pending == 14 - sizes[2])
        gates[1].set()  # the second frees up with the 8 still in flight: it takes the other 6
        await until(lambda: len(sizes) == 4 or batcher.pending == 0)
        gates[2].set()
        await asyncio.gather(pair, singles)
        assert sizes == [1, 1, 8, 6], sizes
    finally:
        for gate in gates:
            gate.set()
        await built.close()


async def test_a_batch_closes_once_as_many_items_wait_as_the_last_one_carried(tiny_clip_dir):
    """The batch wait ends early when the company the last pass implies has arrived (its clients
    came back), and not before: with a 10 s wait, a pair after a pass of two goes at once, while a
    lone image after it waits for its partner."""
    built = Engine(limits=RunnerLimits(batch_wait_ms=10_000))
    adapter = load_model(resolve(str(tiny_clip_dir)))
    sizes: list[int] = []
    original = adapter.image.forward

    def counted_forward(batch):
        sizes.append(len(batch))
        return original(batch)

    adapter.image.forward = counted_forward
    await built.add(adapter)  # its warm-up pass carried one image
    name, picture = adapter.spec.name, photo("chelsea")
    batcher = built.runner(name).batchers["image"]
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        await built.embed(name, [ImageInput(image=picture)] * 2)  # 2 >= 1 waiting: no wait
        lone = asyncio.create_task(built.embed(name, [ImageInput(image=picture)]))
        await until(lambda: batcher.pending == 1)
        await asyncio.sleep(0.3)
        assert batcher.pending == 1 and not lone.done()  # 1 < 2: still waiting for company
        await asyncio.gather(lone, built.embed(name, [ImageInput(image=picture)]))
        assert loop.time() - started < 5, "a batch waited out the 10 s deadline"
        assert sizes[-2:] == [2, 2], sizes
    finally:
        await built.close()


async def test_short_texts_tokenize_on_the_event_loop(engine: Engine):
    """A caption tokenizes faster than a hop to a worker thread; long inputs still go to the pool."""
    from concurrent.futures import ThreadPoolExecutor

    class Counting(ThreadPoolExecutor):
        submitted = 0

        def submit(self, *args, **kwargs):
            Counting.submitted += 1
            return super().submit(*args, **kwargs)

    runner = engine.runner("tiny-clip")
    original, runner._preprocess_pool = runner._preprocess_pool, Counting(1)
    try:
        await engine.embed("tiny-clip", [TextInput("a photo of a cat")])
        assert Counting.submitted == 0
        await engine.embed("tiny-clip", [TextInput("a long passage " * 60)])
        assert Counting.submitted == 1
    finally:
        runner._preprocess_pool.shutdown()
        runner._preprocess_pool = original
