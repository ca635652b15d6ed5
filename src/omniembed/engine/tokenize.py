"""Tokenizing with a served model's own text tokenizer: the neutral calls behind `/tokenize`,
`/detokenize` and `/decode` (the HTTP shapes live in `api/tokenize.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omniembed.engine.engine import Engine, resolve_prompt
from omniembed.engine.runner import ModelRunner
from omniembed.errors import InvalidInputError, PayloadTooLargeError


@dataclass(frozen=True)
class Token:
    id: int
    text: str  # the token's own string (e.g. "▁cat", "##s", "[CLS]")
    special: bool
    start: int | None  # byte offsets of the token in the (prompted) text; None for special tokens
    stop: int | None


@dataclass(frozen=True)
class Tokenized:
    text: str  # what was tokenized: the prompt (if any) + the input
    tokens: list[Token]
    max_model_len: int

    @property
    def ids(self) -> list[int]:
        return [token.id for token in self.tokens]


def text_tokenizer(runner: ModelRunner) -> tuple[Any, int]:
    """The model's tokenizer (the one its text tower, or its fused tower's model, uses) and its
    context length."""
    tower: Any = runner.adapter.text
    while tower is not None and not hasattr(tower, "windows"):
        tower = getattr(tower, "base", None)  # compiled towers keep the torch tower's tokenizer
    tokenizer = getattr(getattr(tower, "windows", None), "tokenizer", None)
    fused: Any = runner.adapter.fused
    if tokenizer is None and fused is not None:
        tower = fused
        tokenizer = getattr(getattr(fused, "model", None), "tokenizer", None)
    if tokenizer is None or not callable(getattr(tokenizer, "convert_ids_to_tokens", None)):
        raise InvalidInputError(f"Model '{runner.spec.name}' has no text tokenizer to expose.", param="model")
    return tokenizer, int(tower.max_tokens)


def _tokenize_one(tokenizer: Any, text: str, add_special_tokens: bool, max_len: int) -> Tokenized:
    fast = bool(getattr(tokenizer, "is_fast", False))
    encoded = tokenizer(
        text,
        add_special_tokens=add_special_tokens,
        return_special_tokens_mask=True,
        return_offsets_mapping=fast,
        verbose=False,
    )
    ids = [int(i) for i in encoded["input_ids"]]
    strings = tokenizer.convert_ids_to_tokens(ids)
    special = encoded.get("special_tokens_mask") or [0] * len(ids)
    offsets = encoded.get("offset_mapping") or [None] * len(ids)
    # Character offsets → byte offsets, as TEI reports them.
    byte_at = [0]
    for char in text:
        byte_at.append(byte_at[-1] + len(char.encode()))
    tokens = []
    for token_id, string, is_special, span in zip(ids, strings, special, offsets, strict=True):
        start = stop = None
        if span is not None and not is_special:
            start, stop = byte_at[span[0]], byte_at[span[1]]
        tokens.append(Token(token_id, str(string), bool(is_special), start, stop))
    return Tokenized(text, tokens, max_len)


async def tokenize(
    engine: Engine,
    model: str | None,
    texts: Sequence[str],
    *,
    add_special_tokens: bool = True,
    input_type: str | None = None,
) -> list[Tokenized]:
    """Each text as the model tokenizes it, with `input_type`'s prompt (if any) in front."""
    runner = engine.runner(model)
    tokenizer, max_len = text_tokenizer(runner)
    prompt = resolve_prompt(runner.spec, input_type) or ""
    limit = engine.policy.max_text_chars
    for index, text in enumerate(texts):
        if len(text) > limit:  # the schemas check too; the Python API comes here directly
            raise PayloadTooLargeError(
                f"Text of {len(text)} characters; the limit is {limit}.", param=f"input[{index}]"
            )

    def run() -> list[Tokenized]:
        return [_tokenize_one(tokenizer, prompt + text, add_special_tokens, max_len) for text in texts]

    return await asyncio.to_thread(run)


async def chat_prompt(
    engine: Engine, model: str | None, messages: list[dict[str, Any]], **options: Any
) -> str:
    """Messages rendered by the model's chat template (vLLM's chat form of `/tokenize`)."""
    tokenizer, _ = text_tokenizer(engine.runner(model))
    if not getattr(tokenizer, "chat_template", None):
        raise InvalidInputError(
            "This model has no chat template; send `prompt` instead of `messages`.", param="messages"
        )
    try:
        rendered = tokenizer.apply_chat_template(messages, tokenize=False, **options)
    except (ValueError, TypeError, KeyError) as error:  # the template's own complaints about messages
        raise InvalidInputError(
            f"The chat template refused the messages: {error}", param="messages"
        ) from error
    return str(rendered)


async def detokenize(
    engine: Engine, model: str | None, sequences: Sequence[Sequence[int]], *, skip_special_tokens: bool
) -> list[str]:
    """Token ids back to text; ids outside the vocabulary are a 400."""
    tokenizer, _ = text_tokenizer(engine.runner(model))
    size = len(tokenizer)
    for row, ids in enumerate(sequences):
        bad = next((i for i in ids if not 0 <= i < size), None)
        if bad is not None:
            raise InvalidInputError(
                f"Token id {bad} is outside the vocabulary (0-{size - 1}).", param=f"tokens[{row}]"
            )

    def run() -> list[str]:
        return [
            str(tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)) for ids in sequences
        ]

    return await asyncio.to_thread(run)


async def vocabulary_tokens(
    engine: Engine, model: str | None, indices: Sequence[Sequence[int]]
) -> list[list[str]]:
    """The token string of each vocabulary id (a learned-sparse vector's indices)."""
    tokenizer, _ = text_tokenizer(engine.runner(model))

    def run() -> list[list[str]]:
        return [[str(t) for t in tokenizer.convert_ids_to_tokens([int(i) for i in ids])] for ids in indices]

    return await asyncio.to_thread(run)
