"""Tiny random-weight models built from the real config classes, saved to temp directories.

They exercise the real code paths (transformers, sentence-transformers) with real tokenizers, without
any download; open_clip's are in tiny_open_clip.py.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import torch

from omniembed.models.open_clip import clip_tokenizer

CORPUS_WORDS = " ".join(
    [
        "a photo of a cat dog horse rocket coffee cup astronaut motorcycle camera clock tree car boat bird",
        "the quick brown fox jumps over the lazy dog near the river bank on a sunny day",
        "embeddings vectors search retrieval image text video frame model query document passage",
        "小猫 小狗 咖啡 火箭 宇航员 摩托车 相机 时钟 一张照片",
    ]
)


def corpus() -> list[str]:
    from omniembed.catalog import imagenet_class_names

    words = CORPUS_WORDS.split()
    lines = [" ".join(words[i : i + 9]) for i in range(0, len(words), 3)]
    return lines + [f"a photo of a {name}." for name in imagenet_class_names()]


def _save_processor(processor, directory: Path) -> None:
    processor.save_pretrained(directory)


def build_tiny_clip(
    directory: Path, *, seed: int = 0, image_size: int = 64, projection_dim: int = 16
) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "bos_token_id": 49406,
            "eos_token_id": 49407,
            "pad_token_id": 49407,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 16,
        },
        projection_dim=projection_dim,
    )
    CLIPModel(config).eval().save_pretrained(directory)
    tokenizer = clip_tokenizer()
    tokenizer.pad_token = "<|endoftext|>"  # as the OpenAI checkpoints on the hub
    tokenizer.save_pretrained(directory)
    size = {"shortest_edge": image_size}
    _save_processor(
        CLIPImageProcessor(size=size, crop_size={"height": image_size, "width": image_size}), directory
    )
    return directory


@functools.cache
def sentencepiece_model() -> bytes:
    import io

    import sentencepiece

    buffer = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()),
        model_writer=buffer,
        vocab_size=400,
        model_type="unigram",
        unk_id=2,
        bos_id=-1,
        eos_id=1,
        pad_id=0,
        unk_piece="<unk>",
        eos_piece="</s>",
        pad_piece="<pad>",
        character_coverage=1.0,
        minloglevel=2,
    )
    return buffer.getvalue()


def build_tiny_siglip(directory: Path, *, seed: int = 0) -> Path:
    """SiglipModel with a real sentencepiece SiglipTokenizer trained on a small corpus."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipTokenizer

    torch.manual_seed(seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spiece.model").write_bytes(sentencepiece_model())
    tokenizer = SiglipTokenizer(vocab_file=str(directory / "spiece.model"))
    config = SiglipConfig(
        text_config={
            "vocab_size": tokenizer.vocab_size,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": None,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
    )
    model = SiglipModel(config).eval()
    with torch.no_grad():
        model.logit_bias.fill_(-2.5)  # a trained-looking bias, so sigmoid calibration is exercised
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    _save_processor(SiglipImageProcessor(size={"height": 64, "width": 64}), directory)
    return directory


@functools.cache
def bpe_vocab_and_merges(byte_level: bool) -> tuple[dict[str, int], list[str]]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=None if byte_level else "<unk>"))
    tokenizer.pre_tokenizer = (
        pre_tokenizers.ByteLevel(add_prefix_space=False) if byte_level else pre_tokenizers.Metaspace()
    )
    special = ["<|endoftext|>"] if byte_level else ["<pad>", "<eos>", "<bos>", "<unk>"]
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if byte_level else [],
    )
    tokenizer.train_from_iterator(corpus(), trainer)
    data = json.loads(tokenizer.to_str())["model"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in data["merges"]]
    return data["vocab"], merges


def build_tiny_siglip2(directory: Path, *, seed: int = 0) -> Path:
    """Siglip2Model (NaFlex) with a Gemma BPE tokenizer trained on a small corpus."""
    from transformers import GemmaTokenizer, Siglip2Config, Siglip2ImageProcessor, Siglip2Model

    torch.manual_seed(seed)
    vocab, merges = bpe_vocab_and_merges(byte_level=False)
    tokenizer = GemmaTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges])
    config = Siglip2Config(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "pad_token_id": 0,
            "eos_token_id": 1,
            "bos_token_id": 2,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_patches": 64,
            "patch_size": 8,
        },
    )
    model = Siglip2Model(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    _save_processor(Siglip2ImageProcessor(patch_size=8, max_num_patches=64), directory)
    return directory


def build_tiny_chinese_clip(directory: Path, bert_dir: Path, *, seed: int = 0) -> Path:
    from transformers import AutoTokenizer, ChineseCLIPConfig, ChineseCLIPImageProcessor, ChineseCLIPModel

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(bert_dir)
    config = ChineseCLIPConfig(
        text_config={
            "vocab_size": tokenizer.vocab_size,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 512,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
        projection_dim=16,
    )
    ChineseCLIPModel(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    crop = {"height": 64, "width": 64}
    _save_processor(ChineseCLIPImageProcessor(size={"shortest_edge": 64}, crop_size=crop), directory)
    return directory


def build_tiny_blip2(directory: Path, bert_dir: Path, *, seed: int = 0) -> Path:
    from transformers import AutoTokenizer, Blip2Config, Blip2ForImageTextRetrieval, BlipImageProcessor

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(bert_dir)
    config = Blip2Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 16,
        },
        qformer_config={
            "vocab_size": tokenizer.vocab_size,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "encoder_hidden_size": 32,
            "use_qformer_text_input": True,
            "max_position_embeddings": 512,
        },
        num_query_tokens=4,
        image_text_hidden_size=16,
    )
    Blip2ForImageTextRetrieval(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    _save_processor(BlipImageProcessor(size={"height": 32, "width": 32}), directory)
    return directory


def qwen3_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab, merges = bpe_vocab_and_merges(byte_level=True)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    eos = vocab["<|endoftext|>"]
    # Qwen3-Embedding's tokenizer appends <|endoftext|>, the token whose state is pooled.
    backend.post_processor = processors.TemplateProcessing(
        single="$A <|endoftext|>", special_tokens=[("<|endoftext|>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>", padding_side="left"
    )


def build_tiny_qwen3(directory: Path, *, seed: int = 0, sentence_transformers_config: bool = True) -> Path:
    from transformers import Qwen3Config, Qwen3Model

    torch.manual_seed(seed)
    tokenizer = qwen3_tokenizer()
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=512,
    )
    bare = directory if not sentence_transformers_config else directory.with_name(directory.name + "-bare")
    Qwen3Model(config).eval().save_pretrained(bare)
    tokenizer.save_pretrained(bare)
    if not sentence_transformers_config:
        return directory
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(bare), processor_kwargs={"padding_side": "left"})
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="lasttoken")
    prompts = {
        "query": "Instruct: Given a web search query, retrieve relevant passages\nQuery:",
        "document": "",
    }
    SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=prompts).save(str(directory))
    return directory
