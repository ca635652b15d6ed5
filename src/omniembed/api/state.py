"""What every route needs, kept on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from omniembed.engine.engine import Engine
from omniembed.engine.scoring import Scoring
from omniembed.retrieval import open_store
from omniembed.retrieval.service import CollectionService
from omniembed.settings import Settings


@dataclass
class Services:
    engine: Engine
    settings: Settings
    draining: bool = False
    started: float = 0.0
    scoring: Scoring = field(init=False)
    _collections: CollectionService | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.scoring = Scoring(self.engine)

    @property
    def collections(self) -> CollectionService:
        """Opened on first use, so a server without retrieval never touches the store."""
        if self._collections is None:
            self._collections = CollectionService(self.engine, open_store(self.settings))
        return self._collections

    def close(self) -> None:
        if self._collections is not None:
            self._collections.store.close()
            self._collections = None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
