"""`omniembed serve` with no model configured serves the starter and finds the cat by meaning."""

from __future__ import annotations

import os

import httpx
import numpy as np
import pytest

from tests.support.media import data_uri, encode
from tests.support.server import running_server
from tests.support.starter_set import PHOTOS, load


@pytest.fixture(scope="module")
def server(models_cache, starter_engine):  # starter_engine has filled models_cache already
    env = {
        key: ""
        for key in ("OMNIEMBED_MODELS", "OMNIEMBED_MODEL", "EMBEDDING_MODEL_NAME")
        if key in os.environ
    }
    with running_server(["--models-dir", str(models_cache)], env=env) as running:
        yield running


def test_logs_that_it_is_the_starter(server):
    log = server.output()
    assert "small offline starter model" in log
    assert "CLIP/clip-vit-b-32" in log


def test_model_card_states_limits_and_quality(server):
    card = httpx.get(f"{server.url}/v1/models/omniembed/starter").json()
    assert "ImageNet" in card["description"] and "cannot read text" in card["description"]
    assert card["catalog"]["quality"]["text_to_image_top1"] == "8/8"


def test_cat_photo_found_by_text_over_http(server):
    photos = [
        {"type": "image_url", "image_url": {"url": data_uri(encode(load(name)))}} for name, _, _ in PHOTOS
    ]
    images = httpx.post(f"{server.url}/v1/embeddings", json={"input": photos}, timeout=120).json()
    query = httpx.post(f"{server.url}/v1/embeddings", json={"input": "a photo of a cat"}, timeout=60).json()
    image_vectors = np.asarray([row["embedding"] for row in images["data"]])
    scores = image_vectors @ np.asarray(query["data"][0]["embedding"])
    assert PHOTOS[int(np.argmax(scores))][0] == "chelsea"
    assert images["model"] == "omniembed/starter"
