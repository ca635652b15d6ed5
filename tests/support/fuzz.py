"""Route enumeration and hypothesis strategies for fuzzing every route of the app.

Operations are read off `app.routes` (through included routers), so a new route is fuzzed without
touching the tests; only a valid example body has to be added for it (a test checks that).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from omniembed.api.body import BODY_MODELS
from omniembed.api.multipart import FILE_FIELDS, TEXT_FIELDS


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    tags: tuple[str, ...]
    json_models: tuple[type[BaseModel], ...]  # the JSON body's schema (each of an anyOf)
    multipart: bool
    query: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def dialect(self) -> str:
        return "cohere" if "cohere" in self.tags else "openai"


def _contexts(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI >= 0.16x)
            yield from route.effective_route_contexts()
        elif hasattr(route, "original_router"):
            yield from _contexts(route.original_router.routes)
        else:
            yield route


def _body(route: Any) -> tuple[tuple[type[BaseModel], ...], bool]:
    extra = getattr(route, "openapi_extra", None) or {}
    content = extra.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    refs = [option.get("$ref", "") for option in schema.get("anyOf", [schema])]
    models = tuple(BODY_MODELS[name] for ref in refs if (name := ref.rsplit("/", 1)[-1]) in BODY_MODELS)
    body_field = getattr(route, "body_field", None)
    if not models and body_field is not None:  # a body FastAPI itself parses
        annotation = body_field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            models = (annotation,)
    return models, "multipart/form-data" in content


def operations(app: Any) -> list[Operation]:
    """Every (method, path) the app serves, HEAD aside (answered as GET)."""
    found: dict[tuple[str, str], Operation] = {}
    for route in _contexts(app.routes):
        path = getattr(route, "path", None)
        if path is None:
            continue
        models, multipart = _body(route)
        dependant = getattr(route, "dependant", None)
        query = tuple(p.name for p in dependant.query_params) if dependant is not None else ()
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                tags = tuple(str(t) for t in getattr(route, "tags", None) or ())
                found[(method, path)] = Operation(method, path, tags, models, multipart, query)
    return sorted(found.values(), key=lambda op: op.id)


# --- values -------------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)  # control characters in, surrogates out
HUGE_INTS = st.sampled_from([2**63, 2**64, 2**64 + 1, -(2**63) - 1, 10**30, -(10**40), 2**31])
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, 1e308 * 10, -0.0, 5e-324])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)


def deep(depth: int, leaf: Any = 1, kind: str = "dict") -> Any:
    for _ in range(depth):
        leaf = {"a": leaf} if kind == "dict" else [leaf]
    return leaf


DEEP = st.builds(deep, st.integers(20, 60), SCALARS, st.sampled_from(["dict", "list"]))
JSON_VALUES = st.one_of(
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=12,
    ),
    DEEP,
)
# Wrong types, out-of-range and over-limit values for a field that expects something else.
BAD_VALUES = st.one_of(
    SCALARS,
    HUGE_INTS,
    NON_FINITE,
    st.integers(-(2**40), -1),
    st.sampled_from([[], {}, "", " ", "\x00", "nan", "inf", "-1", "1e999", [None], [[]], [{}], [1, 2]]),
    st.sampled_from([[2**64], [1.5], ["x", 1], {"type": "text"}, {"type": "image_url"}]),
    st.builds(lambda n: "x" * n, st.sampled_from([300, 25_000, 300_000])),
    st.builds(lambda n: ["a"] * n, st.sampled_from([17, 3000])),
    DEEP,
    JSON_VALUES,
)


def dumps(value: Any) -> bytes:
    """JSON as Python writes it: NaN, Infinity and >64-bit integers pass through to the server."""
    return json.dumps(value, allow_nan=True).encode()


# --- schema-shaped bodies ------------------------------------------------------------------------


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every location inside a JSON value: object keys and array indices."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from paths_of(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from paths_of(inner, (*prefix, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any, *, drop: bool = False) -> Any:
    """A copy of `value` with the location `path` set to `new` (or removed)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if drop and not rest:
            copy.pop(head, None)
        else:
            copy[head] = replaced(copy.get(head), rest, new, drop=drop)
        return copy
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        items = list(value)
        if drop and not rest:
            del items[head]
        else:
            items[head] = replaced(items[head], rest, new, drop=drop)
        return items
    return value


