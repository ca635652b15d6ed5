"""Reading files into items on Ray Data, shared by the Parquet and the collection outputs.

Files are read with `ray.data.read_binary_files` (any pyarrow filesystem: s3://, gs://, hdfs://)
and split into items by tasks: text, Markdown and PDF text chunked exactly as `omniembed index`
does, one item per image, video or sound. An item's id is its file's SHA-256 and its chunk index,
so the same content gets the same id wherever it lies and however often it is read: a rerun knows
what is done, and a write is idempotent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from omniembed.errors import OmniEmbedError
from omniembed.ray.batches import EmbedBatches
from omniembed.retrieval.ingest import (
    AUDIO_SUFFIXES,
    IMAGE_SUFFIXES,
    TEXT_SUFFIXES,
    VIDEO_SUFFIXES,
    chunk_words,
    pdf_text,
)

if TYPE_CHECKING:
    import ray.data


@dataclass(kw_only=True)
class RunReport:
    """What a Ray indexing run did, whatever its output (a subclass names the output)."""

    files: int = 0  # input files this run read items from
    items: int = 0  # items this run wrote (Parquet rows include the failed ones)
    already_done: int = 0  # ids the output held before this run
    failed: dict[str, str] = field(default_factory=dict)  # "path#chunk" → reason
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


SUFFIX_KINDS = {
    **{suffix: "text" for suffix in (*TEXT_SUFFIXES, ".pdf")},
    **{suffix: "image" for suffix in IMAGE_SUFFIXES},
    **{suffix: "video" for suffix in VIDEO_SUFFIXES},
    **{suffix: "audio" for suffix in AUDIO_SUFFIXES},
}
ITEMS = pa.schema(
    [
        ("id", pa.string()),
        ("path", pa.string()),
        ("kind", pa.string()),
        ("chunk", pa.int32()),
        ("content_hash", pa.string()),
        ("text", pa.string()),  # the chunk itself, kept for retrieval; null for media
        ("data", pa.binary()),  # what the actor embeds; dropped before writing
        ("metadata", pa.string()),  # JSON, the `metadata` `omniembed index` gives the same item
        ("error", pa.string()),
    ]
)


def file_rows(
    path: str, data: bytes, chunk_size: int, overlap: int, pdf_pages: bool = False
) -> list[dict[str, Any]]:
    """The items of one file, as `ITEMS` rows (an unreadable PDF becomes one error row). With
    `pdf_pages`, a PDF is one image item per rendered page, its text layer as the item's text
    (as `omniembed index --pdf pages` stores it)."""
    suffix = PurePosixPath(path).suffix.lower()
    kind = SUFFIX_KINDS.get(suffix)
    digest = hashlib.sha256(data).hexdigest()

    def row(chunk: int, **values: Any) -> dict[str, Any]:
        metadata = {"path": path, "chunk": chunk} if kind == "text" else {"path": path}
        return {
            "id": f"{digest}#{chunk}",
            "path": path,
            "kind": kind,
            "chunk": chunk,
            "content_hash": digest,
            "metadata": json.dumps(metadata),
            **values,
        }

    if kind is None:
        return []  # read_binary_files already filters by extension; a caller's own list may not
    if suffix == ".pdf" and pdf_pages:
        return _page_rows(row, path, data)
    if kind != "text":
        return [row(0, data=data)]
    try:
        text = pdf_text(data) if suffix == ".pdf" else data.decode("utf-8", errors="replace")
    except OmniEmbedError as error:
        return [row(0, error=error.message)]
    return [
        row(index, text=chunk, data=chunk.encode())
        for index, chunk in enumerate(chunk_words(text, chunk_size, overlap))
    ]


def _page_rows(row: Callable[..., dict[str, Any]], path: str, data: bytes) -> list[dict[str, Any]]:
    from omniembed.retrieval.pdf import render_pages

    try:
        return [
            row(
                page.number - 1,
                kind="image",
                data=page.png,
                text=page.text if page.text.strip() else None,
                metadata=json.dumps({"path": path, "page": page.number}),
            )
            for page in render_pages(data)
        ]
    except OmniEmbedError as error:
        return [row(0, kind="image", error=error.message)]


def expand_files(
    batch: pa.Table,
    *,
    skip: frozenset[str] = frozenset(),
    chunk_size: int = 200,
    overlap: int = 40,
    pdf_pages: bool = False,
) -> pa.Table:
    """`map_batches` step (tasks, CPU): files (`path`, `bytes`) → items not already in the output."""
    rows: list[dict[str, Any]] = []
    for path, data in zip(batch.column("path").to_pylist(), batch.column("bytes").to_pylist(), strict=True):
        found = file_rows(path, data, chunk_size, overlap, pdf_pages)
        rows.extend(item for item in found if item["id"] not in skip)
    return pa.Table.from_pylist(rows, schema=ITEMS)


def resolve(location: str | Path, filesystem: pafs.FileSystem | None = None) -> tuple[pafs.FileSystem, str]:
    """A local path or a URI → (filesystem, path on it), as Ray and pyarrow both take them."""
    text = str(location)
    if filesystem is not None:
        return filesystem, text
    if "://" in text:
        found, path = pafs.FileSystem.from_uri(text)
        return found, path
    return pafs.LocalFileSystem(), str(Path(text).resolve())


def sources_of(paths: str | Path | Sequence[str | Path], filesystem: pafs.FileSystem | None) -> list[str]:
    """Local folders go to Ray as absolute paths, so every worker resolves them alike."""
    listed = [paths] if isinstance(paths, str | Path) else list(paths)
    return [
        str(path) if filesystem is not None or "://" in str(path) else str(Path(path).resolve())
        for path in listed
    ]


def read_items(
    sources: list[str],
    *,
    filesystem: pafs.FileSystem | None = None,
    skip: frozenset[str] = frozenset(),
    chunk_size: int = 200,
    overlap: int = 40,
    pdf_pages: bool = False,
) -> ray.data.Dataset:
    """Every supported file under `sources` as `ITEMS` rows, less the ids in `skip`."""
    import ray.data

    files = ray.data.read_binary_files(
        sources,
        include_paths=True,
        filesystem=filesystem,
        file_extensions=sorted(suffix.lstrip(".") for suffix in SUFFIX_KINDS),
    )
    return files.map_batches(
        expand_files,
        fn_kwargs={"skip": skip, "chunk_size": chunk_size, "overlap": overlap, "pdf_pages": pdf_pages},
        batch_format="pyarrow",
        batch_size=8,  # files, not items: a PDF or long text expands to many chunks
    )


def embed_stage(
    items: ray.data.Dataset,
    model: str,
    *,
    batch_size: int = 32,
    concurrency: int | tuple[int, int] = 1,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    runtime: str | None = None,
    precision: str | None = None,
    options: Mapping[str, Any] | None = None,
    udf: type[EmbedBatches] | None = None,
    **settings: Any,
) -> ray.data.Dataset:
    """The actor pool: each actor loads `model` once and adds `embedding` and `error` columns.
    `concurrency`: the pool's size, or (min, max) for a pool Ray grows and shrinks."""
    from ray.data import ActorPoolStrategy

    sizes = concurrency if isinstance(concurrency, tuple) else (concurrency, concurrency)
    return items.map_batches(
        udf or EmbedBatches,
        fn_constructor_args=(model,),
        fn_constructor_kwargs={
            "kind_column": "kind",
            "column": "data",
            "runtime": runtime,
            "precision": precision,
            "options": dict(options or {}),
            **settings,
        },
        batch_format="pyarrow",
        batch_size=batch_size,
        # `compute`, not `concurrency` (deprecated for actor pools since Ray 2.51).
        compute=ActorPoolStrategy(min_size=sizes[0], max_size=sizes[1]),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )
