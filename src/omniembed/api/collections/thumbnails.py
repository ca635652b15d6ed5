"""`GET /v1/collections/{name}/items/{id}/thumbnail`: an image or video item's stored JPEG preview."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from omniembed.api.errors import error_responses
from omniembed.api.state import services
from omniembed.retrieval import thumbnails

router = APIRouter(tags=["collections"], responses=error_responses())

JPEG = {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}


@router.get(
    "/v1/collections/{name}/items/{item_id:path}/thumbnail",
    response_class=Response,
    responses={200: {"content": JPEG, "description": "JPEG, longest side at most 256 px"}},
)
async def item_thumbnail(name: str, item_id: str, request: Request) -> Response:
    """An image or video item's thumbnail (longest side 256 px, at most 30 KB; a video's middle
    frame); 404 for text and audio items."""
    jpeg = await thumbnails.read(services(request).collections, name, item_id)
    # Private: as protected as its collection; no-cache: an item replaced by id gets a new picture.
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-cache"})
