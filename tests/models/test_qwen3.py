"""Qwen3-Embedding: last-token pooling over left-padded batches, instruction prompts, Matryoshka."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed.engine.items import EmbedOptions, TextInput
from tests.support.engines import engine_for, texts
from tests.support.parity import assert_parity
from tests.support.tiny_models import build_tiny_qwen3

TEXTS = [
    "what is the capital of china?",
    "Explain gravity",
    "a",
    "the quick brown fox jumps over the lazy dog",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_qwen3(tmp_path_factory.mktemp("qwen3") / "model")


@pytest.fixture(scope="module")
def bare_dir(model_dir):
    return model_dir.with_name(model_dir.name + "-bare")


@pytest.fixture(scope="module")
def reference(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


async def test_sentence_transformers_repo_matches_encode(model_dir, reference):
    engine = await engine_for(str(model_dir))
    spec = engine.runner(None).spec
    assert spec.family == "qwen3_embedding"
    assert engine.runner(None).adapter.text.windows.padding_side == "left"
    assert_parity(await texts(engine, TEXTS), reference.encode(TEXTS))
    for text in TEXTS:
        assert_parity(await texts(engine, [text]), reference.encode([text]))
    queries = await engine.embed(None, [TextInput(t) for t in TEXTS], EmbedOptions(input_type="search_query"))
    assert_parity(queries.embeddings, reference.encode(TEXTS, prompt_name="query"))
    await engine.close()


async def test_bare_checkpoint_gets_last_token_pooling(bare_dir):
    """Without sentence-transformers config, the family's own definition: left pad, last token, L2."""
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(bare_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(bare_dir, padding_side="left")
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state[:, -1]
    expected = torch.nn.functional.normalize(hidden, dim=-1).numpy()
    engine = await engine_for(str(bare_dir))
    assert_parity(await texts(engine, TEXTS), expected)
    await engine.close()


async def test_catalog_entry_gives_matryoshka_and_instruction(model_dir):
    from omniembed.catalog import load_catalog
    from omniembed.engine.bootstrap import load_model
    from omniembed.engine.engine import Engine
    from omniembed.models.registry import LoadRequest

    entry = load_catalog().find("QwenText/qwen3-embedding-0.6b")
    assert entry is not None and entry.matryoshka_dims[0] == 32
    engine = Engine()
    await engine.add(
        load_model(LoadRequest(name=entry.id, source=str(model_dir), family=entry.family, entry=entry))
    )
    spec = engine.runner(None).spec
    full = (await engine.embed(None, [TextInput("cats")])).embeddings[0]
    assert spec.matryoshka_dims == (32, 64)  # the catalog's sizes this 64-d tiny model has
    cut = (await engine.embed(None, [TextInput("cats")], EmbedOptions(dimensions=32))).embeddings[0]
    np.testing.assert_allclose(cut, full[:32] / np.linalg.norm(full[:32]), atol=1e-6)
    await engine.close()
