"""What every route needs, kept on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from omniembed.engine.engine import Engine
from omniembed.engine.scoring import Scoring
from omniembed.settings import Settings


@dataclass
class Services:
    engine: Engine
    settings: Settings
    draining: bool = False
    started: float = 0.0
    scoring: Scoring = field(init=False)

    def __post_init__(self) -> None:
        self.scoring = Scoring(self.engine)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
