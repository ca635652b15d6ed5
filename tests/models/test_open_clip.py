"""open_clip: our vectors vs open_clip's own tokenizer, transform and `encode_text` / `encode_image`,
in-process, for every open_clip architecture the catalog names (tiny random configs of each: the
real block types, fewer and narrower layers); the registry and refusal behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed.catalog import load_catalog
from omniembed.engine.bootstrap import load_model
from omniembed.engine.items import EmbedOptions, ImageInput, TextInput
from omniembed.errors import ConfigurationError
from omniembed.models import open_clip
from omniembed.models.registry import resolve
from tests.support.engines import engine_for, images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity
from tests.support.tiny_open_clip import build_tiny_open_clip, open_clip_reference

TEXTS = [
    "a photo of a cat",
    "hello",
    "an astronaut riding a horse on the moon in a very detailed oil painting",
    "x",
]
PHOTOS = ["chelsea", "rocket", "coffee"]


def catalog_architectures() -> list[str]:
    """Every open_clip architecture the catalog names: open_clip entries and the CLIP entries' tags."""
    found = []
    for entry in load_catalog().entries:
        tag = entry.source if entry.family == "open_clip" else entry.open_clip
        if tag:
            found.append(tag.partition("::")[0])
    return sorted(set(found))


ARCHITECTURES = catalog_architectures()


@pytest.fixture(scope="module", params=ARCHITECTURES)
def built(request, tmp_path_factory):
    directory = build_tiny_open_clip(tmp_path_factory.mktemp("open_clip") / request.param, request.param)
    pictures = [photo(name) for name in PHOTOS]
    return request.param, directory, open_clip_reference(directory, TEXTS, pictures)


@pytest.fixture(scope="module")
async def engine(built):
    created = await engine_for(str(built[1]))
    yield created
    await created.close()


def test_catalog_names_every_mobileclip():
    for expected in ("MobileCLIP-S1", "MobileCLIP-S2", "MobileCLIP-B", "ViT-B-32", "ViT-L-14"):
        assert expected in ARCHITECTURES
    for size in ("S0", "S2", "B", "S3", "S4", "L-14"):
        assert f"MobileCLIP2-{size}" in ARCHITECTURES


async def test_text_parity_single_and_batch(engine, built):
    reference = built[2]["text"]
    assert_parity(await texts(engine, TEXTS), reference)
    for text, row in zip(TEXTS, reference, strict=True):
        assert_parity(await texts(engine, [text]), row[None, :])


async def test_image_parity_single_and_batch(engine, built):
    reference = built[2]["image"]
    assert_parity(await images(engine, [photo(name) for name in PHOTOS]), reference)
    assert_parity(await images(engine, [photo(PHOTOS[1])]), reference[1:2])


async def test_mixed_request(engine, built):
    """Texts and images in one request come back in order, each equal to its reference."""
    items = [TextInput(TEXTS[0]), ImageInput(image=photo(PHOTOS[0])), TextInput(TEXTS[3])]
    result = await engine.embed(None, items, EmbedOptions())  # type: ignore[arg-type]
    reference = built[2]
    expected = np.stack([reference["text"][0], reference["image"][0], reference["text"][3]])
    assert_parity(result.embeddings, expected)


async def test_spec_and_calibration(engine, built):
    spec = engine.runner(None).spec
    assert spec.family == "open_clip" and spec.dimension == 32 and spec.max_text_tokens == 77
    assert spec.logit_scale == pytest.approx(built[2]["logit_scale"], rel=1e-5)


def test_tokenizer_matches_open_clips_simple_tokenizer(built):
    tokenizer = open_clip.clip_tokenizer()
    for text, row in zip(TEXTS, built[2]["tokens"], strict=True):
        assert tokenizer(text)["input_ids"] == [int(t) for t in row if t != 0]


def test_mobileclip_branches_are_fused(tmp_path):
    """The served FastViT has no train-time branches left (timm's reparameterize_model ran)."""
    directory = build_tiny_open_clip(tmp_path / "m", "MobileCLIP2-S0")
    adapter = load_model(resolve(str(directory)))
    model = adapter.resources[0]
    mixers = [m for m in model.modules() if type(m).__name__ == "RepMixer"]
    assert mixers and all(getattr(m, "reparam_conv", None) is not None for m in mixers)


def test_pretrained_tags_resolve_through_open_clips_registry():
    assert open_clip.parse_source("ViT-B-32::laion2b_s34b_b79k") == ("ViT-B-32", "laion2b_s34b_b79k")
    assert resolve("open_clip:ViT-B-32::laion2b_s34b_b79k").family == "open_clip"
    assert resolve("MobileCLIP2/mobileclip2_s4").source == "MobileCLIP2-S4::dfndr2b"


@pytest.mark.parametrize(
    "entry", ["MobileCLIP/mobileclip_s1", "MobileCLIP2/mobileclip2_s0", "CLIP/clip-vit-b-32"]
)
def test_catalog_facts_match_open_clips_configs(entry):
    import open_clip as reference

    found = load_catalog().find(entry)
    assert found is not None
    arch, tag = (found.source if found.family == "open_clip" else str(found.open_clip)).split("::")
    config = reference.get_model_config(arch)
    assert found.dimension == config["embed_dim"] and found.image_size == config["vision_cfg"]["image_size"]
    assert tag in reference.list_pretrained_tags_by_model(arch)


def test_offline_tag_fails_clearly():
    with pytest.raises(ConfigurationError, match=r"open_clip cannot load"):
        load_model(resolve("MobileCLIP/mobileclip_s1"))
