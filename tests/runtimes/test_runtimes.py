"""ONNX Runtime, OpenVINO and torch bf16/int8 against torch fp32 on the same weights.

fp32 exports must match at cosine >= 0.9999; bf16 and int8 at >= 0.99.
"""

from __future__ import annotations

import pytest

from omniembed.engine.bootstrap import load_model
from omniembed.errors import ConfigurationError
from omniembed.models.registry import resolve
from omniembed.runtimes import select_runtime
from tests.support.engines import images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity

TEXTS = [
    "a photo of a cat",
    "hello world",
    "a much longer sentence about rockets, coffee and astronauts",
    "x",
]
PHOTOS = ["chelsea", "coffee", "rocket", "astronaut"]
CASES = [
    ("onnx", "fp32", 0.9999),
    ("onnx", "int8", 0.99),
    ("openvino", "fp32", 0.9999),
    ("openvino", "bf16", 0.99),
    ("openvino", "int8", 0.99),
    ("torch", "bf16", 0.99),
]


async def engine_with(source, runtime: str, precision: str, models_dir):
    from omniembed.engine.engine import Engine

    engine = Engine()
    request = resolve(
        source, runtime=runtime, runtime_explicit=True, precision=precision, models_dir=models_dir
    )
    await engine.add(load_model(request))
    return engine


@pytest.fixture(scope="module")
async def references(tiny_clip_dir, minilm_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("runtime-cache")
    clip = await engine_with(str(tiny_clip_dir), "torch", "fp32", cache)
    minilm = await engine_with(str(minilm_dir), "torch", "fp32", cache)
    pictures = [photo(name) for name in PHOTOS]
    result = {
        "cache": cache,
        "clip_text": await texts(clip, TEXTS),
        "clip_image": await images(clip, pictures),
        "minilm": await texts(minilm, TEXTS),
        "pictures": pictures,
    }
    await clip.close()
    await minilm.close()
    return result


@pytest.mark.parametrize(("runtime", "precision", "minimum"), CASES)
async def test_clip_towers(references, tiny_clip_dir, runtime, precision, minimum):
    engine = await engine_with(str(tiny_clip_dir), runtime, precision, references["cache"])
    spec = engine.runner(None).spec
    assert (spec.runtime, spec.precision) == (runtime, precision)
    assert_parity(await texts(engine, TEXTS), references["clip_text"], minimum)
    assert_parity(await images(engine, references["pictures"]), references["clip_image"], minimum)
    await engine.close()


@pytest.mark.parametrize(("runtime", "precision", "minimum"), CASES)
async def test_sentence_transformer(references, minilm_dir, runtime, precision, minimum):
    engine = await engine_with(str(minilm_dir), runtime, precision, references["cache"])
    assert_parity(await texts(engine, TEXTS), references["minilm"], minimum)
    await engine.close()


async def test_exports_are_cached_and_reused(references, tiny_clip_dir, monkeypatch):
    from omniembed.runtimes import compiled

    await (await engine_with(str(tiny_clip_dir), "openvino", "fp32", references["cache"])).close()
    folders = sorted((references["cache"] / "compiled").glob("*openvino-fp32*"))
    assert folders and all((folder / "model.xml").is_file() for folder in folders)

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although cached")

    monkeypatch.setattr(compiled, "export_onnx", no_export)
    engine = await engine_with(str(tiny_clip_dir), "openvino", "fp32", references["cache"])
    assert_parity(await texts(engine, TEXTS), references["clip_text"])
    await engine.close()


async def test_starter_runs_on_openvino(starter_engine, models_cache):
    reference = await images(starter_engine, [photo("chelsea"), photo("coffee")])
    engine = await engine_with("omniembed/starter", "openvino", "fp32", models_cache)
    assert_parity(await images(engine, [photo("chelsea"), photo("coffee")]), reference)
    await engine.close()


async def test_towers_without_an_export_fall_back_under_auto(tmp_path):
    from omniembed.engine.engine import Engine
    from tests.support.tiny_models import build_tiny_siglip2

    source = str(build_tiny_siglip2(tmp_path / "siglip2"))
    auto = Engine()
    await auto.add(
        load_model(resolve(source, runtime="openvino", runtime_explicit=False, models_dir=tmp_path))
    )
    assert auto.runner(None).spec.runtime == "openvino+torch"  # NaFlex image tower stays on torch
    await auto.close()
    with pytest.raises(ConfigurationError, match="image tower"):
        load_model(resolve(source, runtime="onnx", runtime_explicit=True, models_dir=tmp_path))


def test_runtime_selection_and_precision_rules():
    assert select_runtime("auto", "cpu") == "openvino"  # installed in the test environment
    assert select_runtime("auto", "cuda") == "torch"
    with pytest.raises(ConfigurationError):
        select_runtime("openvino", "cuda:0")
    from omniembed.runtimes import check_precision

    with pytest.raises(ConfigurationError, match="fp32, int8"):
        check_precision("onnx", "bf16")
    with pytest.raises(ConfigurationError, match="openvino or onnx"):
        check_precision("torch", "int8")


def test_runtimes_need_the_onnx_exporter(monkeypatch):
    """Without the `onnx` package no tower can be exported: `auto` must pick torch rather than a
    runtime whose every export would fail, and asking for one by name says what to install."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else find_spec(name, *a)
    )
    assert select_runtime("auto", "cpu") == "torch"
    with pytest.raises(ConfigurationError, match=r"omniembed\[openvino\]"):
        select_runtime("openvino", "cpu")


def test_seed_openvino_settings_choose_the_runtime_and_directory(monkeypatch, tmp_path):
    from omniembed.engine.bootstrap import load_requests
    from omniembed.settings import Settings

    monkeypatch.delenv("OMNIEMBED_RUNTIME", raising=False)
    monkeypatch.delenv("OMNIEMBED_MODELS_DIR", raising=False)
    monkeypatch.setenv("EMBEDDING_USE_OV", "true")
    monkeypatch.setenv("EMBEDDING_OV_MODELS_DIR", str(tmp_path))
    [request] = load_requests(Settings(models=["all-MiniLM-L6-v2"]))
    assert request.runtime == "openvino" and request.runtime_explicit and request.models_dir == tmp_path
