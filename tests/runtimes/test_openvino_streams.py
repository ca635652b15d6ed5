"""OpenVINO streams: a tower compiled for n streams serves n forward passes at once (one infer
request each), the batcher keeps that many batches in flight, and every request still gets its own
rows back."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from omniembed.cli import build_parser, settings_from
from omniembed.engine.engine import Engine
from omniembed.engine.items import ImageInput
from omniembed.engine.runner import RunnerLimits
from omniembed.settings import Settings
from tests.support.media import photo
from tests.support.runtimes import openvino_adapter

PHOTOS = ["chelsea", "coffee", "rocket", "astronaut"]


def streams_adapter(source, streams: int, models_dir):
    return openvino_adapter(source, models_dir, openvino_streams=streams)


async def serve_one_image_per_batch(adapter):
    """Four single-image requests, each its own batch; returns their rows and the most forward
    passes seen running at the same moment."""
    engine = Engine(limits=RunnerLimits(max_batch_images=1, batch_wait_ms=0))
    tower = adapter.image
    original = tower.forward
    lock, active, most = threading.Lock(), [0], [0]

    def observed(batch):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.2)  # long enough for a second pass to start if the batcher allows it
        try:
            return original(batch)
        finally:
            with lock:
                active[0] -= 1

    tower.forward = observed
    await engine.add(adapter)
    try:
        results = await asyncio.gather(
            *(engine.embed(adapter.spec.name, [ImageInput(image=photo(name))]) for name in PHOTOS)
        )
    finally:
        await engine.close()
    return np.stack([result.embeddings[0] for result in results]), most[0]


@pytest.mark.parametrize("streams", [1, 2])
def test_streams_set_each_towers_concurrency(tiny_clip_dir, tmp_path, streams):
    adapter = streams_adapter(tiny_clip_dir, streams, tmp_path)
    assert adapter.text.concurrency == streams
    assert adapter.image.concurrency == streams


async def test_two_streams_run_two_batches_at_once_with_the_same_rows(tiny_clip_dir, tmp_path):
    one, most_with_one = await serve_one_image_per_batch(streams_adapter(tiny_clip_dir, 1, tmp_path))
    two, most_with_two = await serve_one_image_per_batch(streams_adapter(tiny_clip_dir, 2, tmp_path))
    assert most_with_one == 1
    assert most_with_two == 2
    # Same weights, same inputs: concurrent infer requests must not mix up or overwrite rows.
    np.testing.assert_allclose(two, one, atol=1e-5)
    assert len({row.tobytes() for row in two}) == len(PHOTOS)


def test_streams_flag_and_environment(monkeypatch):
    args = build_parser().parse_args(["serve", "--openvino-streams", "3"])
    assert settings_from(args).openvino_streams == 3
    monkeypatch.setenv("OMNIEMBED_OPENVINO_STREAMS", "1")
    assert Settings().openvino_streams == 1
    monkeypatch.delenv("OMNIEMBED_OPENVINO_STREAMS")
    assert Settings().openvino_streams == 0  # OpenVINO's throughput hint picks


def test_the_default_lets_openvino_pick_the_streams(tiny_clip_dir, tmp_path):
    """0 = the throughput hint: one infer request per stream OpenVINO chose (2 on 2 cores)."""
    import openvino as ov

    adapter = streams_adapter(tiny_clip_dir, 0, tmp_path)
    compiled = ov.Core().compile_model(
        next(tmp_path.glob("compiled/*-image-openvino-fp32-*/model.xml")),
        "CPU",
        {"PERFORMANCE_HINT": "THROUGHPUT"},
    )
    assert adapter.image.concurrency == compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS") >= 1
