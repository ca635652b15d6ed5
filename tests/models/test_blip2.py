"""BLIP-2 retrieval vs `Blip2ForImageTextRetrieval`'s own ITC outputs (text_embeds, image_embeds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.media.images import to_rgb
from omniembed.models.image_processing import ImagePreprocessor
from tests.support.engines import engine_for, images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity
from tests.support.tiny_models import build_tiny_blip2

TEXTS = ["a photo of a cat", "two dogs playing in the snow near a red house", "x"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, minilm_dir):
    return build_tiny_blip2(tmp_path_factory.mktemp("blip2") / "model", minilm_dir)


@pytest.fixture(scope="module")
def reference(model_dir):
    from transformers import AutoImageProcessor, AutoTokenizer, Blip2ForImageTextRetrieval

    model = Blip2ForImageTextRetrieval.from_pretrained(model_dir).eval()
    return model, AutoTokenizer.from_pretrained(model_dir), AutoImageProcessor.from_pretrained(model_dir)


def reference_outputs(reference, values, pictures):
    model, tokenizer, processor = reference
    batch = tokenizer(values, padding=True, return_tensors="pt")
    pixels = processor(images=pictures, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        output = model(**batch, pixel_values=pixels, use_image_text_matching_head=False)
    return output.text_embeds.numpy(), output.image_embeds.numpy()


@pytest.fixture(scope="module")
async def engine(model_dir):
    built = await engine_for(str(model_dir))
    yield built
    await built.close()


async def test_text_parity(engine, reference):
    pictures = [photo("chelsea")] * len(TEXTS)
    expected, _ = reference_outputs(reference, TEXTS, pictures)
    spec = engine.runner(None).spec
    assert spec.family == "blip2" and spec.dimension == 16
    assert_parity(await texts(engine, TEXTS), expected)
    assert_parity(await texts(engine, TEXTS[:1]), expected[:1])


async def test_image_is_the_mean_of_the_normalized_query_embeddings(engine, reference):
    pictures = [photo("chelsea"), photo("rocket"), photo("coffee")]
    _, query_embeds = reference_outputs(reference, ["a"] * 3, pictures)  # [n, queries, dim], normalized
    assert_parity(await images(engine, pictures), query_embeds.mean(axis=1))


@pytest.mark.parametrize("backend", ["BlipImageProcessor", "BlipImageProcessorPil"])
def test_blip_processor_pixels(backend):
    import transformers

    processor = getattr(transformers, backend)()  # torchvision (the default here) and PIL
    image = photo("chelsea").convert("RGBA")
    ours = ImagePreprocessor.from_hf(processor)(to_rgb(image))
    np.testing.assert_allclose(
        ours, processor(images=image, return_tensors="np")["pixel_values"][0], atol=2e-6
    )