@st.composite
def mutated(draw: st.DrawFn, valid: Any, models: tuple[type[BaseModel], ...]) -> Any:
    """A valid body with one to three of its fields (or the schema's other fields) made wrong."""
    fields = [name for model in models for name in model.model_json_schema().get("properties", {})]
    locations = sorted({*paths_of(valid), *((name,) for name in fields)}, key=repr)
    body = valid
    for _ in range(draw(st.integers(1, 3))):
        if not locations:
            break
        where = draw(st.sampled_from(locations))
        action = draw(st.sampled_from(["bad", "bad", "bad", "drop", "extra"]))
        if action == "extra":
            body = replaced(body, (*where[:-1], draw(TEXT)), draw(BAD_VALUES))
        else:
            body = replaced(body, where, draw(BAD_VALUES), drop=action == "drop")
    return body


# --- raw bodies and multipart forms --------------------------------------------------------------

CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "application/vnd.api+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=fuzz",
            "application/octet-stream",
            "image/png",
            "video/mp4",
            "",
            ";",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
RAW_BYTES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", b" ", b"{", b"[]", b"null", b'{"input": "a"', b"\xff\xfe{}", b"\x00" * 64]),
    st.sampled_from(
        [  # broken multipart for `boundary=fuzz`: no name, no colon, no end, undecodable name
            b"--fuzz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--fuzz--\r\n",
            b"--fuzz\r\nno colon\r\n\r\nx\r\n--fuzz--\r\n",
            b'--fuzz\r\nContent-Disposition: form-data; name="text"\r\n\r\nunterminated',
            b'--fuzz\r\nContent-Disposition: form-data; name="\xff"; filename="\xfe"\r\n\r\nx\r\n'
            b"--fuzz--\r\n",
            b'--fuzz\r\nContent-Disposition: form-data; name="text"\r\n\r\n\xff\xfe\r\n--fuzz--\r\n',
        ]
    ),
    st.builds(lambda n: b"[" * n + b"]" * n, st.sampled_from([100, 5000])),
    st.builds(lambda n: b'"' + b"x" * n + b'"', st.sampled_from([10, 40_000])),
)

OPTION_NAMES = ["model", "num_frames", "fps", "pooling", "normalize", "dimensions", "encoding_format"]
OPTION_NAMES += ["return_dims", "input_type", "truncation", "input", "user"]
FIELD_NAMES = st.one_of(st.sampled_from([*FILE_FIELDS, *TEXT_FIELDS, *OPTION_NAMES]), TEXT)
FORM_VALUES = st.one_of(
    TEXT,
    st.binary(max_size=40),  # not UTF-8, in a text field
    st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e999", "9" * 80, "true", "minilm", "tiny-clip"]),
    st.sampled_from(["mean", "none", "float", "base64", "int8", "binary", "end", "chunk"]),
)
# Methods a route may not take (HEAD aside: its answer has no body to check).
METHODS = st.one_of(st.none(), st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "FROB"]))
FILE_TYPES = st.one_of(
    st.none(), st.sampled_from(["image/png", "image/jpeg", "video/mp4", "text/plain", "application/json"])
)


def files_strategy(
    samples: list[bytes],
) -> st.SearchStrategy[list[tuple[str, tuple[str, bytes, str | None]]]]:
    content = st.one_of(
        st.binary(max_size=200),
        st.sampled_from(samples),
        st.builds(lambda data, cut: data[:cut], st.sampled_from(samples), st.integers(0, 400)),
    )
    upload = st.tuples(FIELD_NAMES, st.tuples(TEXT, content, FILE_TYPES))
    return st.lists(upload, max_size=3)
