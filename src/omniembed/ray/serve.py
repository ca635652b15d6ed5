"""omniembed on Ray Serve: the HTTP app of `omniembed serve`, as N replicas behind Serve's proxy.

Each replica builds `create_app(settings)` when Ray starts it (Serve's late-bound ingress), and
Serve runs the app's lifespan there: the models load once per replica, before Serve routes it a
request, and each replica batches its own requests. Routes, errors, API keys and results are those
of the single server; a response says which replica served it (`x-omniembed-replica`).

    application(settings, replicas=2)  # a Serve Application, for `serve.run`
    serve run omniembed.ray.serve:app_builder models=omniembed/starter replicas=2
    omniembed serve --ray-serve --replicas 2

Needs the `ray` extra (`pip install "omniembed[ray]"`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

import orjson
from ray import serve
from ray.serve import Application
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omniembed.api.app import create_app
from omniembed.api.state import Services
from omniembed.errors import ConfigurationError
from omniembed.server import count_refusals, head_limits
from omniembed.settings import Settings
from omniembed.wire import HeadLimits, RefusedError, header_refusal, target_refusal

logger = logging.getLogger(__name__)

APP_NAME = "omniembed"
REPLICA_HEADER = b"x-omniembed-replica"
REQUEST_ID_HEADER = b"x-request-id"
# A replica's batcher can only batch the requests Serve lets through to it. Serve's default of 5
# would cap every forward pass at 5 single-item requests; 64 keeps two full default image batches
# (max_batch_images = 32) at the replica, one running while the next fills. The engine's own
# admission control (max_queue_items, 429) still bounds what a replica accepts.
MAX_ONGOING_REQUESTS = 64
# Autoscaling adds a replica once a replica averages this many requests in flight: one full batch,
# so a replica is scaled out when it is busy batching, not merely when two requests overlap.
TARGET_ONGOING_REQUESTS = 32
# How often a stopping replica checks for in-flight requests; the graceful timeout bounds the wait.
DRAIN_POLL_S = 1.0
HEALTH_CHECK_PERIOD_S = 5.0
# A replica whose models cannot load fails the same way every time: give up after a few tries
# instead of Serve's 20 (each one loads the models again).
CONSTRUCTOR_RETRIES = 3


def replica_problem(services: Services | None) -> str | None:
    """Why a replica cannot serve, or None: what Serve's health check reports."""
    if services is None:
        return "the app is not built yet"
    if services.draining:
        return "the replica is draining"
    if not services.engine.ready:
        return "the models are not loaded and warmed up"
    return None


def head_refusal(scope: Scope, limits: HeadLimits) -> RefusedError | None:
    """The single server's request-head limits (wire.py), applied to what Serve's proxy let through:
    its parser has none of its own (a 10 MB header or 2000 headers reach the app)."""
    query = scope.get("query_string") or b""
    target = len(scope.get("raw_path") or scope["path"].encode()) + (len(query) + 1 if query else 0)
    refusal = target_refusal(target, limits)
    total = 0
    for count, (name, value) in enumerate(scope["headers"], start=1):
        if refusal is not None:
            break
        total += len(name) + len(value)
        refusal = header_refusal(len(name) + len(value), count, total, limits)
    return refusal


