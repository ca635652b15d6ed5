"""Chinese-CLIP vs `ChineseCLIPModel.get_text_features` / `get_image_features` and its processor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.media.images import to_rgb
from omniembed.models.image_processing import ImagePreprocessor
from tests.support.engines import engine_for, images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity
from tests.support.tiny_models import build_tiny_chinese_clip

TEXTS = ["一张猫的照片", "a photo of a cat", "咖啡", "宇航员 骑 摩托车 在 月球 上 的 照片 非常 清楚"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, minilm_dir):
    return build_tiny_chinese_clip(tmp_path_factory.mktemp("cnclip") / "model", minilm_dir)


@pytest.fixture(scope="module")
def reference(model_dir):
    from transformers import AutoImageProcessor, AutoTokenizer, ChineseCLIPModel

    model = ChineseCLIPModel.from_pretrained(model_dir).eval()
    return model, AutoTokenizer.from_pretrained(model_dir), AutoImageProcessor.from_pretrained(model_dir)


@pytest.fixture(scope="module")
async def engine(model_dir):
    built = await engine_for(str(model_dir))
    yield built
    await built.close()


async def test_text_parity(engine, reference):
    model, tokenizer, _ = reference
    with torch.no_grad():
        expected = model.get_text_features(
            **tokenizer(TEXTS, padding=True, return_tensors="pt")
        ).pooler_output.numpy()
    assert engine.runner(None).spec.family == "chinese_clip"
    assert_parity(await texts(engine, TEXTS), expected)
    for text, row in zip(TEXTS, expected, strict=True):
        assert_parity(await texts(engine, [text]), row[None, :])


async def test_image_parity(engine, reference):
    model, _, processor = reference
    pictures = [photo("chelsea"), photo("coffee").convert("L"), photo("rocket")]
    with torch.no_grad():
        pixels = processor(images=pictures, return_tensors="pt")["pixel_values"]
        expected = model.get_image_features(pixel_values=pixels).pooler_output.numpy()
    assert_parity(await images(engine, pictures), expected)


@pytest.mark.parametrize("backend", ["ChineseCLIPImageProcessor", "ChineseCLIPImageProcessorPil"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_default_processor_pixels(mode, backend):
    import transformers

    processor = getattr(transformers, backend)()  # torchvision (the default here) and PIL
    image = photo("astronaut").resize((300, 420)).convert(mode)
    ours = ImagePreprocessor.from_hf(processor)(to_rgb(image))
    np.testing.assert_allclose(
        ours, processor(images=image, return_tensors="np")["pixel_values"][0], atol=2e-6
    )


def test_catalog_context_caps_the_position_table(model_dir):
    """Chinese-CLIP was trained on 52-token texts though its config allows more; the catalog entry's
    context length wins, so long texts are truncated (or chunked) at 52 as the reference does."""
    from omniembed.catalog import load_catalog
    from omniembed.engine.bootstrap import load_model
    from omniembed.models.registry import LoadRequest

    entry = load_catalog().find("CN-CLIP/cn-clip-vit-b-16")
    plain = load_model(LoadRequest(name="plain", source=str(model_dir), family="chinese_clip"))
    capped = load_model(LoadRequest(name="cn", source=str(model_dir), family="chinese_clip", entry=entry))
    assert entry is not None and entry.context_length == 52
    assert plain.spec.max_text_tokens > 52
    assert capped.spec.max_text_tokens == 52
