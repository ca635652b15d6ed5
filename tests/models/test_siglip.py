"""SigLIP (SiglipModel) and SigLIP 2 NaFlex (Siglip2Model) vs the reference forward and processors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.models.image_processing import ImagePreprocessor
from omniembed.models.siglip import NaflexPreprocessor
from tests.support.engines import engine_for, images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity
from tests.support.tiny_models import build_tiny_siglip, build_tiny_siglip2

TEXTS = [
    "a photo of a cat",
    "a",
    "the quick brown fox jumps over the lazy dog near the river bank",
    "two dogs",
]
PHOTOS = ["chelsea", "astronaut", "coffee"]


@pytest.fixture(scope="module")
def siglip_dir(tmp_path_factory):
    return build_tiny_siglip(tmp_path_factory.mktemp("siglip") / "model")


@pytest.fixture(scope="module")
def siglip2_dir(tmp_path_factory):
    return build_tiny_siglip2(tmp_path_factory.mktemp("siglip2") / "model")


def reference(directory, model_class):
    from transformers import AutoImageProcessor, AutoTokenizer

    return (
        model_class.from_pretrained(directory).eval(),
        AutoTokenizer.from_pretrained(directory),
        AutoImageProcessor.from_pretrained(directory),
    )


def reference_text(model, tokenizer, values):
    # The reference processor's way: pad to max_length 64, no attention mask.
    batch = tokenizer(values, padding="max_length", max_length=64, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return model.get_text_features(input_ids=batch["input_ids"]).pooler_output.numpy()


@pytest.fixture(scope="module")
async def siglip(siglip_dir):
    engine = await engine_for(str(siglip_dir))
    yield engine
    await engine.close()


async def test_siglip_detected_and_calibrated(siglip):
    spec = siglip.runner(None).spec
    assert spec.family == "siglip" and spec.score_activation == "sigmoid"
    assert spec.logit_bias == pytest.approx(-2.5) and spec.max_text_tokens == 64


async def test_siglip_text_parity_single_and_mixed(siglip, siglip_dir):
    from transformers import SiglipModel

    model, tokenizer, _ = reference(siglip_dir, SiglipModel)
    expected = reference_text(model, tokenizer, TEXTS)
    assert_parity(await texts(siglip, TEXTS), expected)
    for text, row in zip(TEXTS, expected, strict=True):
        assert_parity(await texts(siglip, [text]), row[None, :])


async def test_siglip_padding_is_part_of_the_embedding(siglip, siglip_dir):
    """Dynamic padding would change SigLIP vectors; we must match the max_length reference only."""
    from transformers import SiglipModel

    model, tokenizer, _ = reference(siglip_dir, SiglipModel)
    short = tokenizer(["a photo of a cat"], return_tensors="pt")
    with torch.no_grad():
        unpadded = model.get_text_features(input_ids=short["input_ids"]).pooler_output.numpy()
    ours = await texts(siglip, ["a photo of a cat"])
    assert_parity(ours, reference_text(model, tokenizer, ["a photo of a cat"]))
    assert (ours @ (unpadded / np.linalg.norm(unpadded)).T).item() < 0.9999


async def test_siglip_image_parity(siglip, siglip_dir):
    from transformers import SiglipModel

    model, _, processor = reference(siglip_dir, SiglipModel)
    pictures = [photo(name) for name in PHOTOS]
    with torch.no_grad():
        pixels = processor(images=pictures, return_tensors="pt")["pixel_values"]
        expected = model.get_image_features(pixel_values=pixels).pooler_output.numpy()
    assert_parity(await images(siglip, pictures), expected)


async def test_siglip2_naflex_parity(siglip2_dir):
    from transformers import Siglip2Model

    engine = await engine_for(str(siglip2_dir))
    model, tokenizer, processor = reference(siglip2_dir, Siglip2Model)
    pictures = [photo("chelsea"), photo("rocket").resize((90, 300)), photo("coffee")]
    with torch.no_grad():
        batch = processor(images=pictures, return_tensors="pt")
        expected_images = model.get_image_features(**batch).pooler_output.numpy()
    assert_parity(await images(engine, pictures), expected_images)
    assert_parity(await texts(engine, TEXTS), reference_text(model, tokenizer, TEXTS))
    assert engine.runner(None).spec.family == "siglip"
    await engine.close()


@pytest.mark.parametrize("backend", ["Siglip2ImageProcessor", "Siglip2ImageProcessorPil"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
@pytest.mark.parametrize("size", [(451, 300), (64, 200), (1000, 37)])
def test_naflex_preprocessing_matches_reference(mode, size, backend):
    import transformers

    from omniembed.media.images import to_rgb

    # torchvision (the default here) and PIL backends
    processor = getattr(transformers, backend)(patch_size=16, max_num_patches=256)
    image = to_rgb(
        photo("chelsea").resize(size).convert(mode)
    )  # this processor does not convert modes itself
    ours = NaflexPreprocessor.from_hf(processor)(image)
    ref = processor(images=image, return_tensors="np")
    np.testing.assert_allclose(ours["pixel_values"], ref["pixel_values"][0], atol=2e-6)
    np.testing.assert_array_equal(ours["pixel_attention_mask"], ref["pixel_attention_mask"][0])
    np.testing.assert_array_equal(ours["spatial_shapes"], ref["spatial_shapes"][0])


def test_siglip_processor_reads_into_our_preprocessor(siglip_dir):
    from transformers import AutoImageProcessor

    preprocessor = ImagePreprocessor.from_hf(AutoImageProcessor.from_pretrained(siglip_dir))
    assert preprocessor.exact_size == (64, 64) and preprocessor.crop_size is None
    assert preprocessor.mean == (0.5, 0.5, 0.5)
