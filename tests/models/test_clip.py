"""transformers CLIP: our vectors vs `get_text_features` / `get_image_features` on the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, ImageInput, TextInput
from omniembed.media.payload import MediaReference
from omniembed.models.base import Truncation
from tests.support.media import encode, photo
from tests.support.parity import assert_parity

TEXTS = [
    "a photo of a cat",
    "a",
    "an astronaut riding a horse on the moon, in the style of a very detailed oil painting by an old master",
    "two dogs",
]


@pytest.fixture(scope="module")
def reference(tiny_clip_dir):
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

    model = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    return (
        model,
        AutoTokenizer.from_pretrained(tiny_clip_dir),
        AutoImageProcessor.from_pretrained(tiny_clip_dir),
    )


def reference_text(reference, texts):
    model, tokenizer, _ = reference
    batch = tokenizer(texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return model.get_text_features(**batch).pooler_output.numpy()


def reference_images(reference, images):
    model, _, processor = reference
    with torch.no_grad():
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        return model.get_image_features(pixel_values=pixels).pooler_output.numpy()


async def test_text_parity_single_items(engine: Engine, reference):
    # Reference pads to 77, we pad to the batch's longest: equality shows masking/eos pooling is right.
    expected = reference_text(reference, TEXTS)
    for text, row in zip(TEXTS, expected, strict=True):
        ours = await engine.embed("tiny-clip", [TextInput(text)])
        assert_parity(ours.embeddings, row[None, :])


async def test_text_parity_mixed_length_batch(engine: Engine, reference):
    result = await engine.embed("tiny-clip", [TextInput(t) for t in TEXTS])
    assert_parity(result.embeddings, reference_text(reference, TEXTS))
    assert np.allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, atol=1e-5)


async def test_image_parity_batch_exact_decode(engine: Engine, reference):
    images = [photo("chelsea"), photo("astronaut"), photo("coffee").resize((97, 310))]
    items = [ImageInput(image=image) for image in images]  # PIL in: no JPEG draft decoding
    result = await engine.embed("tiny-clip", items)
    assert_parity(result.embeddings, reference_images(reference, images))


async def test_image_parity_from_jpeg_bytes(engine: Engine, reference):
    data = encode(photo("rocket"), "JPEG", quality=95)
    import io

    from PIL import Image

    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    result = await engine.embed("tiny-clip", [ImageInput(reference=MediaReference(data=data))])
    # Draft-mode decoding changes pixels slightly; the vector stays essentially the same.
    assert_parity(result.embeddings, reference_images(reference, [decoded]), minimum=0.999)


async def test_unnormalized_output_matches_raw_features(engine: Engine, reference):
    result = await engine.embed("tiny-clip", [TextInput("a photo of a cat")], EmbedOptions(normalize=False))
    expected = reference_text(reference, ["a photo of a cat"])
    np.testing.assert_allclose(result.embeddings, expected, rtol=1e-4, atol=1e-5)


async def test_long_text_truncates_like_the_reference(engine: Engine, reference):
    text = " ".join(["word"] * 200)
    result = await engine.embed("tiny-clip", [TextInput(text)], EmbedOptions(truncation=Truncation.END))
    assert_parity(result.embeddings, reference_text(reference, [text]))
