"""open_clip towers exported directly (open_clip's own encode_text / encode_image, MobileCLIP's fused
FastViT included) to ONNX Runtime and OpenVINO, against the same model on torch fp32.

fp32 must match at cosine >= 0.9999; bf16 and int8 (OpenVINO's chosen by the accuracy floor) at >= 0.99.
"""

from __future__ import annotations

import pytest

from tests.runtimes.test_runtimes import CASES, PHOTOS, TEXTS, engine_with
from tests.support.engines import images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity
from tests.support.tiny_open_clip import build_tiny_open_clip

# MobileCLIP2-S0 keeps its real FastViT MCi0 image tower (11 M random weights): exports run in a
# child process, which knows only timm's own model names, not the test-registered tiny variants.
ARCHITECTURES = ["MobileCLIP2-S0", "ViT-B-32"]


@pytest.fixture(scope="module", params=ARCHITECTURES)
async def reference(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("open-clip-runtimes")
    real_tower = request.param.startswith("MobileCLIP")
    directory = build_tiny_open_clip(root / request.param, request.param, real_image_tower=real_tower)
    engine = await engine_with(str(directory), "torch", "fp32", root / "cache")
    pictures = [photo(name) for name in PHOTOS]
    found = {
        "directory": directory,
        "cache": root / "cache",
        "pictures": pictures,
        "text": await texts(engine, TEXTS),
        "image": await images(engine, pictures),
    }
    await engine.close()
    return found


@pytest.mark.parametrize(("runtime", "precision", "minimum"), CASES)
async def test_open_clip_towers(reference, runtime, precision, minimum):
    engine = await engine_with(str(reference["directory"]), runtime, precision, reference["cache"])
    spec = engine.runner(None).spec
    assert (spec.runtime, spec.precision) == (runtime, precision)
    assert_parity(await texts(engine, TEXTS), reference["text"], minimum)
    assert_parity(await images(engine, reference["pictures"]), reference["image"], minimum)
    assert_parity(await texts(engine, TEXTS[:1]), reference["text"][:1], minimum)
    await engine.close()
