"""Property-based tests of every operation in the app's own OpenAPI schema (in-process ASGI).

Bounded: a fixed number of generated examples per operation, schema-conforming ones for every
operation and schema-violating ones for every operation with a request body. No generated request
may produce a 5xx, and every response must match the documented status codes, content types and
schemas (errors included: each route's own error shape).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from omniembed.api.app import create_app
from omniembed.settings import Settings


@pytest.fixture(scope="module")
def api_schema(tiny_clip_dir, minilm_dir, models_cache):
    # The app owns its engine: schemathesis starts the lifespan on its own event-loop thread.
    app = create_app(
        Settings(
            models=[f"tiny-clip={tiny_clip_dir}", f"minilm={minilm_dir}"],
            models_dir=models_cache,
            max_items_per_request=64,
            batch_wait_ms=1,
        )
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_generated_requests(api_schema):
    # One test for both modes: the app's lifespan (and its engine) lasts for one test.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    # Schema-violating requests for the bodies (paths and options alone cannot be made invalid).
    negative = [operation for operation in operations if operation.body]
    runs = [(GenerationMode.POSITIVE, op) for op in operations] + [
        (GenerationMode.NEGATIVE, op) for op in negative
    ]
    for mode, operation in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def run(case):
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Exception as error:
            where = f"{mode.value} {operation.method.upper()} {operation.path}"
            raise AssertionError(f"{where}: {error}") from error
