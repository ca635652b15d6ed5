"""Tiny random rerankers: a BERT sequence classifier with one label, saved bare (as BGE rerankers and
ms-marco cross-encoders are published) and as a sentence-transformers CrossEncoder."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.support.tiny_late_interaction import minilm_tokenizer

# A query and documents the rerank tests share: a clear match, misses, a document longer than the
# tiny models' 64-token context, and a tie with the first.
QUERY = "how long should cold brew coffee steep"
DOCUMENTS = [
    "Cold brew steeps for twelve to eighteen hours in the fridge.",
    "The rocket launched at dawn.",
    "coffee",
    "A horse and a dog near the river bank on a sunny day " * 20,  # longer than the 64-token context
    "Cold brew steeps for twelve to eighteen hours in the fridge.",  # a tie with the first
]


def build_tiny_reranker(directory: Path, *, seed: int = 0, max_length: int = 64) -> Path:
    """A bare `BertForSequenceClassification` (num_labels=1) with MiniLM's real tokenizer."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = minilm_tokenizer()
    tokenizer.model_max_length = max_length
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=128,
        num_labels=1,
    )
    BertForSequenceClassification(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_tiny_cross_encoder(directory: Path, *, seed: int = 0) -> Path:
    """The same kind of model saved by sentence-transformers, with its activation (sigmoid) named."""
    from sentence_transformers import CrossEncoder

    bare = build_tiny_reranker(directory.with_name(directory.name + "-bare"), seed=seed)
    CrossEncoder(str(bare), device="cpu").save(str(directory))
    return directory


def build_tiny_vl_reranker(directory: Path, *, seed: int = 1) -> Path:
    """A multimodal reranker as Qwen3-VL-Reranker and jina-reranker-m0 are published for
    sentence-transformers: a generative VLM (tiny random Qwen3-VL) read through its chat template,
    scored by `LogitScore` (the "yes" logit minus the "no" logit at the last position)."""
    from sentence_transformers import CrossEncoder
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.cross_encoder.modules import LogitScore
    from transformers import AutoConfig, AutoProcessor, Qwen3VLForConditionalGeneration

    from tests.support.tiny_qwen3_vl import build_tiny_qwen3_vl

    embedder = build_tiny_qwen3_vl(directory.with_name(directory.name + "-embedder"))
    bare = embedder.with_name(embedder.name + "-bare")
    generator = directory.with_name(directory.name + "-generator")
    torch.manual_seed(seed)
    Qwen3VLForConditionalGeneration(AutoConfig.from_pretrained(bare)).eval().save_pretrained(generator)
    processor = AutoProcessor.from_pretrained(bare)
    processor.save_pretrained(generator)
    tokenizer = processor.tokenizer
    yes, no = (tokenizer(word, add_special_tokens=False)["input_ids"][0] for word in ("yes", "no"))
    transformer = Transformer(
        str(generator), transformer_task="any-to-any", processor_kwargs={"padding_side": "left"}
    )
    CrossEncoder(modules=[transformer, LogitScore(true_token_id=yes, false_token_id=no)]).save(str(directory))
    return directory
