"""`POST /v1/embeddings/video`: one video → a clip vector (normalized mean of its frames), and with
`pooling: "none"` the per-frame vectors with their timestamps. JSON (base64, data URI or URL) or
multipart (`file`, options as form fields)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.body import media_type, read_json, request_body, validate
from omniembed.api.errors import Request, error_responses
from omniembed.api.fields import Dimensions, Fps, Name, NumFrames
from omniembed.api.inputs import video_item
from omniembed.api.multipart import MULTIPART_SCHEMA, read_upload
from omniembed.api.responses import ORJSONResponse
from omniembed.api.state import services
from omniembed.engine.items import EmbedOptions, EmbedResult, Item, VideoOptions
from omniembed.engine.postprocess import encode_vectors
from omniembed.errors import InvalidInputError

router = APIRouter(tags=["video"], responses=error_responses())


class VideoEmbeddingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 400 naming it
    model: Name | None = None
    num_frames: NumFrames | None = Field(
        default=None, description="frames sampled uniformly (clamped to the limit)"
    )
    fps: Fps | None = Field(default=None, description="sample at this rate instead (0 < fps <= 60)")
    pooling: Literal["mean", "none"] = "mean"
    normalize: bool | None = None
    dimensions: Dimensions | None = None
    encoding_format: Literal["float", "base64", "int8", "uint8", "binary", "ubinary"] = "float"


class VideoEmbeddingRequest(VideoEmbeddingOptions):
    video: str = Field(description="base64, data URI (video/mp4, video/webm, ...) or http(s) URL")


def _response(result: EmbedResult, options: VideoEmbeddingOptions) -> dict[str, Any]:
    vectors = encode_vectors(result.embeddings, options.encoding_format)
    body: dict[str, Any] = {"object": "video.embedding", "model": result.model, "embedding": vectors[0]}
    frames = result.frames.get(0)
    if frames is not None:
        encoded = encode_vectors(frames.vectors, options.encoding_format)
        body["frames"] = [
            {"timestamp": stamp, "embedding": vector}
            for stamp, vector in zip(frames.timestamps, encoded, strict=True)
        ]
    body["usage"] = {"frames": result.image_count}
    return body


@router.post(
    "/v1/embeddings/video", openapi_extra=request_body(VideoEmbeddingRequest, multipart=MULTIPART_SCHEMA)
)
async def embed_video(request: Request) -> ORJSONResponse:
    """Embed one video from sampled frames (same image tower and batches as images)."""
    svc = services(request)
    item: Item
    options: VideoEmbeddingOptions
    if media_type(request) == "multipart/form-data":
        upload = await read_upload(request, svc.settings, allow_text=False, kind="video")
        options = validate(upload.options, VideoEmbeddingOptions)
        if len(upload.items) != 1:
            raise InvalidInputError("Send exactly one video file.", param="file")
        item = upload.items[0]
    else:
        body = await read_json(request, VideoEmbeddingRequest)
        options = body
        frames = VideoOptions(num_frames=body.num_frames, fps=body.fps, pooling=body.pooling)
        item = video_item(body.video, frames, "video")
    embed_options = EmbedOptions(normalize=options.normalize, dimensions=options.dimensions)
    result = await svc.engine.embed(options.model, [item], embed_options)
    return ORJSONResponse(_response(result, options))
