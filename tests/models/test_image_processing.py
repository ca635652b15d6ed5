"""Our pre-processing vs the reference transformers processors, pixel for pixel, for both of their
backends (torchvision, the default where it is installed, and PIL), and vs open_clip's transforms."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from omniembed.media.images import ImageLimits, decode_image, to_rgb
from omniembed.models.image_processing import ImagePreprocessor
from tests.support.media import encode, photo


@pytest.fixture(scope="module")
def clip_processor():
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor()  # the default CLIP config: shortest edge 224, center crop 224, bicubic


@pytest.fixture(scope="module")
def clip_pil_processor():
    from transformers import CLIPImageProcessorPil

    return CLIPImageProcessorPil()


@pytest.fixture(scope="module")
def exact_resize_processor():
    from transformers import SiglipImageProcessor

    return SiglipImageProcessor(size={"height": 224, "width": 224})


@pytest.fixture(scope="module")
def exact_resize_pil_processor():
    from transformers import SiglipImageProcessorPil

    return SiglipImageProcessorPil(size={"height": 224, "width": 224})


PROCESSORS = ["clip_processor", "clip_pil_processor", "exact_resize_processor", "exact_resize_pil_processor"]


def variants():
    base = photo("chelsea")
    return {
        "rgb": base,
        "rgba": base.convert("RGBA"),
        "gray": base.convert("L"),
        "palette": base.convert("P"),
        "small": base.resize((120, 80)),
        "tall": base.resize((200, 700)),
        "tiny": base.resize((30, 10)),
    }


def test_backends_are_told_apart(clip_processor, clip_pil_processor):
    assert clip_processor.backend == "torchvision"  # torchvision is installed: the default backend
    assert ImagePreprocessor.from_hf(clip_processor).resize_backend == "torch"
    assert ImagePreprocessor.from_hf(clip_pil_processor).resize_backend == "pil"


@pytest.mark.parametrize("name", list(variants()))
@pytest.mark.parametrize("which", PROCESSORS)
def test_pixels_match_reference(name, which, request):
    processor = request.getfixturevalue(which)
    image = variants()[name]
    ours = ImagePreprocessor.from_hf(processor)(to_rgb(image))
    reference = processor(images=image, return_tensors="np")["pixel_values"][0]
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=2e-6)


@pytest.mark.parametrize("name", list(variants()))
@pytest.mark.parametrize("which", PROCESSORS)
def test_fast_resize_stays_within_a_rounding_step(name, which, request):
    """The fast path's torch resize (bicubic for CLIP, bilinear for SigLIP) against the reference,
    up- and downscaling: at most ~2 uint8 levels on any pixel (none against the torchvision
    backend, which resizes with the same kernels), far below the 0.01 mean bound."""
    processor = request.getfixturevalue(which)
    image = variants()[name]
    preprocessor = ImagePreprocessor.from_hf(processor)
    fast = preprocessor(to_rgb(image), fast=True)
    reference = processor(images=image, return_tensors="np")["pixel_values"][0]
    difference = np.abs(fast - reference)
    assert float(difference.mean()) <= 0.002, float(difference.mean())
    assert float(difference.max()) <= 2.5 / 255 / min(preprocessor.std), float(difference.max())


@pytest.mark.parametrize("size", [(1600, 1200), (2000, 1000), (900, 1400), (640, 480), (300, 451)])
def test_jpeg_draft_decoding_stays_within_tolerance(clip_processor, size):
    """The fast path (JPEG decoded at reduced scale) stays within 0.01 mean absolute difference."""
    preprocessor = ImagePreprocessor.from_hf(clip_processor)
    data = encode(photo("astronaut").resize(size, Image.Resampling.BICUBIC), "JPEG", quality=92)
    fast = preprocessor(decode_image(data, ImageLimits(), draft=preprocessor.draft_request()), fast=True)
    exact = clip_processor(images=decode_image(data, ImageLimits()), return_tensors="np")["pixel_values"][0]
    mad = float(np.abs(fast - exact).mean())
    assert mad <= 0.01, mad


# open_clip's transform resizes before it converts to RGB, so a palette image is resized with
# Pillow's nearest filter (Pillow's rule for "P") and transparency is dropped, not composited; we
# convert first, as transformers does, so palette images are left out here on purpose.
@pytest.mark.parametrize("name", [name for name in variants() if name != "palette"])
@pytest.mark.parametrize("mode", ["shortest", "squash"])
@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_open_clip_transforms_match(name, mode, interpolation):
    """open_clip's own torchvision transform (Resize on PIL images, CenterCrop rounding its offset)."""
    import open_clip as reference
    import torch

    from omniembed.models import open_clip

    config = {
        "interpolation": interpolation,
        "resize_mode": mode,
        "mean": (0.5, 0.4, 0.3),
        "std": (0.2, 0.3, 0.25),
    }
    transform = reference.image_transform(
        63,
        is_train=False,
        mean=config["mean"],
        std=config["std"],
        resize_mode=mode,
        interpolation=interpolation,
    )
    image = variants()[name]
    expected = transform(image)
    assert isinstance(expected, torch.Tensor)
    ours = open_clip.image_preprocessor(config, 63)(to_rgb(image))
    np.testing.assert_allclose(ours, expected.numpy(), atol=2e-6)


@pytest.mark.parametrize("size", [(2600, 1800), (1800, 3000)])
def test_large_png_early_reduction_stays_within_tolerance(clip_processor, size):
    """The fast path box-reduces a non-JPEG image over 4 MP right after decoding (as JPEG's draft
    mode does while decoding): within the same 0.01 mean absolute difference of the exact path."""
    preprocessor = ImagePreprocessor.from_hf(clip_processor)
    data = encode(photo("astronaut").resize(size, Image.Resampling.BICUBIC), "PNG")
    reduced = decode_image(data, ImageLimits(), draft=preprocessor.draft_request())
    assert reduced.size[0] < size[0]  # the reduction happened
    fast = preprocessor(reduced, fast=True)
    exact = clip_processor(images=decode_image(data, ImageLimits()), return_tensors="np")["pixel_values"][0]
    mad = float(np.abs(fast - exact).mean())
    assert mad <= 0.01, mad
