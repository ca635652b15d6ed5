"""`/tokenize`, `/detokenize` (vLLM) and `/decode` (Hugging Face TEI) with the served model's tokenizer.

vLLM (vllm/entrypoints/openai protocol, serving_tokenization): `{"model"?, "prompt",
"add_special_tokens"?, "return_token_strs"?}` or `{"model"?, "messages", "add_generation_prompt"?}` →
`{"count", "max_model_len", "tokens", "token_strs"?}`; `/detokenize` `{"model"?, "tokens"}` →
`{"prompt"}`. TEI (router/src/http/types.rs): `{"inputs": str | [str], "add_special_tokens"?,
"prompt_name"?}` → one list of `{"id", "text", "special", "start", "stop"}` per input; `/decode`
`{"ids": [int] | [[int]], "skip_special_tokens"?}` → one string per sequence. Both dialects use
`POST /tokenize`: a body with `inputs` is TEI's, any other vLLM's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, RootModel

from omniembed.api.body import BODY_MODELS, limits, read_json, request_body, validate
from omniembed.api.errors import error_responses
from omniembed.api.fields import Name, Text
from omniembed.api.inputs import check_count
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.engine import tokenize as engine_tokenize
from omniembed.errors import InvalidInputError

router = APIRouter(tags=["tokenize"], responses=error_responses())

TokenIds = list[int]


class VllmTokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # vLLM's sampling/chat options do not apply here
    model: Name | None = None
    prompt: Text | None = None
    messages: list[dict[str, Any]] | None = Field(default=None, max_length=1024)
    add_special_tokens: bool | None = Field(
        default=None, description="default: true for prompt, false for messages"
    )
    add_generation_prompt: bool = True
    return_token_strs: bool = False


class VllmTokenizeResponse(BaseModel):
    count: int
    max_model_len: int
    tokens: list[int]
    token_strs: list[str] | None = None


class VllmDetokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name | None = None
    tokens: TokenIds = Field(max_length=1_048_576)


class VllmDetokenizeResponse(BaseModel):
    prompt: str


class TeiTokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name | None = Field(default=None, description="extension: which served model (default: the first)")
    inputs: Text | list[Text]
    add_special_tokens: bool = True
    prompt_name: Name | None = None


class TeiToken(BaseModel):
    id: int
    text: str
    special: bool
    start: int | None
    stop: int | None


class TeiDecodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: Name | None = Field(default=None, description="extension: which served model (default: the first)")
    ids: TokenIds | list[TokenIds]
    skip_special_tokens: bool = True


class _Object(RootModel[dict[str, Any]]):
    pass


# One path, two request shapes: documented as either schema (each registered for the components).
_TOKENIZE_BODY = request_body(VllmTokenizeRequest)
request_body(TeiTokenizeRequest)
BODY_MODELS.update({"VllmTokenizeResponse": VllmTokenizeResponse, "TeiToken": TeiToken})
_TOKENIZE_BODY["requestBody"]["content"]["application/json"]["schema"] = {
    "anyOf": [
        {"$ref": "#/components/schemas/VllmTokenizeRequest"},
        {"$ref": "#/components/schemas/TeiTokenizeRequest"},
    ]
}
_TOKENIZE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "vLLM: counts and ids; TEI: per input, its tokens",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/VllmTokenizeResponse"},
                        {
                            "type": "array",
                            "items": {"type": "array", "items": {"$ref": "#/components/schemas/TeiToken"}},
                        },
                    ]
                }
            }
        },
    }
}


@router.post("/tokenize", openapi_extra=_TOKENIZE_BODY, responses=_TOKENIZE_RESPONSES)
async def tokenize(request: Request) -> ORJSONResponse:
    """Token ids of a text with the model's own tokenizer, in vLLM's or TEI's shape."""
    data = (await read_json(request, _Object, strict_content_type=False)).root
    if "inputs" in data:
        return ORJSONResponse(
            await _tei_tokenize(request, validate(data, TeiTokenizeRequest, limits(request)))
        )
    return ORJSONResponse(await _vllm_tokenize(request, validate(data, VllmTokenizeRequest, limits(request))))


async def _vllm_tokenize(request: Request, body: VllmTokenizeRequest) -> dict[str, Any]:
    engine = services(request).engine
    if (body.prompt is None) == (body.messages is None):
        raise InvalidInputError("Send exactly one of `prompt` or `messages`.", param="prompt")
    text = body.prompt
    if body.messages is not None:
        options = {"add_generation_prompt": body.add_generation_prompt}
        text = await engine_tokenize.chat_prompt(engine, body.model, body.messages, **options)
    special = body.add_special_tokens if body.add_special_tokens is not None else body.prompt is not None
    assert text is not None
    [result] = await engine_tokenize.tokenize(engine, body.model, [text], add_special_tokens=special)
    response: dict[str, Any] = {
        "count": len(result.tokens),
        "max_model_len": result.max_model_len,
        "tokens": result.ids,
    }
    if body.return_token_strs:
        response["token_strs"] = [token.text for token in result.tokens]
    return response


async def _tei_tokenize(request: Request, body: TeiTokenizeRequest) -> list[list[dict[str, Any]]]:
    svc = services(request)
    texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
    check_count(len(texts), svc.settings, "inputs")
    results = await engine_tokenize.tokenize(
        svc.engine, body.model, texts, add_special_tokens=body.add_special_tokens, input_type=body.prompt_name
    )
    return [[_tei_token(result.text, token) for token in result.tokens] for result in results]


def _tei_token(text: str, token: engine_tokenize.Token) -> dict[str, Any]:
    """TEI shows a special token by its string and any other by the slice of the input it covers."""
    shown = token.text
    if token.start is not None and token.stop is not None:
        shown = text.encode()[token.start : token.stop].decode(errors="replace")
    return {"id": token.id, "text": shown, "special": token.special, "start": token.start, "stop": token.stop}


@router.post(
    "/detokenize", openapi_extra=request_body(VllmDetokenizeRequest), response_model=VllmDetokenizeResponse
)
async def detokenize(request: Request) -> ORJSONResponse:
    """vLLM: token ids back to text."""
    body = await read_json(request, VllmDetokenizeRequest, strict_content_type=False)
    [text] = await engine_tokenize.detokenize(
        services(request).engine, body.model, [body.tokens], skip_special_tokens=False
    )
    return ORJSONResponse({"prompt": text})


@router.post("/decode", openapi_extra=request_body(TeiDecodeRequest), response_model=list[str])
async def decode(request: Request) -> ORJSONResponse:
    """TEI: token ids (one sequence or several) back to text, one string per sequence."""
    svc = services(request)
    body = await read_json(request, TeiDecodeRequest, strict_content_type=False)
    ids: list[Any] = body.ids
    sequences: list[list[int]] = ids if ids and isinstance(ids[0], list) else [ids]
    check_count(len(sequences), svc.settings, "ids")
    texts = await engine_tokenize.detokenize(
        svc.engine, body.model, sequences, skip_special_tokens=body.skip_special_tokens
    )
    return ORJSONResponse(texts)
