"""Engines around one tiny model, for per-family tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, ImageInput, TextInput
from omniembed.models.registry import resolve


async def engine_for(source: str, **request_options: object) -> Engine:
    engine = Engine()
    await engine.add(load_model(resolve(source, **request_options)))  # type: ignore[arg-type]
    return engine


async def texts(engine: Engine, values: Sequence[str], **options: object) -> np.ndarray:
    result = await engine.embed(None, [TextInput(v) for v in values], EmbedOptions(**options))  # type: ignore[arg-type]
    return result.embeddings


async def images(engine: Engine, values: Sequence[Image.Image], **options: object) -> np.ndarray:
    result = await engine.embed(None, [ImageInput(image=v) for v in values], EmbedOptions(**options))  # type: ignore[arg-type]
    return result.embeddings
