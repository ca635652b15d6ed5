"""What a collection stores per item, prepared on Ray Data exactly as `CollectionService.add`
would: BM25 terms of the item's text (or its OCR text), OCR text and a thumbnail for images, a
key-frame thumbnail for videos, and
the payload `omniembed index` writes (id, modality, metadata, text, source, content_hash).

The CPU-heavy parts (decoding an image for its thumbnail or for OCR, BM25 tokenizing) run in the
read tasks, next to the bytes, so neither the model's actors nor the driver spend time on them.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pybase64

from omniembed.errors import OmniEmbedError
from omniembed.media.images import ImageLimits, decode_image
from omniembed.media.video import VideoLimits
from omniembed.retrieval import ocr, thumbnails
from omniembed.retrieval.schema import StoredPoint
from omniembed.retrieval.vectors import bm25_document

PREPARED = {
    "sparse_indices": pa.list_(pa.uint32()),
    "sparse_values": pa.list_(pa.float32()),
    thumbnails.PAYLOAD_KEY: pa.string(),
    "ocr_text": pa.string(),
}


def _image_extras(data: bytes, limits: ImageLimits, read_text: bool) -> tuple[str | None, str | None]:
    """(base64 JPEG thumbnail, OCR text) of an image; MediaDecodeError for a corrupt one."""
    side = thumbnails.THUMBNAIL_SIDE
    # JPEG draft mode decodes at a fraction of full size: the preview needs no more.
    jpeg = thumbnails.render(decode_image(data, limits, draft=(side, side)))
    preview = pybase64.b64encode(jpeg).decode("ascii") if jpeg is not None else None
    text = ocr.read_text(decode_image(data, limits)) if read_text else None
    return preview, text


def prepare_payloads(
    batch: pa.Table,
    *,
    limits: ImageLimits | None = None,
    read_text: bool = False,
    video_limits: VideoLimits | None = None,
) -> pa.Table:
    """`map_batches` step (tasks, CPU): adds `PREPARED` columns to `ITEMS` rows. An image or a
    video that cannot be decoded gets its `error` here, and the actors pass it through without
    embedding."""
    limits = limits or ImageLimits()
    video_limits = video_limits or VideoLimits()
    kinds, texts = batch.column("kind").to_pylist(), batch.column("text").to_pylist()
    datas, errors = batch.column("data").to_pylist(), batch.column("error").to_pylist()
    columns: dict[str, list[Any]] = {name: [] for name in PREPARED}
    for row, (kind, text, data) in enumerate(zip(kinds, texts, datas, strict=True)):
        preview = found_text = None
        if kind == "image" and data is not None and errors[row] is None:
            try:
                preview, found_text = _image_extras(data, limits, read_text)
            except OmniEmbedError as error:
                errors[row] = error.message
        elif kind == "video" and data is not None and errors[row] is None:
            try:
                preview = thumbnails.video_thumbnail(data, video_limits)
            except OmniEmbedError as error:
                errors[row] = error.message
        terms = bm25_document(text or found_text or "")
        columns["sparse_indices"].append(terms[0] if terms else None)
        columns["sparse_values"].append(terms[1] if terms else None)
        columns[thumbnails.PAYLOAD_KEY].append(preview)
        columns["ocr_text"].append(found_text)
    table = batch.drop_columns(["error"])
    for name, kind in PREPARED.items():
        table = table.append_column(name, pa.array(columns[name], type=kind))
    return table.append_column("error", pa.array(errors, type=pa.string()))


def stored_points(batch: pa.Table) -> tuple[list[StoredPoint], dict[str, str]]:
    """Embedded rows → the points to upsert, and the failed rows ("path#chunk" → reason)."""
    points: list[StoredPoint] = []
    failed: dict[str, str] = {}
    for row in batch.drop_columns(["data"]).to_pylist():
        if row["error"] is not None or row["embedding"] is None:
            failed[f"{row['path']}#{row['chunk']}"] = row["error"] or "no vector"
            continue
        payload: dict[str, Any] = {
            "id": row["id"],
            "modality": row["kind"],
            "metadata": json.loads(row["metadata"]),
            # The keys `omniembed index` marks its items with (filters, deletion by file).
            "source": row["path"],
            "content_hash": row["content_hash"],
        }
        if "page" in payload["metadata"]:  # a rendered PDF page, as `omniembed index --pdf pages` marks it
            payload["page"] = payload["metadata"]["page"]
        for key in ("text", "ocr_text", thumbnails.PAYLOAD_KEY):
            if row[key] is not None:
                payload[key] = row[key]
        sparse = (row["sparse_indices"], row["sparse_values"]) if row["sparse_indices"] else None
        matrix = row.get("multivector")  # a multi-vector collection's token matrix (EmbedBatches)
        points.append(
            StoredPoint(
                id=row["id"], vector=row["embedding"], sparse=sparse, payload=payload, multivector=matrix
            )
        )
    return points, failed
