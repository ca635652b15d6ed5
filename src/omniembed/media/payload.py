"""Media references in requests: data URIs, bare base64, and http(s) URLs."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

import pybase64

from omniembed.errors import InvalidInputError, UnsupportedMediaTypeError

_DATA_URI = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[^;,]*)*)(?P<b64>;base64)?,", re.I
)
_WHITESPACE = re.compile(rb"\s+")
# Audio travels in containers that tools also label as video or as generic Ogg (an .m4a is an MP4,
# Python's mimetypes names .ogg `application/ogg`): those labels are audio too.
_ALSO = {"audio": frozenset({"application/ogg", "video/mp4", "video/ogg"})}


@dataclass(frozen=True)
class MediaReference:
    """Either decoded bytes or a URL still to be fetched."""

    data: bytes | None = None
    url: str | None = None
    mime: str | None = None


def parse_media_reference(value: str, *, kind: str, param: str | None = None) -> MediaReference:
    """Parse a request string that names an image, a video or a sound.

    `kind` is the expected MIME category ("image", "video" or "audio"); a data URI declaring another
    category is refused, so a caller's mistake surfaces as a clear 4xx instead of a decode error.
    """
    text = value.strip()
    lowered = text[:16].lower()
    if lowered.startswith(("http://", "https://")):
        return MediaReference(url=text)
    if lowered.startswith("data:"):
        return _parse_data_uri(text, kind=kind, param=param)
    if re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        scheme = lowered.split(":", 1)[0]
        raise InvalidInputError(
            f"The {kind} URL scheme '{scheme}' is not supported; use http(s), a data URI, or base64.",
            param=param,
        )
    return MediaReference(data=decode_base64(text, what=kind, param=param))


def _parse_data_uri(text: str, *, kind: str, param: str | None) -> MediaReference:
    match = _DATA_URI.match(text)
    if match is None:
        raise InvalidInputError(f"Malformed data URI for the {kind}.", param=param)
    mime = (match.group("mime") or "").lower()
    if mime and not mime.startswith(f"{kind}/") and mime not in _ALSO.get(kind, ()):
        raise UnsupportedMediaTypeError(
            f"The data URI declares '{mime}', but an {kind}/* type was expected.", param=param
        )
    if not match.group("b64"):
        raise InvalidInputError(f"The {kind} data URI must be base64-encoded (';base64,').", param=param)
    payload = text[match.end() :]
    return MediaReference(data=decode_base64(payload, what=kind, param=param), mime=mime or None)


def decode_base64(text: str | bytes, *, what: str, param: str | None = None) -> bytes:
    # Fast path: canonical base64 decodes in one SIMD call (pybase64: ~0.1 ms for a 300 KB photo,
    # where the standard library takes ~0.9 ms on the event loop); only unusual input pays for the
    # clean-up below.
    try:
        decoded = pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if decoded:
        return decoded
    raw = text.encode("ascii", errors="replace") if isinstance(text, str) else text
    raw = _WHITESPACE.sub(b"", raw)
    if not raw:
        raise InvalidInputError(f"The {what} is empty.", param=param)
    if b"-" in raw or b"_" in raw:
        raw = raw.replace(b"-", b"+").replace(b"_", b"/")
    # Clients often drop the '=' padding; restore it rather than reject an otherwise valid payload.
    raw += b"=" * (-len(raw) % 4)
    try:
        return pybase64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInputError(f"The {what} is not valid base64: {error}", param=param) from error
