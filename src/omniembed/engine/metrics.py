"""Prometheus metrics of the engine and the HTTP layer, kept in one registry per app.

Request latency is exported twice: the histogram `omniembed_http_request_seconds` (cumulative,
aggregatable across replicas, but its quantiles are only bucket bounds), and
`omniembed_http_request_recent_seconds{route, quantile}`, a summary whose p50/p90/p99 are exact
over a sliding window per route: the last RECENT_REQUESTS requests, and of those only the ones from
the last RECENT_SECONDS (whichever is fewer), computed at scrape time. A quantile is the
nearest-rank one: the smallest latency with at least that share of the window at or below it (a
latency a request really had). Its `_count` and `_sum` cover the window, not the process's life.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import Metric

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RECENT_REQUESTS = 2_048
RECENT_SECONDS = 300.0
QUANTILES = (0.5, 0.9, 0.99)


def nearest_rank(ordered: list[float], quantile: float) -> float:
    """The smallest value with at least `quantile` of `ordered` (ascending, non-empty) at or below it."""
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


class RecentLatencies:
    """A bounded window of recent latencies per route, exported as an exact summary (a collector:
    prometheus_client's Summary exports no quantiles). Routes are templates, so they are few."""

    name = "omniembed_http_request_recent_seconds"

    def __init__(
        self,
        size: int = RECENT_REQUESTS,
        seconds: float = RECENT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size, self.seconds, self.clock = size, seconds, clock
        self._windows: dict[str, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()  # scrapes may come from another thread than requests

    def observe(self, route: str, seconds: float) -> None:
        with self._lock:
            window = self._windows.get(route)
            if window is None:
                window = self._windows[route] = deque(maxlen=self.size)
            window.append((self.clock(), seconds))

    def snapshot(self) -> dict[str, list[float]]:
        """Each route's latencies still in the window, ascending (routes with none left out)."""
        oldest = self.clock() - self.seconds
        with self._lock:
            for window in self._windows.values():
                while window and window[0][0] < oldest:
                    window.popleft()
            kept = {route: [seconds for _, seconds in w] for route, w in self._windows.items() if w}
        return {route: sorted(values) for route, values in kept.items()}

    def describe(self) -> Iterator[Metric]:
        yield Metric(self.name, self._help(), "summary")

    def collect(self) -> Iterator[Metric]:
        family = Metric(self.name, self._help(), "summary")
        for route, ordered in sorted(self.snapshot().items()):
            for quantile in QUANTILES:
                labels = {"route": route, "quantile": str(quantile)}
                family.add_sample(self.name, labels, nearest_rank(ordered, quantile))
            family.add_sample(f"{self.name}_count", {"route": route}, float(len(ordered)))
            family.add_sample(f"{self.name}_sum", {"route": route}, math.fsum(ordered))
        yield family

    def _help(self) -> str:
        return (
            f"HTTP request latency, exact quantiles over each route's last {self.size} requests "
            f"within {self.seconds:g}s"
        )


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.forward_passes = Counter(
            "omniembed_forward_passes", "Forward passes run", ["model", "modality"], registry=r
        )
        self.batch_size = Histogram(
            "omniembed_batch_size",
            "Items per forward pass",
            ["model", "modality"],
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.items = Counter(
            "omniembed_items", "Items embedded, by input modality", ["model", "modality"], registry=r
        )
        self.queue_depth = Gauge(
            "omniembed_queue_items", "Admitted items not finished yet", ["model"], registry=r
        )
        self.rejected = Counter(
            "omniembed_overload_rejections",
            "Requests refused because the queue was full",
            ["model"],
            registry=r,
        )
        self.model_load_seconds = Gauge(
            "omniembed_model_load_seconds", "Seconds spent loading and warming a model", ["model"], registry=r
        )
        self.requests = Counter(
            "omniembed_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "omniembed_http_request_seconds",
            "HTTP request latency",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.recent_latency = RecentLatencies()
        r.register(self.recent_latency)
