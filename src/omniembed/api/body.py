"""Reading request bodies ourselves: explicit Content-Type rules, orjson parsing, typed errors.

Routes that accept several content types (JSON and multipart) cannot use FastAPI's body
parameters, so every body goes through here; `request_body()` documents the accepted bodies in
the OpenAPI schema (see `openapi.py`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from omniembed.api.fields import TEXT_LIMIT, TEXT_TOO_LONG
from omniembed.errors import InvalidInputError, PayloadTooLargeError, UnsupportedMediaTypeError

Model = TypeVar("Model", bound=BaseModel)

# Union branch tags pydantic puts in error locations; not field names.
_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})

# Models referenced from OpenAPI request bodies, added to the schema's components by openapi.py.
BODY_MODELS: dict[str, type[BaseModel]] = {}


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(mime: str) -> bool:
    return mime == "application/json" or mime.endswith("+json")


async def read_json(request: Request, model: type[Model], *, strict_content_type: bool = True) -> Model:
    """A JSON body. Also taken: a JSON body labelled form-urlencoded (what `curl -d` sends unless told
    otherwise) and, unless `strict_content_type`, a body with no Content-Type at all."""
    mime = media_type(request)
    raw = await request.body()
    if not (is_json(mime) or (not mime and not strict_content_type) or _json_as_form(mime, raw)):
        raise UnsupportedMediaTypeError(
            f"Content-Type must be application/json (got '{mime or 'none'}').", param="content-type"
        )
    return parse_json(raw, model, limits(request))


def _json_as_form(mime: str, raw: bytes) -> bool:
    if mime != "application/x-www-form-urlencoded" or raw.lstrip()[:1] not in (b"{", b"["):
        return False
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False  # a real form (or garbage) stays a 415
    return True


def limits(request: Request) -> dict[str, Any]:
    """The validation context of a request's schemas: the configured text limit (see fields.py)."""
    services = getattr(request.app.state, "services", None)
    return {TEXT_LIMIT: services.settings.max_text_chars} if services is not None else {}


def parse_json(raw: bytes, model: type[Model], context: dict[str, Any] | None = None) -> Model:
    if not raw.strip():
        raise InvalidInputError("The request body is empty; send a JSON object.", param="body")
    try:
        data = orjson.loads(raw)  # refuses NaN, Infinity and numbers that overflow a double
    except orjson.JSONDecodeError as error:
        raise InvalidInputError(f"The body is not valid JSON: {error}", param="body") from error
    return validate(data, model, context)


def validate(
    data: Any, model: type[Model], context: dict[str, Any] | None = None, *, at: tuple[str, ...] = ()
) -> Model:
    """`at`: where `data` sits in the body (a part validated on its own), for the error locations."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        problems: list[dict[str, Any]] = [
            {**problem, "loc": (*at, *problem["loc"])}
            for problem in error.errors(include_url=False, include_input=False)
        ]
        _raise_if_too_long(problems)
        # Only small scalars travel on (api/errors.py echoes a value outside a fixed set).
        inputs = error.errors(include_url=False)
        for problem, full in zip(problems, inputs, strict=True):
            if isinstance(full.get("input"), str | int | float | bool):
                problem["input"] = full["input"]
        raise RequestValidationError([{**e, "loc": ("body", *e.get("loc", ()))} for e in problems]) from error


def _raise_if_too_long(problems: list[Any]) -> None:
    """An over-long text is a 413 like every other size limit, not a 400."""
    for problem in problems:
        if problem.get("type") == TEXT_TOO_LONG:
            where = _field_path(problem.get("loc", ()))
            raise PayloadTooLargeError(f"{where}: {problem.get('msg')}", param=where)


def _field_path(loc: tuple[Any, ...]) -> str:
    """`("inputs", 0, "function-after[...]")` → `inputs[0]`: union branch tags are left out, and so is
    a discriminator tag before its field (`("input", 0, "text", "text")` → `input[0].text`)."""
    text = ""
    previous: object = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier() and part not in _TAGS and part != previous:
            text += f".{part}" if text else part
        previous = part
    return text or "body"


def request_body(
    json_model: type[BaseModel] | None = None, multipart: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`openapi_extra` describing the bodies a manually-parsed route accepts."""
    content: dict[str, Any] = {}
    if json_model is not None:
        BODY_MODELS[json_model.__name__] = json_model
        content["application/json"] = {"schema": {"$ref": f"#/components/schemas/{json_model.__name__}"}}
    if multipart is not None:
        content["multipart/form-data"] = {"schema": multipart}
    return {"requestBody": {"required": True, "content": content}}
