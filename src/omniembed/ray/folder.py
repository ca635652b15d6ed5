"""`embed_folder`: local folders or object-store paths → Parquet of vectors, on Ray Data.

Files are read with `ray.data.read_binary_files` (any pyarrow filesystem: s3://, gs://, hdfs://),
split into items by tasks (text, Markdown and PDF text chunked exactly as `omniembed index` does),
embedded by an actor pool of `EmbedBatches`, and written as Parquet. An item's id is its file's
SHA-256 and its chunk index, so a rerun after a failure embeds only the ids no output file holds
yet: nothing twice, nothing lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

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

logger = logging.getLogger(__name__)

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


@dataclass
class FolderReport:
    output: str
    files_written: list[str] = field(default_factory=list)
    items: int = 0  # rows written by this run, failures included
    already_done: int = 0  # ids the output held before this run
    failed: dict[str, str] = field(default_factory=dict)  # "path#chunk" → reason
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"{self.items} items embedded into {len(self.files_written)} Parquet files under {self.output} "
            f"({self.already_done} already there), {len(self.failed)} failed; "
            f"{self.seconds:.1f} s, {self.items_per_second:.1f} items/s."
        )


def file_rows(path: str, data: bytes, chunk_size: int, overlap: int) -> list[dict[str, Any]]:
    """The items of one file, as `ITEMS` rows (an unreadable PDF becomes one error row)."""
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


def expand_files(
    batch: pa.Table, *, skip: frozenset[str] = frozenset(), chunk_size: int = 200, overlap: int = 40
) -> pa.Table:
    """`map_batches` step (tasks, CPU): files (`path`, `bytes`) → items not already in the output."""
    rows: list[dict[str, Any]] = []
    for path, data in zip(batch.column("path").to_pylist(), batch.column("bytes").to_pylist(), strict=True):
        rows.extend(item for item in file_rows(path, data, chunk_size, overlap) if item["id"] not in skip)
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


def parquet_files(filesystem: pafs.FileSystem, root: str) -> list[str]:
    selector = pafs.FileSelector(root, allow_not_found=True, recursive=True)
    return sorted(
        info.path
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File
        and info.path.endswith(".parquet")
        and not posixpath.basename(info.path).startswith(("_", "."))
    )


def existing_ids(filesystem: pafs.FileSystem, root: str) -> frozenset[str]:
    """Ids in the output already. A file a crash left half-written cannot be read: it is renamed
    with a leading underscore, which Parquet readers skip, and its items are embedded again."""
    ids: set[str] = set()
    for path in parquet_files(filesystem, root):
        try:
            ids.update(pq.read_table(path, columns=["id"], filesystem=filesystem).column("id").to_pylist())
        except (OSError, pa.ArrowException) as error:
            aside = posixpath.join(posixpath.dirname(path), "_incomplete-" + posixpath.basename(path))
            logger.warning("Setting aside unreadable %s (%s) as %s", path, error, aside)
            filesystem.move(path, aside)
    return frozenset(ids)


def embed_folder(
    paths: str | Path | Sequence[str | Path],
    model: str,
    output: str | Path,
    *,
    filesystem: pafs.FileSystem | None = None,
    chunk_size: int = 200,
    overlap: int = 40,
    batch_size: int = 32,
    concurrency: int | tuple[int, int] = 1,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    runtime: str | None = None,
    precision: str | None = None,
    options: Mapping[str, Any] | None = None,
    udf: type[EmbedBatches] | None = None,
    **settings: Any,
) -> FolderReport:
    """Embed every supported file under `paths` into Parquet files under `output`.

    Needs a running Ray (`ray.init(...)`; a local one starts otherwise). `concurrency` is the actor
    pool's size (or `(min, max)` to autoscale), `num_cpus` / `num_gpus` each actor's resources.
    `filesystem` serves both the inputs and the output when they are not URIs. Rows: `id`
    (sha256#chunk), `path`, `kind`, `chunk`, `content_hash`, `text`, `metadata` (JSON),
    `embedding` (fixed-size list of float32; null on failure) and `error` (the reason, else null).
    `udf` is an `EmbedBatches` subclass to run instead (extra per-batch work, or fault injection).
    """
    import ray.data

    started = time.perf_counter()
    sources = [str(paths)] if isinstance(paths, str | Path) else [str(path) for path in paths]
    out_fs, out_root = resolve(output, filesystem)
    skip = existing_ids(out_fs, out_root)
    before = set(parquet_files(out_fs, out_root))  # after setting aside unreadable files
    files = ray.data.read_binary_files(
        [_input_path(source, filesystem) for source in sources],
        include_paths=True,
        filesystem=filesystem,
        file_extensions=sorted(suffix.lstrip(".") for suffix in SUFFIX_KINDS),
    )
    items = files.map_batches(
        expand_files,
        fn_kwargs={"skip": skip, "chunk_size": chunk_size, "overlap": overlap},
        batch_format="pyarrow",
        batch_size=8,  # files, not items: a PDF or long text expands to many chunks
    )
    embedded = items.map_batches(
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
        concurrency=concurrency,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )
    embedded.drop_columns(["data"]).write_parquet(out_root, filesystem=out_fs)
    report = FolderReport(output=str(output), already_done=len(skip))
    report.files_written = sorted(set(parquet_files(out_fs, out_root)) - before)
    _count(report, out_fs, report.files_written)
    report.seconds = time.perf_counter() - started
    return report


def _input_path(source: str, filesystem: pafs.FileSystem | None) -> str:
    """Local folders go to Ray as absolute paths, so every worker resolves them alike."""
    if filesystem is not None or "://" in source:
        return source
    return str(Path(source).resolve())


def _count(report: FolderReport, filesystem: pafs.FileSystem, written: Iterable[str]) -> None:
    for path in written:
        table = pq.read_table(path, columns=["path", "chunk", "error"], filesystem=filesystem)
        report.items += table.num_rows
        for row in table.filter(table.column("error").is_valid()).to_pylist():
            report.failed[f"{row['path']}#{row['chunk']}"] = row["error"]
