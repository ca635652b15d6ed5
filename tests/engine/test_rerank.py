"""Reranking through the engine: cross-encoder scores equal `CrossEncoder.predict` (activation, order,
truncation), pairs of concurrent requests share batches, late-interaction models rerank by MaxSim."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, TextInput
from omniembed.engine.rerank import Reranker
from omniembed.errors import CapabilityError, InvalidInputError, PayloadTooLargeError
from omniembed.models.registry import resolve
from tests.support.tiny_cross_encoder import (
    DOCUMENTS,
    QUERY,
    build_tiny_cross_encoder,
    build_tiny_reranker,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("ce") / "model")


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    return build_tiny_reranker(tmp_path_factory.mktemp("reranker") / "model", seed=1)


async def served(source) -> Engine:
    engine = Engine()
    await engine.add(load_model(resolve(f"rr={source}")))
    return engine


@pytest.mark.parametrize("which", ["saved", "bare"])
async def test_scores_equal_cross_encoder_predict(request, which):
    from sentence_transformers import CrossEncoder

    source = request.getfixturevalue(which)
    reference = CrossEncoder(str(source), device="cpu")
    engine = await served(source)
    spec = engine.runner("rr").spec
    assert (spec.family, spec.output, spec.tasks) == ("cross_encoder", "score", ["rerank"])
    result = await Reranker(engine).rerank("rr", TextInput(QUERY), [TextInput(d) for d in DOCUMENTS])
    expected = reference.predict([(QUERY, d) for d in DOCUMENTS])
    np.testing.assert_allclose(result.scores, expected, atol=1e-5)
    assert result.order == sorted(range(len(DOCUMENTS)), key=lambda i: -float(expected[i]))
    assert result.order.index(0) < result.order.index(4)  # equal scores keep the documents' order
    single = await Reranker(engine).rerank("rr", TextInput(QUERY), [TextInput(DOCUMENTS[3])])
    np.testing.assert_allclose(single.scores, expected[3:4], atol=1e-5)  # truncated as predict truncates
    assert single.document_tokens == [64]
    raw = await Reranker(engine).rerank("rr", TextInput(QUERY), [TextInput(DOCUMENTS[0])], raw_scores=True)
    import torch

    logit = reference.predict([(QUERY, DOCUMENTS[0])], activation_fn=torch.nn.Identity())
    np.testing.assert_allclose(raw.scores, np.atleast_1d(logit), atol=1e-5)
    assert raw.raw and 1 / (1 + np.exp(-raw.scores[0])) == pytest.approx(result.scores[0], abs=1e-5)
    await engine.close()


async def test_concurrent_requests_share_batches_and_truncate_per_document(saved):
    from sentence_transformers import CrossEncoder

    reference = CrossEncoder(str(saved), device="cpu")
    engine = await served(saved)
    reranker = Reranker(engine)
    calls = [reranker.rerank("rr", TextInput(QUERY), [TextInput(d)]) for d in DOCUMENTS[:4]]
    results = await asyncio.gather(*calls)
    for result, document in zip(results, DOCUMENTS, strict=False):
        np.testing.assert_allclose(result.scores, reference.predict([(QUERY, document)]), atol=1e-5)
    batcher = engine.runner("rr").batchers["fused"]
    assert batcher.forward_passes < batcher.items_forwarded + 1
    cut = await reranker.rerank("rr", TextInput(QUERY), [TextInput(DOCUMENTS[0])], max_tokens_per_doc=3)
    tokenizer = reference.tokenizer
    shortened = tokenizer.decode(tokenizer(DOCUMENTS[0], add_special_tokens=False)["input_ids"][:3])
    np.testing.assert_allclose(cut.scores, reference.predict([(QUERY, shortened)]), atol=1e-5)
    await engine.close()


async def test_refusals(saved, tiny_clip_dir):
    engine = await served(saved)
    reranker = Reranker(engine)
    with pytest.raises(InvalidInputError):
        await reranker.rerank("rr", TextInput(QUERY), [])
    with pytest.raises(InvalidInputError, match="max_tokens_per_doc"):
        await reranker.rerank("rr", TextInput(QUERY), [TextInput("a")], max_tokens_per_doc=0)
    with pytest.raises(PayloadTooLargeError):
        await reranker.rerank("rr", TextInput(QUERY), [TextInput("a")] * 5000)
    with pytest.raises(CapabilityError):
        await engine.embed("rr", [TextInput("a")])  # a reranker gives no vectors
    await engine.add(load_model(resolve(f"clip={tiny_clip_dir}")))
    with pytest.raises(CapabilityError, match="not a reranker"):
        await reranker.rerank("clip", TextInput(QUERY), [TextInput("a")])
    await engine.close()


async def test_late_interaction_reranks_by_maxsim(tmp_path):
    from tests.support.tiny_late_interaction import build_tiny_colbert

    source = build_tiny_colbert(tmp_path / "colbert")
    engine = await served(source)
    result = await Reranker(engine).rerank("rr", TextInput(QUERY), [TextInput(d) for d in DOCUMENTS[:3]])
    query = await engine.embed(
        "rr", [TextInput(QUERY)], EmbedOptions(output="multivector", input_type="search_query")
    )
    docs = await engine.embed(
        "rr",
        [TextInput(d) for d in DOCUMENTS[:3]],
        EmbedOptions(output="multivector", input_type="search_document"),
    )
    # ColBERT's MaxSim by brute force: per query token its best document token, summed.
    expected = [float((query.multivectors[0] @ doc.T).max(axis=1).sum()) for doc in docs.multivectors]
    np.testing.assert_allclose(result.scores, expected, atol=1e-5)
    await engine.close()


async def test_multimodal_reranker_scores_image_documents(tmp_path):
    """A VLM reranker (LogitScore over a generative Qwen3-VL) scores text and image documents as
    `CrossEncoder.predict` does; pairs of both kinds share the model's batches."""
    import io

    from PIL import Image
    from sentence_transformers import CrossEncoder
    from skimage import data

    from omniembed.engine.items import ImageInput
    from omniembed.media.payload import MediaReference
    from tests.support.tiny_cross_encoder import build_tiny_vl_reranker

    source = build_tiny_vl_reranker(tmp_path / "vl-reranker")
    reference = CrossEncoder(str(source), device="cpu")
    photo = Image.fromarray(data.chelsea())
    png = io.BytesIO()
    photo.save(png, format="PNG")
    engine = await served(source)
    spec = engine.runner("rr").spec
    assert spec.output == "score" and "image" in spec.modalities
    documents = [
        TextInput("a cat on a sofa"),
        ImageInput(reference=MediaReference(data=png.getvalue())),
        TextInput("coffee"),
    ]
    result = await Reranker(engine).rerank("rr", TextInput("a cat"), documents)
    expected = reference.predict([("a cat", "a cat on a sofa"), ("a cat", photo), ("a cat", "coffee")])
    np.testing.assert_allclose(result.scores, expected, atol=1e-4)
    assert result.order == sorted(range(3), key=lambda i: -float(expected[i]))
    await engine.close()
