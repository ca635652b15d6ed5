"""Search with a rerank stage, on both stores: the first-stage hits' text read again by a tiny random
cross-encoder (scores equal `CrossEncoder.predict`), `top_n` kept, hits without text after them; the
HTTP route, the Python `Collection.search(rerank=...)` and `omniembed search --rerank`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.media.payload import MediaReference
from omniembed.models.registry import resolve
from omniembed.retrieval.rerank import RerankStage
from omniembed.retrieval.service import CollectionItem, CollectionService
from tests.conftest import make_settings
from tests.support.media import encode, photo
from tests.support.tiny_cross_encoder import build_tiny_cross_encoder

QUERY = "how long should cold brew coffee steep"
TEXTS = {
    "brew": "Cold brew steeps for twelve to eighteen hours in the fridge.",
    "rocket": "The rocket launched at dawn.",
    "coffee": "coffee",
    "horse": "A horse and a dog near the river bank on a sunny day",
}


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("rerank-search") / "model")


@pytest.fixture(scope="module")
def predicted(reranker_dir: Path) -> dict[str, float]:
    from sentence_transformers import CrossEncoder

    scores = CrossEncoder(str(reranker_dir), device="cpu").predict([(QUERY, t) for t in TEXTS.values()])
    return dict(zip(TEXTS, (float(s) for s in scores), strict=True))


@pytest.fixture(scope="module")
async def rr_engine(tiny_clip_dir: Path, reranker_dir: Path) -> AsyncIterator[Engine]:
    engine = Engine()
    for spec in (f"tiny-clip={tiny_clip_dir}", f"rr={reranker_dir}"):
        await engine.add(load_model(resolve(spec)))
    yield engine
    await engine.close()


async def filled(engine: Engine, store: Any) -> CollectionService:
    service = CollectionService(engine, store)
    await service.create("kb", "tiny-clip")
    items = [CollectionItem(id=key, modality="text", text=text) for key, text in TEXTS.items()]
    image = MediaReference(data=encode(photo("chelsea").resize((32, 32)), "PNG"))
    await service.add("kb", [*items, CollectionItem(id="cat", modality="image", media=image)])
    return service


def expected_order(predicted: dict[str, float]) -> list[str]:
    return sorted(predicted, key=lambda key: -predicted[key])


async def test_rerank_orders_by_the_cross_encoder(rr_engine, store, predicted):
    service = await filled(rr_engine, store)
    hits = await service.search("kb", text=QUERY, mode="dense", top_k=10, rerank=RerankStage("rr"))
    assert [hit.id for hit in hits] == [*expected_order(predicted), "cat"]  # the image has no text
    for hit in hits[:4]:
        assert hit.rerank_score == pytest.approx(predicted[hit.id], abs=1e-5)
    assert hits[4].rerank_score is None and "rerank_score" not in hits[4].public()
    top = await service.search("kb", text=QUERY, top_k=10, rerank=RerankStage("rr", top_n=2, candidates=5))
    assert [hit.id for hit in top] == expected_order(predicted)[:2]
    first = await service.search("kb", text=QUERY, mode="keyword", top_k=1)
    one = await service.search("kb", text=QUERY, mode="keyword", rerank=RerankStage("rr", candidates=1))
    assert [hit.id for hit in one] == [first[0].id]  # only the first-stage hits are read


async def test_rerank_refusals(rr_engine, store):
    service = await filled(rr_engine, store)
    with pytest.raises(CapabilityError) as embedder:
        await service.search("kb", text=QUERY, rerank=RerankStage("tiny-clip"))
    assert embedder.value.param == "rerank.model"
    image = MediaReference(data=encode(photo("chelsea").resize((32, 32)), "PNG"))
    with pytest.raises(InvalidInputError, match="query text"):
        await service.search("kb", image=image, rerank=RerankStage("rr"))
    for bad in (RerankStage("rr", top_n=0), RerankStage("rr", candidates=10**6), RerankStage("")):
        with pytest.raises(InvalidInputError):
            await service.search("kb", text=QUERY, rerank=bad)


async def test_http_search_with_rerank(rr_engine, predicted, tmp_path):
    settings = make_settings(["unused"], data_dir=tmp_path / "data")
    app = create_app(settings, engine=rr_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kb") as client:
        assert (
            await client.post("/v1/collections", json={"name": "kb", "model": "tiny-clip"})
        ).status_code == 201
        items = [{"id": key, "text": text} for key, text in TEXTS.items()]
        assert (await client.post("/v1/collections/kb/items", json={"items": items})).status_code == 200
        body = {"query": QUERY, "rerank": {"model": "rr", "top_n": 3, "candidates": 4}}
        response = await client.post("/v1/collections/kb/search", json=body)
        assert response.status_code == 200, response.text
        hits = response.json()["hits"]
        assert [hit["id"] for hit in hits] == expected_order(predicted)[:3]
        assert all(hit["rerank_score"] == pytest.approx(predicted[hit["id"]], abs=1e-5) for hit in hits)
        for rerank, named in (
            ({"model": "tiny-clip"}, "rerank.model"),
            ({"model": "rr", "top_n": 0}, "top_n"),
        ):
            refused = await client.post("/v1/collections/kb/search", json={"query": QUERY, "rerank": rerank})
            assert refused.status_code == 400 and named in refused.json()["error"]["param"], refused.text
        unknown = await client.post(
            "/v1/collections/kb/search", json={"query": QUERY, "rerank": {"model": "rr", "k": 1}}
        )
        assert unknown.status_code == 400 and "rerank.k" in unknown.text
    app.state.services.close()


def test_python_collection_and_cli_load_the_reranker(tmp_path, minilm_dir, reranker_dir, predicted):
    from omniembed import Embedder
    from omniembed.retrieval import Collection

    with Embedder(str(minilm_dir)) as embedder:
        kb = Collection.create("kb", embedder, data_dir=tmp_path / "data")
        kb.add([{"id": key, "text": text} for key, text in TEXTS.items()])
        hits = kb.search(QUERY, rerank={"model": f"rr={reranker_dir}", "top_n": 2})
        assert [hit.id for hit in hits] == expected_order(predicted)[:2]
        assert np.isclose(hits[0].rerank_score, predicted[hits[0].id], atol=1e-5)
        kb.close()
    env = {**os.environ, "OMNIEMBED_DATA_DIR": str(tmp_path / "data")}
    command = [
        sys.executable,
        "-m",
        "omniembed",
        "search",
        "kb",
        QUERY,
        "--rerank",
        f"rr={reranker_dir}",
        "-k",
        "2",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert [row[3] for row in rows] == expected_order(predicted)[:2]
    assert float(rows[0][1]) == pytest.approx(predicted[rows[0][3]], abs=1e-4)
