"""Request schema of OpenAI's `/v1/embeddings`, with omniembed's multimodal content parts and the
request extensions of vLLM and Infinity that their clients send to the same route (vLLM's chat-style
`messages` body included: its EmbeddingChatRequest shares the route and the options)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.content import ChatMessage, ContentPart
from omniembed.api.fields import MAX_TOKENS, Dimensions, Name, Text

# A string is a text, or with Infinity's `modality` an image or a sound (a data URI far longer than
# any text): its length is checked once its kind is known (api/inputs.py, text_item).
InputItem = str | int | ContentPart | list[ContentPart | int]
EncodingFormat = Literal["float", "base64", "int8", "uint8", "binary", "ubinary"]
TOP_K_LIMIT = 2**31 - 1


class EmbedFields(BaseModel):
    """What `/v1/embeddings` and vLLM's `/pooling` share: the inputs and vLLM's embedding options."""

    # An unknown field is a 400 naming it (as OpenAI answers), never silently ignored.
    model_config = ConfigDict(extra="forbid")

    model: Name | None = Field(default=None, description="served model id (default: the first served model)")
    input: str | list[InputItem] | None = Field(
        default=None,
        description="a string, a list of strings, or a list whose items are content parts or lists of "
        "parts (one vector per item; a list of parts is fused into one vector); or send `messages`",
    )
    messages: list[ChatMessage] | None = Field(
        default=None,
        description="vLLM: a chat-style conversation embedded as one vector (instead of `input`)",
    )
    encoding_format: EncodingFormat = Field(
        default="float",
        description="float | base64 (float32 little-endian), or quantized: int8 | uint8 | binary | ubinary",
    )
    dimensions: Dimensions | None = Field(default=None, description="Matryoshka models only")
    user: Text | None = None
    # Extensions (ignored by OpenAI's own API, understood here):
    normalize: bool | None = Field(default=None, description="L2-normalize (default: the model's default)")
    input_type: Name | None = Field(default=None, description="prompt name, e.g. query / document")
    truncation: Literal["end", "start", "none", "chunk"] = Field(
        default="end", description="long texts: keep the start, keep the end, refuse, or chunk and average"
    )
    # Infinity's extension: what the strings in `input` are.
    modality: Literal["text", "image", "audio"] | None = Field(
        default=None, description="Infinity: 'image' reads each input string as an image data URI or URL"
    )
    # vLLM's extensions, with vLLM's meaning.
    embed_dtype: Literal["float32", "float16", "bfloat16"] = Field(
        default="float32", description="vLLM: value type of base64 output"
    )
    endianness: Literal["native", "big", "little"] = Field(
        default="native", description="vLLM: byte order of base64 output"
    )
    truncate_prompt_tokens: int | None = Field(
        default=None,
        ge=-1,
        le=MAX_TOKENS,
        description="vLLM: keep at most this many tokens (special tokens included), the last ones "
        "unless truncation_side='right'; -1: the model's context",
    )
    truncation_side: Literal["left", "right"] | None = Field(
        default=None, description="vLLM: 'left' (default) keeps the last tokens, 'right' the first"
    )
    use_activation: bool | None = Field(default=None, description="vLLM's name for normalize")
    add_special_tokens: bool | None = Field(
        default=None,
        description="vLLM: only the default is supported (true for input; false for messages, whose chat "
        "template adds the special tokens)",
    )
    # vLLM's chat options (with `messages`): the model's own chat template is applied as its reference
    # applies it, so only their defaults are accepted (see serving.py).
    add_generation_prompt: bool = Field(default=False, description="vLLM (messages): only false")
    continue_final_message: bool = Field(default=False, description="vLLM (messages): only false")
    chat_template: Text | None = Field(default=None, description="vLLM (messages): not supported")
    chat_template_kwargs: dict[str, Any] | None = Field(
        default=None, description="vLLM (messages): not supported"
    )
    mm_processor_kwargs: dict[str, Any] | None = Field(default=None, description="vLLM: not supported")
    priority: int | None = Field(
        default=None, ge=-(2**63), le=2**63 - 1, description="vLLM: accepted, unused"
    )


class EmbeddingRequest(EmbedFields):
    # Extensions for models with other outputs than one vector per item.
    return_multivector: bool | None = Field(
        default=None,
        description="Jina: each embedding is the item's matrix of token (or patch) vectors, with its "
        "`shape` [n_tokens, dim] (late-interaction models)",
    )
    output: Literal["dense", "multivector", "sparse"] | None = Field(
        default=None,
        description="dense (one vector), multivector (= return_multivector) or sparse "
        "(`{indices, values}` per item: learned-sparse models)",
    )
    sparse_top_k: int | None = Field(
        default=None, le=TOP_K_LIMIT, description="sparse: keep the k largest weights of each item"
    )
    sparse_min_weight: float | None = Field(default=None, description="sparse: drop the weights below this")
    return_tokens: bool = Field(
        default=False, description="sparse: also `tokens`, each index decoded by the model's tokenizer"
    )
