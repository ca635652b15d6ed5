"""open_clip: our vectors vs open_clip's own model code (`encode_text` / `encode_image`) on the same
weights, via the transformers conversion path; and the registry/refusal behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed.errors import ConfigurationError
from omniembed.models import open_clip
from omniembed.models.registry import load_adapter, resolve
from tests.support.engines import engine_for, images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity
from tests.support.tiny_models import OPEN_CLIP_CONFIG, run_open_clip_reference

TEXTS = [
    "a photo of a cat",
    "hello",
    "an astronaut riding a horse on the moon in a very detailed oil painting",
    "x",
]
PHOTOS = ["chelsea", "rocket", "coffee"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("open_clip")
    preprocessor = open_clip.image_preprocessor(
        {"interpolation": "bicubic", "resize_mode": "shortest"}, OPEN_CLIP_CONFIG["vision_cfg"]["image_size"]
    )
    np.save(root / "pixels.npy", np.stack([preprocessor(photo(name)) for name in PHOTOS]))
    reference = np.load(run_open_clip_reference(root / "model", TEXTS, root / "pixels.npy"))
    return root / "model", reference


@pytest.fixture(scope="module")
async def engine(built):
    model_dir, _ = built
    created = await engine_for(str(model_dir))
    yield created
    await created.close()


async def test_family_detected_and_converted(engine, built):
    spec = engine.runner(None).spec
    assert spec.family == "open_clip" and spec.dimension == 16 and spec.max_text_tokens == 77
    assert spec.logit_scale == pytest.approx(float(built[1]["logit_scale"]), rel=1e-5)


async def test_text_parity_single_and_batch(engine, built):
    reference = built[1]["text"]
    assert_parity(await texts(engine, TEXTS), reference)
    for text, row in zip(TEXTS, reference, strict=True):
        assert_parity(await texts(engine, [text]), row[None, :])


async def test_image_parity(engine, built):
    assert_parity(await images(engine, [photo(name) for name in PHOTOS]), built[1]["image"])


def test_tokenizer_matches_open_clips_simple_tokenizer(built):
    tokenizer = open_clip.clip_tokenizer()
    for text, row in zip(TEXTS, built[1]["tokens"], strict=True):
        expected = [int(t) for t in row if t != 0]
        assert tokenizer(text)["input_ids"] == expected


def test_pretrained_tags_resolve_through_open_clips_registry():
    assert open_clip.parse_source("ViT-B-32::laion2b_s34b_b79k") == ("ViT-B-32", "laion2b_s34b_b79k")
    assert (
        open_clip._pretrained_repo("ViT-B-32", "laion2b_s34b_b79k") == "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
    )
    config = open_clip.open_clip_config("ViT-B-32", "laion2b_s34b_b79k")
    assert config["model_cfg"]["embed_dim"] == 512
    assert resolve("open_clip:ViT-B-32::laion2b_s34b_b79k").family == "open_clip"


def test_offline_tag_fails_clearly():
    if open_clip.native_open_clip() is not None:
        pytest.skip("native open_clip present")
    with pytest.raises(ConfigurationError, match=r"unreachable|local cache"):
        load_adapter(resolve("ViT-B-32::laion2b_s34b_b79k"))


@pytest.mark.parametrize("entry", ["MobileCLIP/mobileclip_s1", "MobileCLIP/mobileclip_b"])
def test_timm_towers_need_native_open_clip(entry):
    if open_clip.native_open_clip() is not None:
        pytest.skip("native open_clip present: MobileCLIP loads for real there")
    with pytest.raises(ConfigurationError, match="timm"):
        load_adapter(resolve(entry))


def test_unsupported_options_are_refused():
    from omniembed.models.open_clip_convert import transformers_config

    for section, option in (
        ("vision_cfg", {"attentional_pool": True}),
        ("text_cfg", {"no_causal_mask": True}),
    ):
        cfg = {**OPEN_CLIP_CONFIG, section: {**OPEN_CLIP_CONFIG[section], **option}}
        with pytest.raises(ConfigurationError, match=next(iter(option))):
            transformers_config(cfg)
