"""Running the app under uvicorn with a graceful, load-balancer-friendly shutdown.

On SIGTERM (or SIGINT) the service first drains: `/ready` answers 503 for `drain_seconds` while
requests keep being served, so a load balancer stops sending new work; then the listener closes,
in-flight requests get `graceful_timeout_s` to finish, and the models are released. A second signal
skips the drain. After a clean drain the process exits 0 (uvicorn would re-raise the signal, which
process managers read as a crash); if in-flight requests had to be cancelled it still dies by the
signal.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn

from omniembed.api.app import create_app
from omniembed.api.state import Services
from omniembed.engine.metrics import Metrics
from omniembed.settings import Settings
from omniembed.wire import HeadLimits, protocol_class

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, services: Services, drain_seconds: float) -> None:
        super().__init__(config)
        self.services = services
        self.drain_seconds = drain_seconds
        self.drained = False  # every connection and task finished within the graceful timeout

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.services.draining or self.drain_seconds <= 0:
            self.services.draining = True
            super().handle_exit(sig, frame)
            return
        self.services.draining = True
        logger.info(
            "signal %s: draining for %.1fs (/ready is 503), then shutting down", sig, self.drain_seconds
        )
        timer = threading.Timer(self.drain_seconds, super().handle_exit, args=(sig, None))
        timer.daemon = True
        timer.start()

    async def _wait_tasks_to_complete(self) -> None:
        # Cancelled by uvicorn when the graceful timeout runs out; returns early on a forced exit.
        await super()._wait_tasks_to_complete()
        self.drained = not self.force_exit

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            if self.drained:
                # uvicorn re-raises captured signals once shut down; after a clean drain the
                # signal was a request to stop, not a failure, so the process exits 0 instead.
                self._captured_signals.clear()


def head_limits(settings: Settings) -> HeadLimits:
    return HeadLimits(
        max_url_bytes=settings.max_url_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_header_total_bytes=settings.max_header_total_bytes,
        max_header_count=settings.max_header_count,
    )


def count_refusals(metrics: Metrics) -> Callable[[int], None]:
    def count(status: int) -> None:
        metrics.requests.labels(route="unparsed", method="", status=str(status)).inc()

    return count


def serve(settings: Settings) -> None:
    app = create_app(settings)
    services: Services = app.state.services
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol_class(head_limits(settings), count_refusals(services.engine.metrics)),
        # No route speaks WebSocket: an Upgrade header is ignored and the request served as HTTP
        # (uvicorn would otherwise answer it with a text/plain 403, outside the API-key check).
        ws="none",
        log_level=settings.log_level,
        log_config=None,  # keep the JSON logging configured by the CLI
        access_log=False,  # our middleware logs each request once, with its request id
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
    )
    DrainingServer(config, services, settings.drain_seconds).run()
