"""What a model declares about itself (config.json's Matryoshka keys and task instructions, the
sentence-transformers prompts and truncate_dim), merged with the catalog and `--model-option`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest

from omniembed.catalog import CatalogEntry
from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, TextInput
from omniembed.errors import CapabilityError, ConfigurationError, InvalidInputError
from omniembed.models.base import Truncation
from omniembed.models.declared import (
    Matryoshka,
    _from_files,
    merge_matryoshka,
    merge_prompts,
    parse_model_option,
)
from omniembed.models.registry import LoadRequest, resolve
from tests.support.tiny_models import build_tiny_clip, build_tiny_qwen3

TEXTS = ["what is the capital of china?", "a photo of a cat", "x"]
INSTRUCTIONS = {
    "retrieval.query": "Represent the query for retrieving evidence documents: ",
    "code": "Code: ",
}


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory) -> Path:
    return build_tiny_qwen3(tmp_path_factory.mktemp("declared") / "qwen")


def _variant(base: Path, name: str, config: dict | None = None, st_config: dict | None = None) -> Path:
    """A copy of the tiny model whose config files declare `config` / `st_config` on top."""
    target = base.parent / name
    if not target.exists():
        shutil.copytree(base, target)
        for file, extra in (("config.json", config), ("config_sentence_transformers.json", st_config)):
            if extra:
                path = target / file
                path.write_text(json.dumps({**json.loads(path.read_text()), **extra}))
    return target


async def _engine(source: Path) -> Engine:
    engine = Engine()
    await engine.add(load_model(resolve(f"m={source}")))
    return engine


async def _embed(engine: Engine, dimensions: int | None = None, **options: object) -> np.ndarray:
    items = [TextInput(t) for t in TEXTS]
    result = await engine.embed(None, items, EmbedOptions(dimensions=dimensions, **options))  # type: ignore[arg-type]
    return result.embeddings


def _truncated(full: np.ndarray, size: int) -> np.ndarray:
    cut = full[:, :size]
    return cut / np.linalg.norm(cut, axis=1, keepdims=True)


# ----------------------------------------------------------------------------- parsing and merging
def test_model_options_parse_and_refuse():
    assert parse_model_option("mine:matryoshka_dimensions=64,128") == (
        "mine",
        "matryoshka_dimensions",
        "64,128",
    )
    assert parse_model_option("org/x:y:is_matryoshka=true") == ("org/x:y", "is_matryoshka", "true")
    for bad in ("mine=64", "mine:colour=red", "mine:matryoshka_dimensions=a,b", "mine:is_matryoshka=maybe"):
        with pytest.raises(ValueError, match=r"must|unknown"):
            parse_model_option(bad)


def test_files_follow_vllm_reading():
    assert _from_files({"is_matryoshka": True}, {}).matryoshka == Matryoshka((), "any")
    listed = _from_files({"is_matryoshka": True, "matryoshka_dimensions": [256, 64]}, {})
    assert listed.matryoshka == Matryoshka((64, 256), "listed")
    assert _from_files({}, {}).matryoshka is None
    assert _from_files({"matryoshka_dimensions": "junk"}, {}).matryoshka is None  # ignored, not fatal
    declared = _from_files(
        {"task_instructions": {"q": "Q: ", "bad": 3}}, {"prompts": {"q": "P: "}, "truncate_dim": 32}
    )
    assert declared.task_instructions == {"q": "Q: "} and declared.truncate_dim == 32
    assert merge_prompts({}, declared) == {"q": "P: "}  # sentence-transformers prompts over instructions
    assert merge_prompts({"q": "C: "}, declared) == {"q": "C: "}  # the catalog over both


def test_precedence_is_options_then_catalog_then_files():
    files = Matryoshka((16, 32), "listed")
    assert merge_matryoshka(None, (), files, 64) == files
    assert merge_matryoshka(None, (8, 64), files, 64) == Matryoshka((8, 64), "range")
    option = Matryoshka((32,), "listed")
    assert merge_matryoshka(option, (8, 64), files, 64) == option
    assert merge_matryoshka(Matryoshka((), "none"), (8, 64), files, 64).rule == "none"
    # sizes above the served dimension are dropped; nothing left means no truncation
    assert merge_matryoshka(None, (), Matryoshka((128, 256), "listed"), 64) == Matryoshka()


# ----------------------------------------------------------------------------- tiny models
async def test_is_matryoshka_allows_any_size(qwen_dir):
    engine = await _engine(_variant(qwen_dir, "mrl-any", {"is_matryoshka": True}))
    spec = engine.runner(None).spec
    assert spec.matryoshka_range == (1, 64) and spec.capabilities()["matryoshka_listed_only"] is False
    full = await _embed(engine)
    for size in (1, 7, 48, 64):
        np.testing.assert_allclose(await _embed(engine, size), _truncated(full, size), atol=1e-6)
    with pytest.raises(InvalidInputError, match="between 1 and 64"):
        await _embed(engine, 65)
    await engine.close()


async def test_matryoshka_dimensions_allow_exactly_those(qwen_dir):
    engine = await _engine(_variant(qwen_dir, "mrl-listed", {"matryoshka_dimensions": [32, 16]}))
    spec = engine.runner(None).spec
    assert spec.matryoshka_dims == (16, 32) and spec.capabilities()["matryoshka_listed_only"] is True
    full = await _embed(engine)
    for size in (16, 32):
        np.testing.assert_allclose(await _embed(engine, size), _truncated(full, size), atol=1e-6)
    np.testing.assert_allclose(await _embed(engine, 64), full, atol=1e-6)
    with pytest.raises(InvalidInputError, match="one of 16, 32, 64"):
        await _embed(engine, 24)
    await engine.close()


async def test_no_declaration_refuses_dimensions(qwen_dir):
    engine = await _engine(_variant(qwen_dir, "mrl-off", {"is_matryoshka": False}))
    assert engine.runner(None).spec.matryoshka_range is None
    with pytest.raises(CapabilityError, match="does not support Matryoshka"):
        await _embed(engine, 32)
    await engine.close()


async def test_catalog_wins_over_the_files(qwen_dir):
    source = _variant(qwen_dir, "mrl-listed", {"matryoshka_dimensions": [32, 16]})
    entry = CatalogEntry(
        id="cat",
        family="qwen3_embedding",
        source=str(source),
        dimension=64,
        modalities=("text",),
        matryoshka_dims=(8, 64),
    )
    adapter = load_model(LoadRequest(name="cat", source=str(source), family=entry.family, entry=entry))
    assert adapter.spec.matryoshka_rule == "range" and adapter.spec.matryoshka_range == (8, 64)


async def test_task_instructions_are_input_types(qwen_dir):
    from sentence_transformers import SentenceTransformer

    source = _variant(qwen_dir, "instructed", {"task_instructions": INSTRUCTIONS})
    engine = await _engine(source)
    tower = engine.runner(None).adapter.text
    assert tower is not None
    reference = SentenceTransformer(str(source), device="cpu")
    for key, instruction in INSTRUCTIONS.items():
        ours = tower.preprocess(TEXTS, Truncation.END, engine.runner(None).spec.prompts[key])
        expected = reference.tokenize([instruction + text for text in TEXTS])
        for window, ids, mask in zip(ours, expected["input_ids"], expected["attention_mask"], strict=True):
            assert window[0].ids == ids[mask.bool()].tolist()
        vectors = await _embed(engine, input_type=key)
        encoded = reference.encode([instruction + t for t in TEXTS], normalize_embeddings=True)
        np.testing.assert_allclose(vectors, encoded, atol=1e-5)
    # the model's sentence-transformers prompts still work; unknown values list every valid one
    np.testing.assert_allclose(
        await _embed(engine, input_type="query"), reference.encode(TEXTS, prompt_name="query"), atol=1e-5
    )
    with pytest.raises(InvalidInputError, match=r"retrieval\.query") as refused:
        await _embed(engine, input_type="poetry")
    assert "code" in refused.value.message and "search_query" in refused.value.message
    await engine.close()


async def test_unknown_input_type_is_a_400_listing_the_instructions(qwen_dir):
    from omniembed.api.app import create_app
    from tests.conftest import make_settings

    engine = await _engine(_variant(qwen_dir, "instructed", {"task_instructions": INSTRUCTIONS}))
    app = create_app(make_settings(["unused"]), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post(
            "/v1/embeddings", json={"model": "m", "input": "hi", "input_type": "poetry"}
        )
        assert response.status_code == 400
        assert "retrieval.query" in response.json()["error"]["message"]
        ok = await client.post("/v1/embeddings", json={"model": "m", "input": "hi", "input_type": "code"})
        assert ok.status_code == 200
    await engine.close()


async def test_sentence_transformers_truncate_dim_is_the_served_size(qwen_dir):
    from sentence_transformers import SentenceTransformer

    source = _variant(qwen_dir, "truncated", {"is_matryoshka": True}, {"truncate_dim": 32})
    engine = await _engine(source)
    spec = engine.runner(None).spec
    assert spec.dimension == 32 and spec.matryoshka_range == (1, 32)
    reference = SentenceTransformer(str(source), device="cpu", truncate_dim=32)
    np.testing.assert_allclose(
        await _embed(engine), reference.encode(TEXTS, normalize_embeddings=True), atol=1e-5
    )
    await engine.close()


async def test_dual_encoders_read_the_same_declarations(tmp_path):
    source = build_tiny_clip(tmp_path / "clip")
    config = json.loads((source / "config.json").read_text())
    (source / "config.json").write_text(json.dumps({**config, "matryoshka_dimensions": [8]}))
    engine = await _engine(source)
    assert engine.runner(None).spec.matryoshka_dims == (8,)
    full = await _embed(engine)
    np.testing.assert_allclose(await _embed(engine, 8), _truncated(full, 8), atol=1e-6)
    await engine.close()


# ----------------------------------------------------------------------------- the override flag
async def test_model_option_changes_v1_models(qwen_dir, monkeypatch):
    from omniembed.api.app import create_app
    from omniembed.cli import build_parser, settings_from
    from omniembed.engine.bootstrap import engine_from_settings, load_models

    source = _variant(qwen_dir, "mrl-off", {"is_matryoshka": False})
    args = build_parser().parse_args(
        ["serve", "--model", f"mine={source}", "--model-option", "mine:matryoshka_dimensions=16,32,48"]
    )
    settings = settings_from(args)
    assert settings.model_options == ["mine:matryoshka_dimensions=16,32,48"]
    engine = engine_from_settings(settings)
    await load_models(engine, settings)
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        caps = (await client.get("/v1/models")).json()["data"][0]["capabilities"]
        assert caps["matryoshka_dimensions"] == [16, 32, 48] and caps["matryoshka_listed_only"] is True
        body = {"model": "mine", "input": "hi", "dimensions": 32}
        assert len((await client.post("/v1/embeddings", json=body)).json()["data"][0]["embedding"]) == 32
    await engine.close()


def test_model_options_from_the_environment(monkeypatch, tmp_path):
    from omniembed.engine.bootstrap import load_requests
    from omniembed.settings import Settings

    monkeypatch.setenv("OMNIEMBED_MODEL_OPTIONS", "mine:matryoshka_dimensions=64,128;mine:is_matryoshka=true")
    settings = Settings(models=[f"mine={tmp_path}"])
    assert settings.model_options == ["mine:matryoshka_dimensions=64,128", "mine:is_matryoshka=true"]
    monkeypatch.setenv("OMNIEMBED_MODEL_OPTIONS", "mine:colour=red")
    with pytest.raises(ValueError, match="colour"):
        Settings()
    monkeypatch.setenv("OMNIEMBED_MODEL_OPTIONS", "other:is_matryoshka=true")
    with pytest.raises(ConfigurationError, match="'other', which is not served"):
        load_requests(Settings(models=[f"mine={_tiny_dir(tmp_path)}"]))


def _tiny_dir(tmp_path: Path) -> Path:
    """A directory whose family is detectable without weights (resolve reads config files only)."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "clip"}))
    return tmp_path
