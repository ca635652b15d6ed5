"""Tokenization shared by every Hugging Face tokenizer-based text tower.

Texts are tokenized without special tokens in one batched call, then windowed (truncate from
either end, refuse, or chunk into overlapping windows) and wrapped in the model's own special
tokens, which are discovered by probing the tokenizer once. Padding happens per batch, to the
longest window in it (or to a fixed length where the model was trained that way, e.g. SigLIP).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from omniembed.errors import InputTooLongError, InvalidInputError
from omniembed.models.base import TextFeature, Truncation

_PROBE = "omniembed probe text"
# Texts the Rust backend must tokenize exactly as the tokenizer does before it is used alone.
_BACKEND_PROBES = (
    _PROBE,
    "Hello, World!  A photo of TWO cats.",
    "  leading, trailing and\tinner   whitespace \n",
    "Ünïcödé àccents, 東京タワー, emoji 🙂 and symbols ©®™ 1,234.56",
)


class TokenWindows:
    def __init__(
        self,
        tokenizer: Any,
        max_length: int,
        *,
        pad_to_max_length: bool = False,
        padding_side: str | None = None,
        chunk_overlap: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.pad_to_max_length = pad_to_max_length
        self.padding_side = padding_side or getattr(tokenizer, "padding_side", "right") or "right"
        self.prefix, self.suffix = _special_tokens(tokenizer)
        capacity = self.max_length - len(self.prefix) - len(self.suffix)
        if capacity < 1:
            raise ValueError(f"max_length {max_length} leaves no room for text")
        # Windows overlap by an eighth of their length so no sentence is only ever seen cut in two.
        self.chunk_overlap = chunk_overlap if chunk_overlap is not None else max(1, capacity // 8)
        pad_id = tokenizer.pad_token_id
        if pad_id is None:
            pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        self.pad_id = int(pad_id)
        self.with_token_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
        self.backend = _backend(tokenizer)

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        if self.backend is not None:
            # One text (a query, a caption) needs no batch machinery: 20 instead of 45 us, and
            # no hop to the backend's thread pool on the event loop.
            if len(texts) == 1:
                return [self.backend.encode(texts[0], add_special_tokens=False).ids]
            return [each.ids for each in self.backend.encode_batch(list(texts), add_special_tokens=False)]
        # verbose=False: over-long texts are expected here; the windows below handle them.
        encoded = self.tokenizer(
            list(texts), add_special_tokens=False, return_attention_mask=False, verbose=False
        )
        return [list(ids) for ids in encoded["input_ids"]]

    def encode(
        self,
        texts: Sequence[str],
        truncation: Truncation,
        prompt: str | None = None,
        max_tokens: int | None = None,
        add_special_tokens: bool = True,
    ) -> list[list[TextFeature]]:
        """`add_special_tokens=False` (vLLM's flag) leaves out the template's special tokens: the
        caller's text is the whole model input."""
        limit = min(self.max_length, max_tokens) if max_tokens else self.max_length
        wrap = (self.prefix, self.suffix) if add_special_tokens else ([], [])
        capacity = limit - len(wrap[0]) - len(wrap[1])
        if capacity < 1:
            raise InvalidInputError(f"max_tokens={max_tokens} leaves no room for text.", param="max_tokens")
        joined = [f"{prompt}{text}" for text in texts] if prompt else list(texts)
        bodies = self._tokenize(joined)
        prompt_ids = self._tokenize([prompt])[0] if prompt else []
        results: list[list[TextFeature]] = []
        for index, body in enumerate(bodies):
            if len(body) <= capacity:
                results.append([self._window(body, len(body) - len(prompt_ids), len(prompt_ids), wrap)])
                continue
            text_ids = self._strip_prompt(body, prompt_ids, texts[index])
            windows = self._overflow(index, text_ids, prompt_ids, truncation, capacity, limit)
            results.append([self._window(ids, weight, len(prompt_ids), wrap) for ids, weight in windows])
        return results

    def _strip_prompt(self, body: list[int], prompt_ids: list[int], text: str) -> list[int]:
        if not prompt_ids:
            return body
        if body[: len(prompt_ids)] == prompt_ids:
            return body[len(prompt_ids) :]
        return self._tokenize([text])[0]

    def _overflow(
        self,
        index: int,
        text_ids: list[int],
        prompt_ids: list[int],
        truncation: Truncation,
        capacity: int,
        limit: int,
    ) -> list[tuple[list[int], int]]:
        """The windows' token ids (prompt included, special tokens not) and weights."""
        room = capacity - len(prompt_ids)
        if room < 1:
            raise InvalidInputError("The prompt alone fills the model's context.", param="input_type")
        if truncation is Truncation.NONE:
            raise InputTooLongError(
                f"Input {index} has {len(text_ids) + len(prompt_ids) + limit - capacity} "
                f"tokens; the context is {limit} and truncation is off.",
                param=f"input[{index}]",
            )
        if truncation is Truncation.END:
            return [(prompt_ids + text_ids[:room], room)]
        if truncation is Truncation.START:
            return [(prompt_ids + text_ids[-room:], room)]
        stride = max(1, room - min(self.chunk_overlap, room - 1))
        windows = []
        for start in range(0, len(text_ids), stride):
            piece = text_ids[start : start + room]
            windows.append((prompt_ids + piece, len(piece)))
            if start + room >= len(text_ids):
                break
        return windows

    @staticmethod
    def _window(
        body: list[int], weight: int, prompt_tokens: int, wrap: tuple[list[int], list[int]]
    ) -> TextFeature:
        prefix, suffix = wrap
        prompt_length = len(prefix) + prompt_tokens if prompt_tokens else 0
        return TextFeature(ids=[*prefix, *body, *suffix], weight=max(1, weight), prompt_length=prompt_length)

    def pad(self, features: Sequence[TextFeature]) -> dict[str, np.ndarray]:
        length = self.max_length if self.pad_to_max_length else max(len(f.ids) for f in features)
        input_ids = np.full((len(features), length), self.pad_id, dtype=np.int64)
        attention = np.zeros((len(features), length), dtype=np.int64)
        for row, feature in enumerate(features):
            count = len(feature.ids)
            span = slice(length - count, length) if self.padding_side == "left" else slice(0, count)
            input_ids[row, span] = feature.ids
            attention[row, span] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention}
        if self.with_token_types:
            batch["token_type_ids"] = np.zeros_like(input_ids)
        return batch


def _backend(tokenizer: Any) -> Any | None:
    """A copy of the tokenizer's Rust backend without truncation or padding, when it gives the same
    ids as the tokenizer itself on the probes (wrappers that rewrite text in Python do not)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()
    copy.no_padding()
    for text in _BACKEND_PROBES:
        expected = list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        if copy.encode(text, add_special_tokens=False).ids != expected:
            return None
    return copy


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a text, found by tokenizing a probe both ways."""
    plain = list(tokenizer(_PROBE, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(_PROBE, add_special_tokens=True)["input_ids"])
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain) :]
    raise ValueError("Could not locate the text inside the tokenizer's special-token template")
