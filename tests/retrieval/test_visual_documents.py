"""Visual-document retrieval end to end with a tiny random ColPali and a tiny random SPLADE, on both
stores: PDF pages rendered and indexed as image items (page number and text layer in the payload),
a keyword query naming one page's words returns that page first (by construction: BM25 on the text
layer), the MaxSim path equals a brute-force MaxSim of the engine's own query and page matrices, and
a SPLADE collection's keyword ranking equals the dot products of the model's own sparse vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omniembed.engine.bootstrap import engine_from_settings, load_models
from omniembed.engine.items import EmbedOptions, TextInput
from omniembed.errors import CapabilityError, MediaDecodeError
from omniembed.retrieval.ingest import IndexReport, index_file
from omniembed.retrieval.service import CollectionService
from tests.conftest import make_settings
from tests.retrieval.pdfs import text_pdf
from tests.support import tiny_late_interaction as tiny

PAGES = [
    ["load balancer configuration diagram", "upstream pool health checks"],
    ["cold brew steeping time", "coarse grind ratio"],
    ["glacier hiking permit form", "crampons ice axe"],
    ["quarterly revenue spreadsheet", "invoice totals"],
    ["violin rosin bow hair", "string tension"],
]


@pytest.fixture(scope="module")
async def li_engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("late-interaction")
    colpali = tiny.build_tiny_colpali(root / "colpali")
    splade = tiny.build_tiny_splade(root / "splade")
    settings = make_settings([f"tiny-colpali={colpali}", f"tiny-splade={splade}"])
    built = engine_from_settings(settings)
    await load_models(built, settings)
    yield built
    await built.close()


@pytest.fixture
def pdf(tmp_path) -> Path:
    path = tmp_path / "manual.pdf"
    path.write_bytes(text_pdf(PAGES))
    return path


async def index_pdf(service: CollectionService, collection: str, pdf: Path) -> IndexReport:
    report = IndexReport()
    await index_file(service, collection, pdf, "manual.pdf", report, 200, 40, pdf_pages=True)
    return report


def maxsim(query: np.ndarray, page: np.ndarray) -> float:
    return float((query @ page.T).max(axis=1).sum())


async def test_pdf_pages_keyword_and_exact_maxsim(li_engine, store, pdf):
    service = CollectionService(li_engine, store)
    config = await service.create("manual", "tiny-colpali")
    assert config.output == "multivector" and config.sparse == "bm25"
    report = await index_pdf(service, "manual", pdf)
    assert report.items == len(PAGES) and not report.failed
    stored = await service.retrieve("manual", [f"manual.pdf#{i}" for i in range(len(PAGES))])
    by_page = {point.payload["page"]: point for point in stored}
    assert sorted(by_page) == [1, 2, 3, 4, 5]
    for number, point in by_page.items():
        assert point.payload["source"] == "manual.pdf" and point.payload["modality"] == "image"
        assert PAGES[number - 1][0] in point.payload["text"]
        assert point.multivector is not None and len(point.multivector) > 1
        np.testing.assert_allclose(point.vector, _unit(np.mean(point.multivector, axis=0)), atol=1e-5)
    # Keyword on the text layer: the page naming the words comes first.
    for number, lines in enumerate(PAGES, start=1):
        hits = await service.search("manual", text=lines[1], mode="keyword", top_k=3)
        assert hits[0].id == f"manual.pdf#{number - 1}" and hits[0].metadata["page"] == number
    # MaxSim over every page equals brute force on the engine's own matrices.
    query = "load balancer configuration diagram"
    options = EmbedOptions(output="multivector", input_type="search_query")
    (matrix,) = (await li_engine.embed("tiny-colpali", [TextInput(query)], options)).multivectors
    scores = {pid: maxsim(matrix, np.array(p.multivector)) for pid, p in _ids(stored).items()}
    expected = sorted(scores, key=lambda pid: -scores[pid])
    for extra in ({"exact": True}, {"candidates": 50}):
        hits = await service.search("manual", text=query, mode="dense", top_k=5, **extra)
        assert [hit.id for hit in hits] == expected
        np.testing.assert_allclose(
            [hit.score for hit in hits], [scores[pid] for pid in expected], atol=1e-5, rtol=0
        )
    hybrid = await service.search("manual", text="glacier hiking permit form", top_k=5)
    assert len(hybrid) == 5


async def test_learned_sparse_collection(li_engine, store, pdf):
    service = CollectionService(li_engine, store)
    config = await service.create("splade-pages", "tiny-colpali", sparse="tiny-splade")
    assert config.sparse == "tiny-splade"
    await index_pdf(service, "splade-pages", pdf)
    texts = ["\n".join(lines) for lines in PAGES]
    documents = await li_engine.embed(
        "tiny-splade",
        [TextInput(t) for t in texts],
        EmbedOptions(output="sparse", input_type="search_document"),
    )
    query = "cold brew steeping time"
    (wanted,) = (
        await li_engine.embed(
            "tiny-splade", [TextInput(query)], EmbedOptions(output="sparse", input_type="search_query")
        )
    ).sparse
    scores = [_dot(wanted, vector) for vector in documents.sparse]
    expected = [f"manual.pdf#{i}" for i in np.argsort(scores)[::-1]]
    hits = await service.search("splade-pages", text=query, mode="keyword", top_k=5)
    assert [hit.id for hit in hits] == expected
    np.testing.assert_allclose([hit.score for hit in hits], sorted(scores, reverse=True), rtol=1e-4)
    hybrid = await service.search("splade-pages", text=query, mode="hybrid", top_k=5)
    assert {hit.id for hit in hybrid} == set(expected)


async def test_model_checks_and_a_malformed_pdf(li_engine, store, tmp_path):
    service = CollectionService(li_engine, store)
    with pytest.raises(CapabilityError):
        await service.create("wrong", "tiny-splade")  # a sparse model is the sparse side, not the model
    with pytest.raises(CapabilityError):
        await service.create("wrong", "tiny-colpali", sparse="tiny-colpali")
    await service.create("broken", "tiny-colpali")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(MediaDecodeError, match="PDF"):
        await index_pdf(service, "broken", bad)
    assert (await service.describe("broken"))[1] == 0


def _ids(points) -> dict:
    return {point.id: point for point in points}


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _dot(a, b) -> float:
    common, ia, ib = np.intersect1d(a.indices, b.indices, return_indices=True)
    return float(np.dot(a.values[ia], b.values[ib])) if len(common) else 0.0
