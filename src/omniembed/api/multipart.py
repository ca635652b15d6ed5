"""multipart/form-data uploads: files become image, video or audio items, text fields become texts.

Field names: files in `file`, `files`, `image`, `images`, `video`, `videos`, `audio`, `audios` (or
SambaStudio's `predict_file`); texts in `input`, `text` or `texts`; every other field is an option
of the route. Items keep the order in which the fields arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import Request
from starlette.datastructures import UploadFile

from omniembed.api.inputs import check_count, text_item
from omniembed.engine.items import AudioInput, ImageInput, Item, VideoInput, VideoOptions
from omniembed.errors import InvalidInputError
from omniembed.media.audio import is_audio
from omniembed.media.payload import MediaReference
from omniembed.media.video import is_video
from omniembed.settings import Settings

N = TypeVar("N", int, float)

FILE_FIELDS = ("file", "files", "image", "images", "video", "videos", "audio", "audios", "predict_file")
TEXT_FIELDS = ("input", "text", "texts")
MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "model": {"type": "string"},
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "text": {"type": "array", "items": {"type": "string"}},
    },
}


@dataclass
class Upload:
    items: list[Item] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    filenames: list[str | None] = field(default_factory=list)


def _looks_like_audio(data: bytes) -> bool:
    """An MP4 container is a sound only under an audio brand (M4A, M4B); other sniffed audio
    containers (WAV, FLAC, Ogg, MP3, AAC) are sounds."""
    if data[4:8] == b"ftyp":
        return data[8:12] in (b"M4A ", b"M4B ")
    return is_audio(data)


def _kind_of(name: str, content_type: str | None, data: bytes) -> str:
    """What an upload is, from its field name, its declared type, then its bytes."""
    mime = content_type or ""
    if name.startswith("audio") or mime.startswith("audio/"):
        return "audio"
    if name.startswith("video") or mime.startswith("video/"):
        return "video"
    if not mime.startswith("image/") and _looks_like_audio(data):
        return "audio"
    return "video" if is_video(data) else "image"


def _media_item(
    name: str, content_type: str | None, data: bytes, video: VideoOptions, kind: str | None
) -> Item:
    reference = MediaReference(data=data, mime=content_type)
    kind = kind or _kind_of(name, content_type, data)
    if kind == "audio":
        return AudioInput(reference=reference)
    return VideoInput(reference, video) if kind == "video" else ImageInput(reference=reference)


def _number(options: dict[str, str], name: str, kind: Callable[[str], N]) -> N | None:
    """A form field as a number; VideoOptions then refuses NaN, infinities and out-of-range values."""
    value = options.get(name, "").strip()
    if not value:
        return None
    try:
        if len(value) > 64:  # no sensible number is this long (and int() of huge digit strings is slow)
            raise ValueError(value)
        return kind(value)
    except ValueError as error:
        what = "a whole number" if kind is int else "a number"
        raise InvalidInputError(f"{name} must be {what} (got {value[:32]!r}).", param=name) from error


# Form fields read_upload itself consumes (for uploaded videos); not options of the JSON schema.
VIDEO_FIELDS = frozenset({"num_frames", "fps", "pooling"})


def _video_options(options: dict[str, str]) -> VideoOptions:
    frames = _number(options, "num_frames", int)
    fps = _number(options, "fps", float)
    pooling = options.get("pooling", "mean")
    if pooling not in ("mean", "none"):
        raise InvalidInputError("pooling must be 'mean' or 'none'.", param="pooling")
    return VideoOptions(num_frames=frames, fps=fps, pooling=pooling)  # type: ignore[arg-type]


async def read_upload(
    request: Request, settings: Settings, *, allow_text: bool = True, kind: str | None = None
) -> Upload:
    """`kind` forces every file to be an "image", a "video" or "audio"; by default it is read off
    each file."""
    # Text fields may be as large as the body itself (which is bounded while it streams in), so an
    # over-long text meets the same 413 as in JSON instead of Starlette's 1 MiB-per-field 400.
    form = await request.form(
        max_files=settings.max_items_per_request, max_fields=1000, max_part_size=settings.max_request_bytes
    )
    upload = Upload()
    entries: list[tuple[str, str | UploadFile]] = []
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in FILE_FIELDS:
                    raise InvalidInputError(f"Unexpected file field '{key}'; use 'file'.", param=key)
                entries.append((key, value))
            elif allow_text and key in TEXT_FIELDS:
                entries.append((key, value))
            else:
                upload.options[key] = value
        if not any(isinstance(value, UploadFile) for _, value in entries) and not allow_text:
            raise InvalidInputError(
                "The multipart request has no file; send one in the 'file' field.", param="file"
            )
        check_count(len(entries), settings, "file")
        video = _video_options(upload.options)
        for key, value in entries:
            if isinstance(value, UploadFile):
                upload.items.append(_media_item(key, value.content_type, await value.read(), video, kind))
                upload.filenames.append(value.filename)
            else:
                upload.items.append(text_item(value, settings, key))
                upload.filenames.append(None)
    finally:
        await form.close()
    return upload
