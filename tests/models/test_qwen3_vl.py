"""A VLM embedder (tiny random Qwen3-VL as sentence-transformers publishes Qwen3-VL-Embedding) through
the engine: parity with `SentenceTransformer.encode` on texts, images, a video, interleaved items and
chat messages, alone and in mixed batches joined across requests."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.items import (
    ChatInput,
    EmbedOptions,
    ImageInput,
    InterleavedInput,
    Message,
    TextInput,
    VideoInput,
    VideoOptions,
)
from omniembed.errors import CapabilityError, InputTooLongError
from omniembed.media.payload import MediaReference
from omniembed.models.base import Truncation
from omniembed.models.registry import resolve
from tests.support.parity import assert_parity
from tests.support.tiny_qwen3_vl import build_tiny_qwen3_vl

TEXTS = ["a photo of a cat", "the quick brown fox jumps over the lazy dog near the river", "rocket"]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_qwen3_vl(tmp_path_factory.mktemp("qwen3vl") / "model")


@pytest.fixture(scope="module")
def reference(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def images():
    from skimage import data

    return [
        Image.fromarray(data.astronaut()),
        Image.fromarray(data.chelsea()),
        Image.fromarray(data.coffee()),
    ]


@pytest.fixture
async def engine(model_dir):
    built = Engine()
    await built.add(load_model(resolve(f"vl={model_dir}")))
    yield built
    await built.close()


async def embed(engine, items, **options):
    result = await engine.embed("vl", items, EmbedOptions(**options))
    return result


async def test_spec_declares_native_interleaving(engine):
    spec = engine.runner("vl").spec
    assert spec.family == "qwen3_vl"
    assert spec.interleaved == "native"
    assert set(spec.modalities) == {"text", "image", "video"}
    assert spec.capabilities()["interleaved"] == "native"


async def test_texts_single_and_batched(engine, reference):
    batched = await embed(engine, [TextInput(t) for t in TEXTS])
    assert_parity(batched.embeddings, reference.encode(TEXTS))
    for text in TEXTS:
        assert_parity((await embed(engine, [TextInput(text)])).embeddings, reference.encode([text]))
    assert batched.item_tokens == [int(reference.preprocess([t])["input_ids"].shape[1]) for t in TEXTS]


async def test_query_prompt_is_the_models_own(engine, reference):
    result = await embed(engine, [TextInput(t) for t in TEXTS], input_type="search_query")
    assert_parity(result.embeddings, reference.encode(TEXTS, prompt_name="query"))


async def test_images_and_image_bytes(engine, reference, images):
    result = await embed(engine, [ImageInput(image=image) for image in images])
    assert_parity(result.embeddings, reference.encode(images))
    decoded = await embed(engine, [ImageInput(reference=MediaReference(data=png(images[1])))])
    assert_parity(decoded.embeddings, reference.encode([images[1]]))


async def test_interleaved_item_is_one_model_input(engine, reference, images):
    item = InterleavedInput((TextInput("a cat on a sofa"), ImageInput(image=images[1])))
    result = await embed(engine, [item])
    expected = reference.encode([{"text": "a cat on a sofa", "image": images[1]}])
    assert_parity(result.embeddings, expected)
    separate = await embed(engine, [TextInput("a cat on a sofa"), ImageInput(image=images[1])])
    mean = separate.embeddings.sum(axis=0)
    assert float(result.embeddings[0] @ (mean / np.linalg.norm(mean))) < 0.9999  # not a mean of parts


async def test_chat_messages(engine, reference, images):
    chat = ChatInput(
        (
            Message("system", (TextInput("Represent the user's input."),)),
            Message("user", (ImageInput(image=images[0]), TextInput("an astronaut"))),
        )
    )
    expected = reference.encode(
        [
            [
                {"role": "system", "content": [{"type": "text", "text": "Represent the user's input."}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "image": images[0]},
                        {"type": "text", "text": "an astronaut"},
                    ],
                },
            ]
        ]
    )
    assert_parity((await embed(engine, [chat])).embeddings, expected)


async def test_video_frames_with_their_rate(engine, reference):
    from omniembed.media.video import VideoLimits, decode_video
    from tests.support.media import video_path

    data = video_path().read_bytes()
    result = await embed(engine, [VideoInput(MediaReference(data=data), VideoOptions(num_frames=4))])
    decoded = decode_video(data, VideoLimits(), num_frames=4)
    frames = np.stack([np.asarray(frame) for frame in decoded.frames])
    rate = len(decoded.timestamps) / decoded.duration_s
    metadata = {
        "fps": rate,
        "total_num_frames": len(frames),
        "duration": decoded.timestamps[-1] + 1 / rate,
        "frames_indices": list(range(len(frames))),
    }
    expected = reference.encode([{"array": frames, "video_metadata": metadata}])
    assert_parity(result.embeddings, expected)


async def test_mixed_batch_joined_across_requests(engine, reference, images):
    """Concurrent requests of every kind share forward passes and still match encode one by one."""
    items = [
        TextInput(TEXTS[0]),
        ImageInput(image=images[2]),
        InterleavedInput((TextInput("coffee"), ImageInput(image=images[2]))),
        TextInput(TEXTS[1]),
    ]
    expected = [
        reference.encode([TEXTS[0]]),
        reference.encode([images[2]]),
        reference.encode([{"text": "coffee", "image": images[2]}]),
        reference.encode([TEXTS[1]]),
    ]
    results = await asyncio.gather(*(embed(engine, [item]) for item in items))
    for result, reference_row in zip(results, expected, strict=True):
        assert_parity(result.embeddings, reference_row)
    batcher = engine.runner("vl").batchers["fused"]
    assert batcher.forward_passes < batcher.items_forwarded + 1  # some passes carried several items


async def test_truncation_none_refuses_and_chunk_is_refused(engine):
    long_text = "the quick brown fox " * 400
    with pytest.raises(InputTooLongError):
        await engine.embed("vl", [TextInput(long_text)], EmbedOptions(truncation=Truncation.NONE))
    with pytest.raises(CapabilityError):
        await engine.embed("vl", [TextInput("a")], EmbedOptions(truncation=Truncation.CHUNK))
    short = await embed(engine, [TextInput(long_text)], max_tokens=16)
    assert short.item_tokens == [16]


def test_catalog_vlm_entries():
    from omniembed.catalog import load_catalog
    from omniembed.errors import ConfigurationError

    catalog = load_catalog()
    for name, dimension in (("Qwen/Qwen3-VL-Embedding-2B", 2048), ("Qwen/Qwen3-VL-Embedding-8B", 4096)):
        entry = catalog.find(name)
        assert entry is not None and entry.family == "qwen3_vl" and entry.dimension == dimension
        assert entry.interleaved == "native" and entry.unsupported is None
        assert max(entry.matryoshka_dims) == dimension and {"query", "document"} <= set(entry.prompts)
    unsupported = [entry for entry in catalog.entries if entry.unsupported]
    assert {entry.source for entry in unsupported} >= {"TIGER-Lab/VLM2Vec-Full", "royokong/e5-v"}
    for entry in unsupported:
        assert entry.public()["supported"] is False
        with pytest.raises(ConfigurationError, match="Cannot serve"):
            resolve(entry.source)


def test_bare_qwen3_vl_checkpoint_is_detected_and_pooled_on_the_last_token(model_dir, reference):
    """A Qwen3-VL checkpoint without sentence-transformers files gets the published module stack."""
    request = resolve(str(model_dir.with_name(model_dir.name + "-bare")))
    assert request.family == "qwen3_vl"
    adapter = load_model(request)
    assert adapter.spec.interleaved == "native" and adapter.fused is not None
    feature = adapter.fused.preprocess(["a photo of a cat"])
    row = adapter.fused.forward(adapter.fused.collate([feature]))
    assert_parity(row, reference.encode(["a photo of a cat"]))


async def test_visual_budget_scales_images_down_before_the_processor(model_dir, images):
    from omniembed.engine.engine import InputPolicy

    counts = []
    for budget in (1_843_200, 40 * 40):
        engine = Engine(policy=InputPolicy(visual_max_pixels=budget))
        await engine.add(load_model(resolve(f"vl={model_dir}")))
        result = await engine.embed("vl", [ImageInput(reference=MediaReference(data=png(images[0])))])
        counts.append(result.item_tokens[0])
        await engine.close()
    assert counts[1] < counts[0]  # fewer visual tokens for the smaller budget


async def test_processor_refusals_are_input_errors(engine, images):
    """Visual tokens cut by a too-small max_tokens: the processor refuses, the caller gets a 400."""
    from omniembed.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="processor refused"):
        await engine.embed("vl", [ImageInput(image=images[0])], EmbedOptions(max_tokens=8))
    assert (await embed(engine, [TextInput("still serving")])).embeddings.shape == (1, 64)


async def test_batch_cost_counts_visual_tokens(engine, images):
    """The batcher budgets an image item by its real sequence, visual tokens included."""
    tower = engine.runner("vl").adapter.fused
    text, image = tower.preprocess(["a cat"]), tower.preprocess([images[0]])
    visual = int((image["input_ids"] == tower.model.tokenizer.convert_tokens_to_ids("<|image_pad|>")).sum())
    assert visual >= 16
    assert tower.cost(image) == image["input_ids"].shape[1] >= tower.cost(text) + visual


def test_joining_a_text_first_keeps_later_items_pixels(engine, reference, images):
    """The batch's first item decides nothing: a text joined before an image keeps the image's
    pixels and per-sample counts (the order concurrent requests happen to arrive in)."""
    tower = engine.runner("vl").adapter.fused
    features = [tower.preprocess(["a cat"]), tower.preprocess([images[2]]), tower.preprocess(["a dog"])]
    rows = tower.forward(tower.collate(features))
    assert_parity(np.stack(rows), reference.encode(["a cat", images[2], "a dog"]))
