"""`/metrics` carries exact recent latency percentiles per route, fed by the request middleware,
beside the histogram; scrapes of /metrics and the console's static files stay out of them."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from omniembed.api.app import create_app
from omniembed.engine.engine import Engine

FAMILY = "omniembed_http_request_recent_seconds"


async def test_recent_percentiles_per_route(app_settings):
    empty = Engine()  # its own metrics: nothing else has been counted
    app = create_app(app_settings, engine=empty)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        for _ in range(7):
            assert (await http.get("/health")).status_code == 200
        await http.get("/v1/models/missing-model")
        await http.get("/")
        await http.get("/console/app.js")
        await http.get("/metrics")
        text = (await http.get("/metrics")).text
    await empty.close()
    (family,) = [f for f in text_string_to_metric_families(text) if f.name == FAMILY]
    assert family.type == "summary"
    samples = {(s.name, s.labels.get("route"), s.labels.get("quantile")): s.value for s in family.samples}
    assert {route for _, route, _ in samples} == {"/health", "/v1/models/{model_id:path}"}
    assert samples[(f"{FAMILY}_count", "/health", None)] == 7
    assert samples[(f"{FAMILY}_count", "/v1/models/{model_id:path}", None)] == 1
    health = [samples[(FAMILY, "/health", q)] for q in ("0.5", "0.9", "0.99")]
    assert 0 < health[0] <= health[1] <= health[2] <= samples[(f"{FAMILY}_sum", "/health", None)]
    assert "omniembed_http_request_seconds_bucket" in text  # the histogram stays