class BehindServe:
    """The outermost layer of a replica's app: the head limits the single server's parser enforces,
    the replica's name on every response, and one x-request-id (the proxy adds its own, the same
    id the app read from the request, so the app's copy would repeat it)."""

    def __init__(
        self, app: ASGIApp, replica: str, limits: HeadLimits, refused: Callable[[int], None]
    ) -> None:
        self.app = app
        self.replica = replica.encode()
        self.limits = limits
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = head_refusal(scope, self.limits)
        if refusal is not None:
            await self.refuse(refusal, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER)

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k != REQUEST_ID_HEADER or v != given]
                message = {**message, "headers": [*kept, (REPLICA_HEADER, self.replica)]}
            await send(message)

        await self.app(scope, receive, named)

    async def refuse(self, refusal: RefusedError, send: Send) -> None:
        self.refused(refusal.status)
        error = {
            "message": refusal.message,
            "type": "invalid_request_error",
            "param": None,
            "code": refusal.code,
        }
        body = orjson.dumps({"error": error})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # as the single server: a client sending such heads is suspect
            (REPLICA_HEADER, self.replica),
        ]
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@serve.deployment
@serve.ingress()
class OmniEmbedReplica:
    """One replica: the app is built in the replica process, never pickled from the driver."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: Services | None = None
        logging.getLogger("omniembed").setLevel(settings.log_level.upper())

    def __serve_build_asgi_app__(self) -> ASGIApp:
        app = create_app(self.settings)
        services: Services = app.state.services
        app.add_middleware(
            BehindServe,
            replica=serve.get_replica_context().replica_id.unique_id,
            limits=head_limits(self.settings),
            refused=count_refusals(services.engine.metrics),
        )
        self.services = services
        return app

    def check_health(self) -> None:
        problem = replica_problem(self.services)
        if problem:
            raise RuntimeError(problem)


def deployment_options(
    settings: Settings,
    *,
    replicas: int | None = None,
    min_replicas: int | None = None,
    max_replicas: int | None = None,
    target_ongoing_requests: float = TARGET_ONGOING_REQUESTS,
    max_ongoing_requests: int = MAX_ONGOING_REQUESTS,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
) -> dict[str, Any]:
    """The `Deployment.options` of an omniembed deployment: a fixed replica count (1 by default),
    or autoscaling bounds (a missing lower bound is 1, a missing upper bound the lower one)."""
    options: dict[str, Any] = {
        "name": APP_NAME,
        "max_ongoing_requests": max_ongoing_requests,
        "graceful_shutdown_wait_loop_s": DRAIN_POLL_S,
        "graceful_shutdown_timeout_s": settings.graceful_timeout_s,
        "health_check_period_s": HEALTH_CHECK_PERIOD_S,
        "max_constructor_retry_count": CONSTRUCTOR_RETRIES,
        "ray_actor_options": {"num_cpus": num_cpus, "num_gpus": num_gpus},
    }
    if max_ongoing_requests < 1 or target_ongoing_requests <= 0:
        raise ValueError("max_ongoing_requests and target_ongoing_requests must be positive")
    if min_replicas is None and max_replicas is None:
        if replicas is not None and replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {replicas}")
        return {**options, "num_replicas": replicas or 1}
    if replicas is not None:
        raise ValueError("give replicas or autoscaling bounds (min_replicas, max_replicas), not both")
    low = min_replicas if min_replicas is not None else 1
    high = max_replicas if max_replicas is not None else max(low, 1)
    if low < 0 or high < max(low, 1):
        raise ValueError(f"need 0 <= min_replicas <= max_replicas and max_replicas >= 1, not {low}..{high}")
    autoscaling = {
        "min_replicas": low,
        "max_replicas": high,
        "initial_replicas": max(low, 1),  # one warm replica even when idle may scale to zero
        "target_ongoing_requests": target_ongoing_requests,
    }
    return {**options, "autoscaling_config": autoscaling}


def application(settings: Settings | None = None, **scaling: Any) -> Application:
    """A Serve Application of the omniembed app; `scaling` takes `deployment_options`' keywords."""
    settings = settings or Settings()
    options = deployment_options(settings, **scaling)
    # serve.ingress's decorator is typed as returning a plain callable: mypy loses the Deployment.
    return OmniEmbedReplica.options(**options).bind(settings)  # type: ignore[attr-defined]


SCALING_ARGUMENTS = {
    "replicas": int,
    "min_replicas": int,
    "max_replicas": int,
    "target_ongoing_requests": float,
    "max_ongoing_requests": int,
    "num_cpus": float,
    "num_gpus": float,
}


def app_builder(args: dict[str, str]) -> Application:
    """`serve run omniembed.ray.serve:app_builder key=value ...`: scaling keys (`SCALING_ARGUMENTS`)
    and any setting by field name (`models=a,b`, `api_keys=k`); settings absent here come from the
    `OMNIEMBED_*` environment as for `omniembed serve`. The proxy's host and port are `serve run`'s."""
    unknown = set(args) - set(SCALING_ARGUMENTS) - set(Settings.model_fields)
    if unknown:
        raise ValueError(f"unknown argument(s): {', '.join(sorted(unknown))}")
    scaling = {key: SCALING_ARGUMENTS[key](value) for key, value in args.items() if key in SCALING_ARGUMENTS}
    overrides: dict[str, Any] = {key: value for key, value in args.items() if key in Settings.model_fields}
    settings = Settings(**overrides)  # pydantic parses the strings as the environment's values
    return application(settings, **scaling)


def serve_until_signalled(settings: Settings, address: str | None = None, **scaling: Any) -> None:
    """`omniembed serve --ray-serve`: start (or join) Ray, deploy, serve until SIGINT/SIGTERM, then
    stop the replicas gracefully (each finishes its in-flight requests); a second signal skips that.
    A deployment that fails (models that cannot load) raises ConfigurationError."""
    import ray

    app = application(settings, **scaling)  # bad replica counts fail before Ray starts
    started = address is None
    # A Ray started here is this command's alone: no dashboard (one more server to start and expose).
    ray.init(address=address, include_dashboard=False if started else None, logging_level=logging.WARNING)
    stop_on_signals()  # after ray.init, which installs handlers of its own
    try:
        serve.start(http_options={"host": settings.host, "port": settings.port})
        serve.run(app, name=APP_NAME, route_prefix="/")
        logger.info("serving on http://%s:%s through Ray Serve", settings.host, settings.port)
        threading.Event().wait()
    except KeyboardInterrupt:
        logger.info("stopping the replicas (in-flight requests finish)")
    except RuntimeError as error:  # Serve's "Deploying application ... failed"
        raise ConfigurationError(f"Ray Serve could not deploy omniembed: {error}") from error
    finally:
        shut_down(started)
        if started:
            ray.shutdown()


def stop_on_signals() -> None:
    """SIGTERM stops the service as SIGINT does (KeyboardInterrupt, even while deploying); the next
    signal of either kind acts as it would without us: no second graceful drain."""

    def handle(_number: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, handle)


def shut_down(own_cluster: bool) -> None:
    """Delete the application first: Serve stops routing to it and waits for each replica's
    in-flight requests (up to the graceful timeout) while the proxy still holds their connections;
    `serve.shutdown` alone kills the proxy at once and cuts them. On a joined cluster, the rest of
    Serve (its proxies, other applications) belongs to others and stays."""
    serve.delete(APP_NAME)
    if own_cluster:
        serve.shutdown()
