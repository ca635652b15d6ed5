"""Bulk indexing of a folder: text, Markdown and PDF text (chunked), images, videos and audio.
For visual-document retrieval, PDFs can instead become one image item per rendered page (its text
layer kept as the item's text for keyword / sparse search; see pdf.py).

Each file's items carry its relative path and content hash; a file whose first item already has
the same hash is skipped, so an interrupted run resumes where it stopped, and a changed file has
its old items replaced. A file's items are written in one durable upsert, never half.

`omniembed index` hands files over in groups (`index_files`): their items go through one embedding
call and one upsert, so the engine fills its batches across files (a folder of photos ran one
forward pass and one durable flush per photo before: 24.5 photos/s in benchmarks/ray_index.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from omniembed.errors import MediaDecodeError, OmniEmbedError
from omniembed.media.payload import MediaReference
from omniembed.retrieval.schema import ItemModality
from omniembed.retrieval.service import CollectionItem, CollectionService

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a"}


# A group: at most this many files, and its items are added at most this many at a time.
GROUP_FILES = 32
GROUP_ITEMS = 256


@dataclass
class IndexReport:
    indexed_files: int = 0
    items: int = 0
    unchanged: int = 0
    ignored: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def chunk_words(text: str, size: int, overlap: int) -> list[str]:
    """Windows of `size` words overlapping by `overlap` (paragraph breaks are kept as spaces)."""
    words = text.split()
    if not words:
        return []
    step = max(1, size - overlap)
    chunks = []
    for start in range(0, len(words), step):
        chunks.append(" ".join(words[start : start + size]))
        if start + size >= len(words):
            break
    return chunks


def pdf_text(path: Path | bytes) -> str:
    """The text layer of a PDF file, or of its bytes (read from an object store by `omniembed.ray`)."""
    import io

    from pypdf import PdfReader

    source = str(path) if isinstance(path, Path) else io.BytesIO(path)
    try:
        return "\n".join(page.extract_text() or "" for page in PdfReader(source).pages)
    except Exception as error:  # pypdf's errors for damaged or encrypted files
        raise MediaDecodeError(f"Cannot read the PDF's text: {error}") from error


def page_items(path: Path, source: str, marker: dict[str, str]) -> list[CollectionItem]:
    """One image item per rendered page: `page` in payload and metadata (filterable), the page's
    text layer as the item's text (none for a scanned page)."""
    from omniembed.retrieval.pdf import render_pages

    return [
        CollectionItem(
            id=f"{source}#{page.number - 1}",  # '#0' first, as resuming looks for
            modality="image",
            text=page.text if page.text.strip() else None,
            media=MediaReference(data=page.png),
            metadata={"path": source, "page": page.number},
            extra_payload={**marker, "page": page.number},
        )
        for page in render_pages(path)
    ]


def items_for(
    path: Path, source: str, digest: str, chunk_size: int, overlap: int, pdf_pages: bool = False
) -> list[CollectionItem]:
    suffix = path.suffix.lower()
    marker = {"source": source, "content_hash": digest}
    if suffix == ".pdf" and pdf_pages:
        return page_items(path, source, marker)
    if suffix in TEXT_SUFFIXES or suffix == ".pdf":
        text = pdf_text(path) if suffix == ".pdf" else path.read_text(encoding="utf-8", errors="replace")
        return [
            CollectionItem(
                id=f"{source}#{index}",
                modality="text",
                text=chunk,
                metadata={"path": source, "chunk": index},
                extra_payload=marker,
            )
            for index, chunk in enumerate(chunk_words(text, chunk_size, overlap))
        ]
    kind: ItemModality = (
        "image" if suffix in IMAGE_SUFFIXES else "audio" if suffix in AUDIO_SUFFIXES else "video"
    )
    media = MediaReference(data=path.read_bytes())
    return [
        CollectionItem(
            id=f"{source}#0", modality=kind, media=media, metadata={"path": source}, extra_payload=marker
        )
    ]


