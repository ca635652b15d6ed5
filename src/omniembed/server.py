"""Running the app under uvicorn with a graceful, load-balancer-friendly shutdown.

On SIGTERM (or SIGINT) the service first drains: `/ready` answers 503 for `drain_seconds` while
requests keep being served, so a load balancer stops sending new work; then the listener closes,
in-flight requests get `graceful_timeout_s` to finish, and the models are released. A second signal
skips the drain.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType

import uvicorn

from omniembed.api.app import create_app
from omniembed.api.state import Services
from omniembed.settings import Settings

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, services: Services, drain_seconds: float) -> None:
        super().__init__(config)
        self.services = services
        self.drain_seconds = drain_seconds

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


def serve(settings: Settings) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # keep the JSON logging configured by the CLI
        access_log=False,  # our middleware logs each request once, with its request id
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
    )
    DrainingServer(config, app.state.services, settings.drain_seconds).run()
