"""What every route needs, kept on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from omniembed.engine.engine import Engine
from omniembed.settings import Settings


@dataclass
class Services:
    engine: Engine
    settings: Settings
    draining: bool = False
    started: float = field(default=0.0)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
