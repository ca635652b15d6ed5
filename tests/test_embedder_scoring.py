"""`Embedder.score` / `Embedder.classify` give what `/v1/score` / `/v1/classify` answer, refusals included."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from omniembed import Embedder
from omniembed.engine.items import ImageInput, InterleavedInput, TextInput
from omniembed.errors import InvalidInputError, PayloadTooLargeError
from omniembed.media.payload import MediaReference
from tests.support.media import data_uri, encode, photo

PHOTOS = {name: encode(photo(name)) for name in ("chelsea", "coffee", "rocket")}


def image(name: str) -> dict:
    return {"type": "image_url", "image_url": {"url": data_uri(PHOTOS[name])}}


@pytest.fixture(scope="module")
def clip_embedder(tiny_clip_dir) -> Iterator[Embedder]:
    with Embedder(f"tiny-clip={tiny_clip_dir}", batch_wait_ms=1) as built:
        yield built


@pytest.fixture(scope="module")
def text_embedder(minilm_dir) -> Iterator[Embedder]:
    with Embedder(f"minilm={minilm_dir}", batch_wait_ms=1, max_items_per_request=8) as built:
        yield built


async def test_score_equals_the_route(client, clip_embedder):
    queries = ["a cat", "coffee", image("chelsea")]
    documents = [image("coffee"), "a rocket", [{"type": "text", "text": "x"}, image("rocket")]]
    body = {"model": "tiny-clip", "queries": queries, "documents": documents}
    answer = (await client.post("/v1/score", json=body)).json()
    ours = clip_embedder.score(
        ["a cat", "coffee", PHOTOS["chelsea"]],
        [
            PHOTOS["coffee"],
            "a rocket",
            InterleavedInput([TextInput("x"), ImageInput(reference=MediaReference(data=PHOTOS["rocket"]))]),
        ],
    )
    assert ours.model == answer["model"] and ours.activation == answer["activation"] == "softmax"
    np.testing.assert_allclose(ours.similarities, answer["scores"], atol=1e-5)
    np.testing.assert_allclose(ours.logits, answer["logits"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.probabilities, answer["probabilities"], atol=1e-5)
    assert ours.prompt_tokens == answer["usage"]["prompt_tokens"]


async def test_score_with_input_types_equals_the_route(client, text_embedder):
    body = {"model": "minilm", "queries": ["cats"], "documents": ["a cat", "a car"]}
    body |= {"query_input_type": "search_query", "document_input_type": "search_document"}
    answer = (await client.post("/v1/score", json=body)).json()
    ours = text_embedder.score(
        ["cats"], ["a cat", "a car"], query_input_type="search_query", document_input_type="search_document"
    )
    np.testing.assert_allclose(ours.similarities, answer["scores"], atol=1e-5)
    assert ours.logits is None and answer["logits"] is None


@pytest.mark.parametrize("multi_label", [False, True])
async def test_classify_equals_the_route(client, text_embedder, multi_label):
    inputs = ["The striker scored twice in the final match.", "Simmer the sauce and add basil."]
    labels, templates = ["sports", "cooking", "astronomy"], ["This text is about {}.", "{}"]
    body = {"model": "minilm", "inputs": inputs, "labels": labels, "templates": templates}
    answer = (await client.post("/v1/classify", json=body | {"multi_label": multi_label})).json()
    ours = text_embedder.classify(inputs, labels, templates=templates, multi_label=multi_label)
    assert ours.top_labels() == [row["label"] for row in answer["data"]] == ["sports", "cooking"]
    for ranking, row in zip(ours.ranked(), answer["data"], strict=True):
        assert [label for label, _, _ in ranking] == [entry["label"] for entry in row["labels"]]
        np.testing.assert_allclose([p for _, p, _ in ranking], [e["score"] for e in row["labels"]], atol=1e-5)
        np.testing.assert_allclose(
            [s for _, _, s in ranking], [e["similarity"] for e in row["labels"]], atol=1e-5
        )
    assert ours.calibrated is answer["calibrated"] and ours.multi_label is answer["multi_label"]


async def test_image_classification_equals_the_route(client, clip_embedder):
    labels = ["cat", "cup of coffee", "rocket"]
    body = {"model": "tiny-clip", "inputs": [image("chelsea"), image("rocket")], "labels": labels}
    answer = (await client.post("/v1/classify", json=body)).json()
    ours = clip_embedder.classify([PHOTOS["chelsea"], PHOTOS["rocket"]], labels)  # "a photo of a {}."
    for ranking, row in zip(ours.ranked(), answer["data"], strict=True):
        np.testing.assert_allclose([p for _, p, _ in ranking], [e["score"] for e in row["labels"]], atol=1e-5)
    assert ours.prompt_tokens >= 0 and ours.calibrated is answer["calibrated"] is True


@pytest.mark.parametrize(
    ("inputs", "labels", "templates", "error"),
    [
        (["x"], [], None, InvalidInputError),
        ([], ["a"], None, InvalidInputError),
        (["x"], ["a", " "], None, InvalidInputError),
        (["x"], ["a"], ["no placeholder"], InvalidInputError),
        (["x"], ["a", "b", "c"], ["{} 1", "{} 2", "{} 3"], PayloadTooLargeError),  # 9 prompts > 8
        (["x"] * 9, ["a"], None, PayloadTooLargeError),
    ],
)
def test_classify_refuses_what_the_route_refuses(text_embedder, inputs, labels, templates, error):
    with pytest.raises(error):
        text_embedder.classify(inputs, labels, templates=templates)


def test_score_refuses_empty_lists(text_embedder):
    with pytest.raises(InvalidInputError, match="empty"):
        text_embedder.score([], ["a"])
