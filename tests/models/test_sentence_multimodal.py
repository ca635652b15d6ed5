"""Any sentence-transformers model with more than text: a CLIP saved as a sentence-transformers model
with a Dense layer on top is served by its own module stack (not the CLIP family), one part per model
input, and an item of several parts is the normalized mean of its parts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.items import ChatInput, EmbedOptions, ImageInput, InterleavedInput, Message, TextInput
from omniembed.errors import CapabilityError
from omniembed.models.registry import resolve
from tests.support.parity import assert_parity, normalized
from tests.support.tiny_models import build_tiny_clip

TEXTS = ["a photo of a cat", "a rocket on the launch pad", "coffee"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Transformer

    clip_dir = build_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")
    torch.manual_seed(3)
    transformer = Transformer(str(clip_dir))
    dense = Dense(in_features=16, out_features=12, activation_function=torch.nn.Tanh())
    directory = tmp_path_factory.mktemp("clip-st") / "model"
    prompts = {"query": "a photo of ", "document": ""}
    SentenceTransformer(modules=[transformer, dense, Normalize()], prompts=prompts).save(str(directory))
    return directory


@pytest.fixture(scope="module")
def reference(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def images():
    from skimage import data

    return [Image.fromarray(data.chelsea()), Image.fromarray(data.astronaut())]


@pytest.fixture
async def engine(model_dir):
    built = Engine()
    await built.add(load_model(resolve(f"st={model_dir}")))
    yield built
    await built.close()


async def test_served_by_its_module_stack(engine, reference, images):
    spec = engine.runner("st").spec
    assert (spec.family, spec.interleaved, spec.dimension) == ("sentence_transformers", "mean", 12)
    assert spec.modalities == ("text", "image")
    texts = await engine.embed("st", [TextInput(t) for t in TEXTS])
    assert_parity(texts.embeddings, reference.encode(TEXTS))
    pictures = await engine.embed("st", [ImageInput(image=image) for image in images])
    assert_parity(pictures.embeddings, reference.encode(images))
    queries = await engine.embed("st", [TextInput(t) for t in TEXTS], EmbedOptions(input_type="search_query"))
    assert_parity(queries.embeddings, reference.encode(TEXTS, prompt_name="query"))


async def test_mixed_request_and_interleaved_mean(engine, reference, images):
    item = InterleavedInput((TextInput(TEXTS[0]), ImageInput(image=images[0])))
    chat = ChatInput((Message("user", (TextInput(TEXTS[1]), ImageInput(image=images[1]))),))
    result = await engine.embed("st", [TextInput(TEXTS[2]), item, ImageInput(image=images[1]), chat])
    text_rows, image_rows = reference.encode(TEXTS), reference.encode(images)
    expected = np.stack(
        [
            text_rows[2],
            normalized(text_rows[0] + image_rows[0]),
            image_rows[1],
            normalized(text_rows[1] + image_rows[1]),
        ]
    )
    assert_parity(result.embeddings, expected)


async def test_matryoshka_and_missing_modality(engine, reference):
    short = await engine.embed("st", [TextInput(TEXTS[0])], EmbedOptions(dimensions=12))
    assert short.embeddings.shape == (1, 12)
    from omniembed.engine.items import AudioInput
    from omniembed.media.payload import MediaReference

    with pytest.raises(CapabilityError, match="cannot embed audio"):
        await engine.embed("st", [AudioInput(reference=MediaReference(data=b"RIFF"))])
