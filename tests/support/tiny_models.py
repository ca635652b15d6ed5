"""Tiny random-weight models built from the real config classes, saved to temp directories.

They exercise the real code paths (transformers, sentence-transformers) without any download.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
from pathlib import Path

import torch


@functools.cache
def _bytes_to_unicode() -> dict[int, str]:
    # GPT-2/CLIP byte-level BPE alphabet (same table as open_clip and transformers use).
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def open_clip_vocab_path() -> Path:
    """open_clip ships the CLIP BPE vocabulary; find it without importing open_clip (needs torchvision)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("open_clip_torch must be installed (pip install --no-deps open_clip_torch)")
    return Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"


def write_clip_tokenizer_files(directory: Path) -> tuple[Path, Path]:
    lines = gzip.decompress(open_clip_vocab_path().read_bytes()).decode("utf-8").split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [token + "</w>" for token in vocab]
    vocab.extend("".join(merge.split()) for merge in merges)
    vocab.extend(["<|startoftext|>", "<|endoftext|>"])
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = directory / "vocab.json", directory / "merges.txt"
    vocab_file.write_text(json.dumps({token: i for i, token in enumerate(vocab)}), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return vocab_file, merges_file


@functools.cache
def _bpe_files() -> tuple[Path, Path]:
    import tempfile

    return write_clip_tokenizer_files(Path(tempfile.mkdtemp(prefix="omniembed-bpe-")))


def clip_tokenizer():
    """A real CLIP BPE tokenizer (the OpenAI vocabulary open_clip ships)."""
    from transformers import CLIPTokenizer

    vocab_file, merges_file = _bpe_files()
    return CLIPTokenizer(vocab_file=str(vocab_file), merges_file=str(merges_file))


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
    model = CLIPModel(config).eval()
    model.save_pretrained(directory)
    clip_tokenizer().save_pretrained(directory)
    processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor.save_pretrained(directory)
    return directory
