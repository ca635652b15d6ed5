"""What a collection lets into its store and its filters, checked in one place.

Every write (the HTTP routes, the Python `Collection`, `omniembed index`) and every search filter
passes through here before Qdrant sees it, and both stores check each payload and filter again
right before Qdrant does, so no accepted write can leave a collection unreadable.

Why the limits (measured on qdrant-edge-py 0.9.0): a point whose metadata nests 123 objects or
lists deep is accepted and flushed, but the shard's WAL can no longer be replayed ("recursion limit
exceeded"), so the collection fails to open after a restart; at 127 every read of the collection
fails at once. Size is not what breaks it (a 200 MB string round-trips), so size limits are about
memory and latency. Integers from 2^63 to 2^64-1 are stored as unsigned but no filter can match
them (filters take int64), larger ones silently become floats; NaN, infinities and lone surrogates
make the binding raise. Filter keys are Qdrant JSON paths, where ' ', ':', '/', '$', '"' and
friends are syntax errors, '.' nests and '[]' enters a list of objects.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

import orjson

from omniembed.errors import InvalidInputError, PayloadTooLargeError

MAX_DEPTH = 8  # the metadata object is level 1; 15x inside the measured 123
MAX_METADATA_BYTES = 64 * 1024  # compact JSON, UTF-8
MAX_KEY_CHARS = 64
MAX_STRING_CHARS = 8_192
MAX_LIST_ITEMS = 1_024
MAX_ID_CHARS = 1_024  # `omniembed index` ids are relative paths + '#n'
MAX_FILTER_FIELDS = 32
MAX_FILTER_VALUES = 1_024
MAX_TOP_K = 1_000
MAX_CANDIDATES = 10_000  # first-stage hits of a multi-vector search, each a token matrix to score
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# ASCII only: one spelling per key (no Unicode normalization forms, look-alikes, invisible or
# bidirectional characters), the same in URLs, shells and logs. Filter paths quote each key, which
# every Qdrant JSON-path parser reads the same way (older ones refuse a raw key starting with a digit).
KEY = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_KEY_CHARS}}}")
KEY_RULE = f"keys are 1-{MAX_KEY_CHARS} ASCII letters, digits, '_' or '-'"
FILTER_RULE = (
    f"{KEY_RULE}; '.' joins the keys of nested objects (at most {MAX_DEPTH}) and a key followed by"
    " '[]' looks inside a list of objects"
)


def show(key: object) -> str:
    """A key as a message can show it: quoted, with NUL, BOM, bidi and zero-width escaped."""
    return json.dumps(key) if isinstance(key, str) else repr(key)


def _utf8(text: str, param: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInputError(
            f"{param} is not valid Unicode text (a lone surrogate at {error.start}).", param=param
        ) from error
    return text


def text(value: object, param: str) -> str:
    """Item and query text: any length (the HTTP routes bound it), but real UTF-8."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{param} must be a string.", param=param)
    return _utf8(value, param)


def item_id(value: object, param: str = "id") -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{param} must be a non-empty string.", param=param)
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(
            f"{param} has {len(value)} characters; the limit is {MAX_ID_CHARS}.", param=param
        )
    return _utf8(value, param)


def scalar(value: object, param: str, max_chars: int | None = MAX_STRING_CHARS) -> Any:
    """A JSON leaf Qdrant stores and reads back exactly: int64, finite floats, UTF-8 strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        if not INT64_MIN <= int(value) <= INT64_MAX:
            raise InvalidInputError(
                f"{param}: the integer {value} is outside the signed 64-bit range.", param=param
            )
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise InvalidInputError(f"{param}: {value} is not a finite number.", param=param)
        return float(value)
    if isinstance(value, str):
        if max_chars is not None and len(value) > max_chars:
            raise PayloadTooLargeError(
                f"{param}: a string of {len(value)} characters; the limit is {max_chars}.", param=param
            )
        return _utf8(value, param)
    raise InvalidInputError(
        f"{param}: a {type(value).__name__} is not JSON (use objects, arrays, strings, numbers, "
        "booleans or null).",
        param=param,
    )


def metadata(value: object, param: str = "metadata") -> dict[str, Any]:
    """Checked plain-JSON copy of an item's metadata, or a typed error naming the offending place."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{param} must be a JSON object.", param=param)
    checked: dict[str, Any] = _Walk(param).value(value, param, 1)
    size = len(orjson.dumps(checked))
    if size > MAX_METADATA_BYTES:
        raise PayloadTooLargeError(
            f"{param} is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}.", param=param
        )
    return checked