def supported(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in TEXT_SUFFIXES | IMAGE_SUFFIXES | VIDEO_SUFFIXES | AUDIO_SUFFIXES or suffix == ".pdf"


def source_name(root: Path, path: Path) -> str:
    """The id prefix and `source` payload of a file: its path relative to the indexed folder."""
    return path.relative_to(root).as_posix() if root.is_dir() else path.name


async def index_file(
    service: CollectionService,
    collection: str,
    path: Path,
    source: str,
    report: IndexReport,
    chunk_size: int,
    overlap: int,
    pdf_pages: bool = False,
) -> None:
    digest = await asyncio.to_thread(lambda: hashlib.sha256(path.read_bytes()).hexdigest())
    existing = await service.retrieve(collection, [f"{source}#0"], with_vectors=False)
    if existing and existing[0].payload.get("content_hash") == digest:
        report.unchanged += 1
        return
    items = await asyncio.to_thread(items_for, path, source, digest, chunk_size, overlap, pdf_pages)
    if existing:
        await service.delete_where(collection, "source", source)
    if items:
        await service.add(collection, items)
    report.indexed_files += 1
    report.items += len(items)


async def index_files(
    service: CollectionService,
    collection: str,
    files: list[tuple[Path, str]],
    report: IndexReport,
    chunk_size: int,
    overlap: int,
    pdf_pages: bool = False,
) -> None:
    """`index_file` for a group of (path, source) files, their items added together. A batch the
    service refuses is added again file by file, so one bad file fails alone, with its reason
    in `report.failed`."""
    digests = await asyncio.to_thread(lambda: [_digest(path) for path, _ in files])
    stored = await service.retrieve(collection, [f"{source}#0" for _, source in files], with_vectors=False)
    hashes = {point.id: point.payload.get("content_hash") for point in stored}
    prepared: list[tuple[Path, list[CollectionItem]]] = []
    for (path, source), digest in zip(files, digests, strict=True):
        known = hashes.get(f"{source}#0")
        if known == digest:
            report.unchanged += 1
            continue
        try:
            items = await asyncio.to_thread(items_for, path, source, digest, chunk_size, overlap, pdf_pages)
        except OmniEmbedError as error:
            report.failed[str(path)] = error.message
            continue
        if known is not None:
            await service.delete_where(collection, "source", source)
        prepared.append((path, items))
    for batch in _batches(prepared):
        everything = [item for _, items in batch for item in items]
        try:
            if everything:
                await service.add(collection, everything)
            added = batch
        except OmniEmbedError as error:
            added = await _one_by_one(service, collection, batch, report) if len(batch) > 1 else []
            if len(batch) == 1:
                report.failed[str(batch[0][0])] = error.message
        report.indexed_files += len(added)
        report.items += sum(len(items) for _, items in added)


async def _one_by_one(
    service: CollectionService,
    collection: str,
    batch: list[tuple[Path, list[CollectionItem]]],
    report: IndexReport,
) -> list[tuple[Path, list[CollectionItem]]]:
    """The files of a refused batch added each on its own: the ones that went in."""
    added = []
    for path, items in batch:
        try:
            if items:
                await service.add(collection, items)
        except OmniEmbedError as error:
            report.failed[str(path)] = error.message
        else:
            added.append((path, items))
    return added


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _batches(
    prepared: list[tuple[Path, list[CollectionItem]]],
) -> Iterator[list[tuple[Path, list[CollectionItem]]]]:
    """Consecutive files whose items add up to at most GROUP_ITEMS (a larger file goes alone);
    files without items (an empty text) count as indexed and are not added."""
    batch: list[tuple[Path, list[CollectionItem]]] = []
    size = 0
    for path, items in prepared:
        if batch and size + len(items) > GROUP_ITEMS:
            yield batch
            batch, size = [], 0
        batch.append((path, items))
        size += len(items)
    if batch:
        yield batch
