"""omniembed on Ray Serve: two replicas of the starter model answer as the single server does.

The Ray test runs tests/ray_data/serve_job.py in a private network namespace (Ray listens on every
interface; see test_embed_folder.py) and compares what came back through Serve's proxy with the
same requests sent to the app in-process. The other tests check the deployment's configuration,
the replica's health check and its outermost middleware without Ray.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx
import numpy as np
import pytest

from omniembed.api.app import create_app
from omniembed.engine.engine import Engine
from omniembed.server import head_limits
from omniembed.settings import Settings
from tests.conftest import make_settings
from tests.hardening.test_http_layer import MALFORMED
from tests.ray_data.support import missing, run_in_namespace

serve_module = pytest.importorskip("omniembed.ray.serve")

# The limits the single server's HTTP parser enforces, which the replicas now enforce themselves;
# Serve's proxy answers every other malformed head with its own text/plain 400.
HEAD_LIMITS = (
    "header of 100 KB",
    "600 headers",
    "1 MB Authorization",
    "X-Request-Id of 100 KB",
    "path of 10 KB",
)


async def single_server(client: httpx.AsyncClient, method: str, path: str, body: Any) -> dict[str, Any]:
    response = await client.request(method, path, json=body)
    return {"status": response.status_code, "body": response.json()}


def assert_same_vectors(served: dict[str, Any], single: dict[str, Any]) -> None:
    got = np.asarray([row["embedding"] for row in served["body"]["data"]], dtype=np.float32)
    expected = np.asarray([row["embedding"] for row in single["body"]["data"]], dtype=np.float32)
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert got.shape == expected.shape and cosine.min() >= 0.9999
    np.testing.assert_allclose(got, expected, atol=1e-6)
    strip = {key: value for key, value in served["body"].items() if key != "data"}
    assert strip == {key: value for key, value in single["body"].items() if key != "data"}


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
async def test_two_replicas_answer_as_the_single_server(
    tmp_path, models_cache, starter_client, starter_engine
):
    from tests.ray_data.serve_job import API_KEY, exchanges

    report = tmp_path / "serve.json"
    script = f'ip link set lo up && exec {sys.executable} -m tests.ray_data.serve_job "$0" "$1"'
    done = run_in_namespace(script, [str(models_cache), str(report)])
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    served = json.loads(report.read_text())
    print(
        "Ray Serve timings:", served["deployed_seconds"], served["seconds"], served["drain"]["stop_seconds"]
    )

    assert len(set(served["spread"])) == 2 and served["spread_statuses"] == [200], served["spread"]
    for name, (method, path, body) in exchanges().items():
        single = await single_server(starter_client, method, path, body)
        assert served[name]["request_ids"] and len(served[name]["request_ids"]) == 1, name
        if name in ("texts", "image"):
            assert served[name]["status"] == single["status"] == 200
            assert_same_vectors(served[name], single)
        else:
            assert (served[name]["status"], served[name]["body"]) == (single["status"], single["body"]), name
    assert served["broken_image"]["status"] == 400 and served["cohere_empty"]["status"] == 400

    keyed = create_app(make_settings([], api_keys=[API_KEY]), engine=starter_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=keyed), base_url="http://single") as http:
        refused = await single_server(http, "POST", "/v1/embeddings", {"input": "a cat"})
    assert refused["status"] == 401 and (served["no_key"]["status"], served["no_key"]["body"]) == (
        refused["status"],
        refused["body"],
    )

    limits = served["limits"]
    for name in HEAD_LIMITS:
        assert limits[name]["status"] == MALFORMED[name][1], name
        assert limits[name]["type"] == "application/json", name
        assert json.loads(limits[name]["body"])["error"]["code"], name
    # Graceful drain: a request in flight at SIGTERM is answered in full, then the command exits 0.
    drain = served["drain"]
    assert drain["status"] == 200 and drain["vectors"] == 200 and drain["after_signal"], drain
    assert drain["exit"] == 0, served["log_tail"]

    large = json.dumps({"input": "word " * 4_000_000})
    single = await starter_client.post(
        "/v1/embeddings", content=large, headers={"content-type": "application/json"}
    )
    assert (limits["body_20mb"]["status"], limits["body_20mb"]["body"]) == (single.status_code, single.json())


def test_fixed_replicas_and_autoscaling_bounds():
    settings = Settings(graceful_timeout_s=12)
    fixed = serve_module.deployment_options(settings, replicas=3, num_cpus=2, num_gpus=0.5)
    assert fixed["num_replicas"] == 3 and "autoscaling_config" not in fixed
    assert fixed["ray_actor_options"] == {"num_cpus": 2, "num_gpus": 0.5}
    assert fixed["graceful_shutdown_timeout_s"] == 12
    assert fixed["max_ongoing_requests"] == serve_module.MAX_ONGOING_REQUESTS == 64
    assert serve_module.deployment_options(settings)["num_replicas"] == 1

    scaled = serve_module.deployment_options(
        settings, min_replicas=0, max_replicas=4, target_ongoing_requests=8
    )
    assert "num_replicas" not in scaled
    assert scaled["autoscaling_config"] == {
        "min_replicas": 0,
        "max_replicas": 4,
        "initial_replicas": 1,
        "target_ongoing_requests": 8,
    }
    assert (
        serve_module.deployment_options(settings, max_replicas=3)["autoscaling_config"]["min_replicas"] == 1
    )
    assert (
        serve_module.deployment_options(settings, min_replicas=2)["autoscaling_config"]["max_replicas"] == 2
    )


@pytest.mark.parametrize(
    ("scaling", "message"),
    [
        ({"replicas": 0}, "at least 1"),
        ({"replicas": 2, "max_replicas": 4}, "not both"),
        ({"min_replicas": 3, "max_replicas": 2}, "min_replicas <= max_replicas"),
        ({"min_replicas": 0, "max_replicas": 0}, "max_replicas >= 1"),
        ({"max_ongoing_requests": 0}, "must be positive"),
    ],
)
def test_bad_scaling_is_refused(scaling, message):
    with pytest.raises(ValueError, match=message):
        serve_module.deployment_options(Settings(), **scaling)


def test_app_builder_takes_serve_run_arguments(tiny_clip_dir):
    application = serve_module.app_builder(
        {"models": f"clip={tiny_clip_dir}", "api_keys": "k1,k2", "max_replicas": "3", "num_cpus": "0.5"}
    )
    deployment = application._bound_deployment  # what `serve run` deploys
    assert deployment.name == "omniembed" and deployment.ray_actor_options["num_cpus"] == 0.5
    assert deployment._deployment_config.autoscaling_config.max_replicas == 3
    (settings,) = deployment.init_args
    assert settings.models == [f"clip={tiny_clip_dir}"] and settings.api_keys == ["k1", "k2"]
    with pytest.raises(ValueError, match="unknown argument"):
        serve_module.app_builder({"replica": "2"})


async def test_health_check_follows_the_engine_and_the_drain(engine):
    assert serve_module.replica_problem(None) == "the app is not built yet"
    empty = create_app(make_settings(["unused"]), engine=Engine()).state.services
    assert "not loaded" in serve_module.replica_problem(empty)
    services = create_app(make_settings(["unused"]), engine=engine).state.services
    assert serve_module.replica_problem(services) is None
    services.draining = True
    assert serve_module.replica_problem(services) == "the replica is draining"


async def test_replica_layer_names_the_replica_and_bounds_the_head(engine, app_settings):
    app = create_app(app_settings, engine=engine)
    refused: list[int] = []
    limits = head_limits(app_settings)
    app.add_middleware(serve_module.BehindServe, replica="r1", limits=limits, refused=refused.append)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica") as http:
        # Serve's proxy puts its request id on the request and on the response: the app's echo goes.
        ok = await http.get("/health", headers={"x-request-id": "proxy-id"})
        assert ok.headers["x-omniembed-replica"] == "r1" and ok.headers.get_list("x-request-id") == []
        big = await http.get("/health", headers={"x-big": "a" * 9000})
        many = await http.get("/health", headers={f"x-h{index}": "v" for index in range(120)})
        long_path = await http.get("/" + "a" * 9000)
    assert [big.status_code, many.status_code, long_path.status_code] == [431, 431, 414]
    assert [big.json()["error"]["code"], many.json()["error"]["code"]] == [
        "header_too_large",
        "too_many_headers",
    ]
    assert long_path.json()["error"]["code"] == "uri_too_long" and refused == [431, 431, 414]
    assert big.headers["x-omniembed-replica"] == "r1"