class _Walk:
    def __init__(self, root: str) -> None:
        self.root = root
        self.seen = 0

    def value(self, value: object, param: str, depth: int) -> Any:
        self.seen += 1  # every value costs JSON at least a byte: past this many it cannot fit
        if self.seen > MAX_METADATA_BYTES:
            raise PayloadTooLargeError(
                f"{self.root} is over {MAX_METADATA_BYTES} bytes as JSON.", param=self.root
            )
        if isinstance(value, Mapping | list | tuple) and depth > MAX_DEPTH:
            raise InvalidInputError(
                f"{param} nests deeper than {MAX_DEPTH} levels of objects and arrays.", param=param
            )
        if isinstance(value, Mapping):
            return {_key(k, param): self.value(v, f"{param}.{k}", depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            if len(value) > MAX_LIST_ITEMS:
                raise PayloadTooLargeError(
                    f"{param}: an array of {len(value)} items; the limit is {MAX_LIST_ITEMS}.", param=param
                )
            return [self.value(v, f"{param}[{i}]", depth + 1) for i, v in enumerate(value)]
        return scalar(value, param)


def _key(key: object, param: str) -> str:
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise InvalidInputError(
            f"Metadata key {show(key)} in {param} is not allowed: {KEY_RULE}.", param=param
        )
    return key


def stored(payload: Mapping[str, Any]) -> None:
    """The stores' last gate: metadata by the rules above, the service's own fields flat JSON."""
    for key, value in payload.items():
        _key(key, "payload")
        if key == "metadata":
            metadata(value)
        elif isinstance(value, Mapping | list | tuple):
            raise InvalidInputError(f"payload.{key} must be a string, number, boolean or null.")
        else:
            scalar(value, f"payload.{key}", max_chars=None)  # item text is bounded upstream


def candidates(value: object, param: str = "candidates") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CANDIDATES:
        raise InvalidInputError(f"{param} is an integer from 1 to {MAX_CANDIDATES}.", param=param)
    return value


def filter_conditions(value: object, param: str = "filter") -> dict[str, Any]:
    """Checked `{key path: value or list of values}` of a search filter."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{param} must be an object of metadata key: value.", param=param)
    if len(value) > MAX_FILTER_FIELDS:
        raise InvalidInputError(
            f"{param} has {len(value)} keys; the limit is {MAX_FILTER_FIELDS}.", param=param
        )
    checked: dict[str, Any] = {}
    for key, wanted in value.items():
        filter_path(key, param)
        checked[key] = _wanted(wanted, f"{param}.{key}")
    return checked


def filter_path(key: object, param: str = "filter") -> str:
    """A checked filter key as a Qdrant JSON path under `metadata`, each key quoted."""
    if isinstance(key, str) and len(key) <= MAX_DEPTH * (MAX_KEY_CHARS + 3):
        segments = key.split(".")
        names = [s[:-2] if s.endswith("[]") else s for s in segments]
        if len(segments) <= MAX_DEPTH and all(KEY.fullmatch(name) for name in names):
            return ".".join(
                f'"{name}"' + segment[len(name) :] for name, segment in zip(names, segments, strict=True)
            )
    raise InvalidInputError(f"Filter key {show(key)} is not allowed: {FILTER_RULE}.", param=param)


def _wanted(value: object, param: str) -> Any:
    if isinstance(value, list | tuple):
        if len(value) > MAX_FILTER_VALUES:
            raise InvalidInputError(
                f"{param}: {len(value)} values; the limit is {MAX_FILTER_VALUES}.", param=param
            )
        values = [_filter_scalar(v, param) for v in value]
        kinds = {type(v) for v in values}
        if bool in kinds or len(kinds) > 1:
            raise InvalidInputError(
                f"{param}: a list of values holds only strings or only integers (match a boolean "
                "with a single true or false).",
                param=param,
            )
        return values
    return _filter_scalar(value, param)


def _filter_scalar(value: object, param: str) -> Any:
    if isinstance(value, str | numbers.Integral):  # bool is Integral
        return scalar(value, param)
    raise InvalidInputError(
        f"{param}: filters match strings, integers and booleans (got {type(value).__name__}).",
        param=param,
    )
