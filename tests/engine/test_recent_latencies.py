"""The sliding latency window behind `omniembed_http_request_recent_seconds`: exact nearest-rank
quantiles, bounded by count and by age, exported as a Prometheus summary."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from omniembed.engine.metrics import RECENT_REQUESTS, RECENT_SECONDS, RecentLatencies, nearest_rank


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _exported(window: RecentLatencies) -> dict[tuple[str, str | None], float]:
    registry = CollectorRegistry()
    registry.register(window)
    text = generate_latest(registry).decode()
    (family,) = text_string_to_metric_families(text)
    assert family.name == window.name and family.type == "summary"
    found = {}
    for sample in family.samples:
        kind = sample.name.removeprefix(window.name) or sample.labels["quantile"]
        found[(kind, sample.labels["route"])] = sample.value
    return found


def test_quantiles_are_exact_observations_not_bucket_bounds():
    window = RecentLatencies(clock=Clock())
    latencies = [index / 1000 for index in range(1, 101)]  # 1 ms .. 100 ms
    random.Random(7).shuffle(latencies)
    for seconds in latencies:
        window.observe("/v1/embeddings", seconds)
    window.observe("/health", 0.0042)
    found = _exported(window)
    assert found[("0.5", "/v1/embeddings")] == 0.05
    assert found[("0.9", "/v1/embeddings")] == 0.09
    assert found[("0.99", "/v1/embeddings")] == 0.099
    assert found[("_count", "/v1/embeddings")] == 100
    assert abs(found[("_sum", "/v1/embeddings")] - 5.05) < 1e-9
    assert found[("0.5", "/health")] == found[("0.99", "/health")] == 0.0042


def test_the_window_keeps_the_last_requests_of_the_last_minutes():
    clock = Clock()
    window = RecentLatencies(clock=clock)
    assert (window.size, window.seconds) == (RECENT_REQUESTS, RECENT_SECONDS) == (2048, 300.0)
    for _ in range(3000):
        window.observe("/a", 9.0)  # pushed out by count below
    for index in range(RECENT_REQUESTS):
        window.observe("/a", (index % 10) / 1000)
    assert _exported(window)[("_count", "/a")] == RECENT_REQUESTS
    assert _exported(window)[("0.99", "/a")] == 0.009
    clock.now += 200
    window.observe("/a", 5.0)
    clock.now += 150  # the first 2,048 are now 350 s old, the last one 150 s
    assert window.snapshot() == {"/a": [5.0]}
    clock.now += 200
    assert window.snapshot() == {} and _exported(window) == {}


def test_nearest_rank():
    assert nearest_rank([3.0], 0.99) == 3.0
    assert [nearest_rank([1.0, 2.0, 3.0, 4.0], q) for q in (0.5, 0.9, 0.99)] == [2.0, 4.0, 4.0]
