"""Intel MES's `POST /embeddings` body and answer (MES `src/app.py`: `EmbeddingRequest`).

Request: `{"model", "input": {"type": ..., ...}, "encoding_format"}` where `input` is one of
`text` (`text`: a string or a list), `image_url`, `image_base64`, `video_frames` (a list of
`image_url`/`image_base64` frames), `video_url` or `video_base64` (with `segment_config`).
Answer: `{"embedding": ...}`: one vector for a string text or an image, one per text for a list
(MES's `embed_query` and `embed_documents`, so the model's query and document prompts apply), and
one normalized vector per frame for a video.

MES's `video_file` and `frames_batch` name files on the server's disk: refused here, as no
request may read local files. The path is Infinity's too: `api/shared_paths.py` sends a body whose
`input` is an object here, any other to Infinity.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.body import validate
from omniembed.api.fields import Name, NumFrames, Text
from omniembed.api.inputs import check_count, image_item, text_item, video_item
from omniembed.engine.engine import Engine
from omniembed.engine.items import EmbedOptions, ImageInput, Item, VideoOptions
from omniembed.errors import InvalidInputError
from omniembed.settings import Settings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MesText(_Strict):
    type: Literal["text"]
    text: Text | list[Text]


class MesImageUrl(_Strict):
    type: Literal["image_url"]
    image_url: str


class MesImageBase64(_Strict):
    type: Literal["image_base64"]
    image_base64: str


class SegmentConfig(_Strict):
    """MES's clip selection. Only the whole video is served: an offset or a duration is refused."""

    startOffsetSec: float = Field(default=0, allow_inf_nan=False)  # noqa: N815 (MES's name)
    clip_duration: float = Field(default=-1, allow_inf_nan=False, description="-1: to the end")
    num_frames: NumFrames | None = None


class MesVideoFrames(_Strict):
    type: Literal["video_frames"]
    video_frames: list[Annotated[MesImageUrl | MesImageBase64, Field(discriminator="type")]]


class MesVideoUrl(_Strict):
    type: Literal["video_url"]
    video_url: str
    segment_config: SegmentConfig = SegmentConfig()


class MesVideoBase64(_Strict):
    type: Literal["video_base64"]
    video_base64: str
    segment_config: SegmentConfig = SegmentConfig()


class MesLocalFile(_Strict):
    """Accepted by the schema so that the answer can say why they are refused."""

    type: Literal["video_file", "frames_batch"]
    video_path: str | None = None
    frames_manifest_path: str | None = None
    segment_config: dict[str, Any] | None = None


MesInput = Annotated[
    MesText | MesImageUrl | MesImageBase64 | MesVideoFrames | MesVideoUrl | MesVideoBase64 | MesLocalFile,
    Field(discriminator="type"),
]


class MesEmbeddingRequest(_Strict):
    model: Name
    input: MesInput
    encoding_format: Literal["float"] = Field(default="float", description="MES sends 'float'")


class _Envelope(_Strict):
    model: Name
    input: dict[str, Any]
    encoding_format: Literal["float"] = "float"


INPUT_TYPES: dict[str, type[BaseModel]] = {
    "text": MesText,
    "image_url": MesImageUrl,
    "image_base64": MesImageBase64,
    "video_frames": MesVideoFrames,
    "video_url": MesVideoUrl,
    "video_base64": MesVideoBase64,
    "video_file": MesLocalFile,
    "frames_batch": MesLocalFile,
}


def parse(raw: dict[str, Any], context: dict[str, Any]) -> MesEmbeddingRequest:
    """The envelope, then `input` by its `type`: errors name `input.<field>` (a discriminated union
    would put the type's tag into every error location)."""
    envelope = validate(raw, _Envelope, context)
    kind = envelope.input.get("type")
    model = INPUT_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(INPUT_TYPES)
        message = f"input.type must be one of {known} (got {str(kind)[:40]!r})."
        raise InvalidInputError(message, param="input.type")
    value = validate(envelope.input, model, context, at=("input",))
    return MesEmbeddingRequest.model_construct(
        model=envelope.model, input=value, encoding_format=envelope.encoding_format
    )


def _base64(value: str, kind: str, param: str) -> str:
    if value.lstrip()[:8].lower().startswith(("http://", "https://")):
        raise InvalidInputError(f"{param} is base64; send a URL as '{kind}_url'.", param=param)
    return value


def _frame(frame: MesImageUrl | MesImageBase64, param: str) -> ImageInput:
    if isinstance(frame, MesImageUrl):
        return image_item(frame.image_url, f"{param}.image_url")
    return image_item(_base64(frame.image_base64, "image", f"{param}.image_base64"), f"{param}.image_base64")


def _video_options(config: SegmentConfig) -> VideoOptions:
    if config.startOffsetSec != 0 or config.clip_duration not in (-1, 0):
        raise InvalidInputError(
            "segment_config: only the whole video is embedded (startOffsetSec 0, clip_duration -1).",
            param="input.segment_config",
        )
    return VideoOptions(num_frames=config.num_frames, pooling="none")


def _video(value: MesVideoUrl | MesVideoBase64) -> Item:
    options = _video_options(value.segment_config)
    if isinstance(value, MesVideoUrl):
        return video_item(value.video_url, options, "input.video_url")
    where = "input.video_base64"
    return video_item(_base64(value.video_base64, "video", where), options, where)


async def _texts(body: MesEmbeddingRequest, text: MesText, engine: Engine, settings: Settings) -> Any:
    """A string is MES's `embed_query` (one vector), a list its `embed_documents` (one per text)."""
    texts = [text.text] if isinstance(text.text, str) else text.text
    check_count(len(texts), settings, "input.text")
    items: list[Item] = [text_item(value, settings, f"input.text[{i}]") for i, value in enumerate(texts)]
    input_type = "search_query" if isinstance(text.text, str) else "search_document"
    result = await engine.embed(body.model, items, EmbedOptions(input_type=input_type))
    return result.embeddings[0] if isinstance(text.text, str) else list(result.embeddings)


async def embed(body: MesEmbeddingRequest, engine: Engine, settings: Settings) -> dict[str, Any]:
    value = body.input
    if isinstance(value, MesText):
        return {"embedding": await _texts(body, value, engine, settings)}
    if isinstance(value, MesLocalFile):
        raise InvalidInputError(
            f"input.type '{value.type}' reads files on the server's disk, which this server never does; "
            "send the video as 'video_base64' or 'video_url'.",
            param="input.type",
        )
    if isinstance(value, MesImageUrl | MesImageBase64):
        result = await engine.embed(body.model, [_frame(value, "input")])
        return {"embedding": result.embeddings[0]}
    if isinstance(value, MesVideoFrames):
        check_count(len(value.video_frames), settings, "input.video_frames")
        frames: list[Item] = [_frame(f, f"input.video_frames[{i}]") for i, f in enumerate(value.video_frames)]
        result = await engine.embed(body.model, frames, EmbedOptions(normalize=True))
        return {"embedding": list(result.embeddings)}
    result = await engine.embed(body.model, [_video(value)], EmbedOptions(normalize=True))
    return {"embedding": list(result.frames[0].vectors)}
