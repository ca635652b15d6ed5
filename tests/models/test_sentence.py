"""sentence-transformers: our vectors vs `SentenceTransformer.encode` on the real MiniLM weights."""

from __future__ import annotations

import pytest

from omniembed.engine.engine import Engine
from omniembed.engine.items import TextInput
from tests.support.parity import assert_parity

TEXTS = ["hello world", "The quick brown fox jumps over the lazy dog near the river bank.", "a", "Ünïcødé ✓"]


@pytest.fixture(scope="module")
def sentence_model(minilm_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir), device="cpu")


async def test_single_items_match_encode(engine: Engine, sentence_model):
    for text in TEXTS:
        ours = await engine.embed("minilm", [TextInput(text)])
        assert_parity(ours.embeddings, sentence_model.encode([text]))


async def test_mixed_batch_matches_encode(engine: Engine, sentence_model):
    ours = await engine.embed("minilm", [TextInput(t) for t in TEXTS])
    found = assert_parity(ours.embeddings, sentence_model.encode(TEXTS), minimum=0.99999)
    assert found.min() > 0.99999


async def test_spec_reads_the_models_own_config(engine: Engine):
    spec = engine.runner("minilm").spec
    assert spec.dimension == 384
    assert spec.max_text_tokens == 256  # sentence_bert_config.json max_seq_length
    assert spec.modalities == ("text",)


async def test_long_text_truncated_like_encode(engine: Engine, sentence_model):
    text = "token " * 600
    ours = await engine.embed("minilm", [TextInput(text)])
    assert_parity(ours.embeddings, sentence_model.encode([text]))
