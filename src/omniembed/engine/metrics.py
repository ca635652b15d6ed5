"""Prometheus metrics of the engine and the HTTP layer, kept in one registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


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
