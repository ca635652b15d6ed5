"""A tiny random-weight CLAP (transformers `ClapModel`) with a real `ClapProcessor`, built offline:
a RoBERTa byte-level BPE tokenizer trained on a small corpus, and `ClapFeatureExtractor` with its
real default arguments (48 kHz, 10 s windows, 64 mel bins)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import torch

from tests.support.tiny_models import corpus

# RoBERTa's order: CLAP's text config expects <pad> at id 1 (its default pad_token_id).
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
AUDIO_TEXTS = ["a dog barking", "speech of a man", "a pure sine tone", "white noise burst", "music playing"]


@functools.cache
def roberta_vocab_and_merges() -> tuple[dict[str, int], list[str]]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=700, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator([*corpus(), *AUDIO_TEXTS], trainer)
    data = json.loads(tokenizer.to_str())["model"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in data["merges"]]
    return data["vocab"], merges


def build_tiny_clap(directory: Path, *, fused: bool = False, seed: int = 0) -> Path:
    """`fused` builds the feature-fusion variant (laion/clap-htsat-fused) and its processor settings."""
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    torch.manual_seed(seed)
    vocab, merges = roberta_vocab_and_merges()
    tokenizer = RobertaTokenizer(
        vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], model_max_length=512
    )
    config = ClapConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 514,
            "projection_dim": 16,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        audio_config={
            "hidden_size": 64,  # 8 x patch_embeds_hidden_size: three 2x merges of the Swin stages
            "patch_embeds_hidden_size": 8,
            "depths": [1, 1, 1, 1],
            "num_attention_heads": [1, 1, 2, 2],
            "window_size": 8,
            "projection_dim": 16,
            "enable_fusion": fused,
        },
        projection_dim=16,
    )
    model = ClapModel(config).eval()
    # Random batch-norm statistics, so the mel normalization is exercised rather than the identity.
    with torch.no_grad():
        model.audio_model.audio_encoder.batch_norm.running_mean.uniform_(-60, -20)
        model.audio_model.audio_encoder.batch_norm.running_var.uniform_(50, 400)
        model.logit_scale_a.fill_(3.0)
        model.logit_scale_t.fill_(2.5)
    model.save_pretrained(directory)
    extractor = ClapFeatureExtractor(truncation="fusion" if fused else "rand_trunc")
    ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(directory)
    return directory
