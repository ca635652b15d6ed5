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

from omniembed.errors import InvalidInputError, UnsupportedMediaTypeError

Model = TypeVar("Model", bound=BaseModel)

# Models referenced from OpenAPI request bodies, added to the schema's components by openapi.py.
BODY_MODELS: dict[str, type[BaseModel]] = {}


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(mime: str) -> bool:
    return mime == "application/json" or mime.endswith("+json")


async def read_json(request: Request, model: type[Model], *, strict_content_type: bool = True) -> Model:
    mime = media_type(request)
    if not is_json(mime) and (strict_content_type or mime):
        raise UnsupportedMediaTypeError(
            f"Content-Type must be application/json (got '{mime or 'none'}').", param="content-type"
        )
    raw = await request.body()
    return parse_json(raw, model)


def parse_json(raw: bytes, model: type[Model]) -> Model:
    if not raw.strip():
        raise InvalidInputError("The request body is empty; send a JSON object.", param="body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidInputError(f"The body is not valid JSON: {error}", param="body") from error
    return validate(data, model)


def validate(data: Any, model: type[Model]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in error.errors(include_url=False)]
        ) from error


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
