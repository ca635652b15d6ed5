"""JSON responses serialized by orjson, which writes numpy float32 arrays without Python floats."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class ORJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)
