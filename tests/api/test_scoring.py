"""`/v1/score` and `/v1/classify`."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.media import data_uri, encode, photo


def image(name: str) -> dict:
    return {"type": "image_url", "image_url": {"url": data_uri(encode(photo(name)))}}


async def test_score_matrix_matches_numpy_from_embeddings(client):
    queries = ["a cat", "coffee", image("chelsea")]
    documents = [
        image("coffee"),
        image("chelsea"),
        "a rocket",
        [{"type": "text", "text": "x"}, image("rocket")],
    ]
    response = await client.post(
        "/v1/score", json={"model": "tiny-clip", "queries": queries, "documents": documents}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    q = np.asarray(
        [
            r["embedding"]
            for r in (
                await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": queries})
            ).json()["data"]
        ]
    )
    d = np.asarray(
        [
            r["embedding"]
            for r in (
                await client.post("/v1/embeddings", json={"model": "tiny-clip", "input": documents})
            ).json()["data"]
        ]
    )
    expected = q @ d.T
    np.testing.assert_allclose(body["scores"], expected, atol=1e-5)
    scale = (await client.get("/v1/models/tiny-clip")).json()["capabilities"]["logit_scale"]
    np.testing.assert_allclose(body["logits"], scale * expected, rtol=1e-4, atol=1e-4)
    probabilities = np.asarray(body["probabilities"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)  # softmax over documents
    assert body["activation"] == "softmax"


async def test_score_without_calibration_reports_cosines_only(client):
    body = (
        await client.post("/v1/score", json={"model": "minilm", "queries": ["a"], "documents": ["b", "c"]})
    ).json()
    assert body["logits"] is None and body["probabilities"] is None
    assert np.asarray(body["scores"]).shape == (1, 2)


SENTIMENT = ["positive", "negative"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I absolutely love this, it is wonderful and makes me so happy!", "positive"),
        ("This is terrible. I hate it, worst purchase ever.", "negative"),
    ],
)
async def test_text_zero_shot_on_real_minilm(client, text, expected):
    body = {"model": "minilm", "inputs": [text], "labels": SENTIMENT, "templates": ["This text is {}."]}
    result = (await client.post("/v1/classify", json=body)).json()
    assert result["data"][0]["label"] == expected, result
    scores = [entry["score"] for entry in result["data"][0]["labels"]]
    assert abs(sum(scores) - 1) < 1e-5 and scores == sorted(scores, reverse=True)


async def test_topic_classification_and_label_cache(client, engine):
    from omniembed.api.state import Services

    labels = ["sports", "cooking", "astronomy"]
    inputs = [
        "The striker scored twice in the final match.",
        "Simmer the sauce and add basil.",
        "The telescope saw a distant galaxy.",
    ]
    first = (
        await client.post("/v1/classify", json={"model": "minilm", "inputs": inputs, "labels": labels})
    ).json()
    assert [row["label"] for row in first["data"]] == labels
    app_services: Services = client._transport.app.state.services  # the app behind the client
    hits = app_services.scoring.label_cache_hits
    await client.post("/v1/classify", json={"model": "minilm", "inputs": inputs[:1], "labels": labels})
    assert app_services.scoring.label_cache_hits == hits + 1


async def test_multi_label_scores_are_independent(client):
    body = {
        "model": "minilm",
        "inputs": ["A recipe for a chocolate cake."],
        "labels": ["food", "dessert", "war"],
        "multi_label": True,
    }
    result = (await client.post("/v1/classify", json=body)).json()
    scores = {entry["label"]: entry["score"] for entry in result["data"][0]["labels"]}
    assert scores["war"] < 0.5 < scores["dessert"]
    assert result["multi_label"] is True


async def test_image_classification_uses_photo_template(starter_client):
    labels = ["cat", "cup of coffee", "rocket"]
    inputs = [image("chelsea"), image("coffee"), image("rocket")]
    result = (await starter_client.post("/v1/classify", json={"inputs": inputs, "labels": labels})).json()
    assert [row["label"] for row in result["data"]] == labels


@pytest.mark.parametrize(
    "body",
    [
        {"model": "minilm", "inputs": ["x"], "labels": []},
        {"model": "minilm", "inputs": [], "labels": ["a"]},
        {"model": "minilm", "inputs": ["x"], "labels": ["a", " "]},
        {"model": "minilm", "inputs": ["x"], "labels": ["a"], "templates": ["no placeholder"]},
        {"model": "minilm", "inputs": [image("chelsea")], "labels": ["a"]},
    ],
)
async def test_classify_errors(client, body):
    response = await client.post("/v1/classify", json=body)
    assert response.status_code == 400, response.text


async def test_score_errors(client):
    assert (
        await client.post("/v1/score", json={"model": "minilm", "queries": [], "documents": ["a"]})
    ).status_code == 400
    assert (await client.post("/v1/score", json={"model": "minilm", "queries": ["a"]})).status_code == 400
