"""The model catalog: friendly and seed ids → family, source and published facts.

It is data (`models.json`), so adding a model never means adding code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    family: str
    source: str
    dimension: int
    modalities: tuple[str, ...]
    context_length: int | None = None
    image_size: int | None = None
    aliases: tuple[str, ...] = ()
    matryoshka_dims: tuple[int, ...] = ()
    prompts: dict[str, str] = field(default_factory=dict)
    description: str = ""
    offline_source: str | None = None
    open_clip: str | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    # Why this catalogued model cannot be served (said at start, and on its card); None when it can.
    unsupported: str | None = None
    interleaved: str = "mean"  # native: reads an item's parts together in one forward

    def public(self) -> dict[str, Any]:
        """The catalog card as shown by `/model/list` and `/v1/models/{id}`."""
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "family": self.family,
            "source": self.source,
            "dimension": self.dimension,
            "modalities": list(self.modalities),
            "context_length": self.context_length,
            "image_size": self.image_size,
            "matryoshka_dimensions": list(self.matryoshka_dims),
            "description": self.description,
            "quality": dict(self.quality),
            "interleaved": self.interleaved,
            "supported": self.unsupported is None,
            **({"unsupported": self.unsupported} if self.unsupported else {}),
        }


@dataclass(frozen=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    families: dict[str, dict[str, str]]
    detect: dict[str, Any]
    input_types: dict[str, tuple[str, ...]]

    def find(self, name: str) -> CatalogEntry | None:
        wanted = name.strip().lower()
        for entry in self.entries:
            if wanted == entry.id.lower() or wanted in (alias.lower() for alias in entry.aliases):
                return entry
        return None

    def family_names(self) -> list[str]:
        return sorted(self.families)


def _entry(raw: dict[str, Any]) -> CatalogEntry:
    return CatalogEntry(
        id=raw["id"],
        family=raw["family"],
        source=raw["source"],
        dimension=int(raw["dimension"]),
        modalities=tuple(raw["modalities"]),
        context_length=raw.get("context_length"),
        image_size=raw.get("image_size"),
        aliases=tuple(raw.get("aliases", ())),
        matryoshka_dims=tuple(raw.get("matryoshka_dims", ())),
        prompts=dict(raw.get("prompts", {})),
        description=raw.get("description", ""),
        offline_source=raw.get("offline_source"),
        open_clip=raw.get("open_clip"),
        quality=dict(raw.get("quality", {})),
        unsupported=raw.get("unsupported"),
        interleaved=raw.get("interleaved", "mean"),
    )


@cache
def load_catalog() -> Catalog:
    text = resources.files(__package__).joinpath("models.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return Catalog(
        entries=tuple(_entry(item) for item in raw["models"]),
        families=raw["families"],
        detect=raw["detect"],
        input_types={key: tuple(values) for key, values in raw["input_types"].items()},
    )


@cache
def imagenet_class_names() -> tuple[str, ...]:
    text = resources.files(__package__).joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())
