"""OpenAPI schema: FastAPI's, plus the request bodies of routes that parse their own bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from omniembed.api.body import BODY_MODELS


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in BODY_MODELS.items():
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for def_name, definition in model_schema.pop("$defs", {}).items():
                schemas.setdefault(def_name, definition)
            schemas[name] = model_schema
        _drop_unanswered_422(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def _drop_unanswered_422(schema: dict[str, Any]) -> None:
    """FastAPI documents a 422 for every route with parameters; this app answers invalid requests
    with 400 in the route's error shape (see errors.py), so the 422 and its schemas go."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):  # referenced only by those 422s
        schemas.pop(name, None)
