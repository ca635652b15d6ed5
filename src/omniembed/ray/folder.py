"""`embed_folder`: local folders or object-store paths → Parquet of vectors, on Ray Data.

Items are read and split as items.py does, embedded by an actor pool of `EmbedBatches`, and
written as Parquet. An item's id is its file's SHA-256 and its chunk index, so a rerun after a
failure embeds only the ids no output file holds yet: nothing twice, nothing lost.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from omniembed.ray.batches import EmbedBatches
from omniembed.ray.items import RunReport, embed_stage, read_items, resolve, sources_of

logger = logging.getLogger(__name__)


@dataclass
class FolderReport(RunReport):
    output: str
    files_written: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.items} items embedded into {len(self.files_written)} Parquet "
            f"files under {self.output} ({self.already_done} already there), {len(self.failed)} failed; "
            f"{self.seconds:.1f} s, {self.items_per_second:.1f} items/s."
        )


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
    pdf_pages: bool = False,
    **settings: Any,
) -> FolderReport:
    """Embed every supported file under `paths` into Parquet files under `output`.

    Needs a running Ray (`ray.init(...)`; a local one starts otherwise). `concurrency` is the actor
    pool's size (or `(min, max)` to autoscale), `num_cpus` / `num_gpus` each actor's resources.
    `filesystem` serves both the inputs and the output when they are not URIs. Rows: `id`
    (sha256#chunk), `path`, `kind`, `chunk`, `content_hash`, `text`, `metadata` (JSON),
    `embedding` (fixed-size list of float32; null on failure) and `error` (the reason, else null).
    `udf` is an `EmbedBatches` subclass to run instead (extra per-batch work, or fault injection).
    `pdf_pages`: PDFs as rendered page images (kind `image`, `metadata.page`), not text chunks.
    """
    started = time.perf_counter()
    out_fs, out_root = resolve(output, filesystem)
    skip = existing_ids(out_fs, out_root)
    before = set(parquet_files(out_fs, out_root))  # after setting aside unreadable files
    sources = sources_of(paths, filesystem)
    items = read_items(
        sources, filesystem=filesystem, skip=skip, chunk_size=chunk_size, overlap=overlap, pdf_pages=pdf_pages
    )
    embedded = embed_stage(
        items,
        model,
        batch_size=batch_size,
        concurrency=concurrency,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        runtime=runtime,
        precision=precision,
        options=options,
        udf=udf,
        **settings,
    )
    embedded.drop_columns(["data"]).write_parquet(out_root, filesystem=out_fs)
    report = FolderReport(output=str(output), already_done=len(skip))
    report.files_written = sorted(set(parquet_files(out_fs, out_root)) - before)
    _count(report, out_fs, report.files_written)
    report.seconds = time.perf_counter() - started
    return report


def _count(report: FolderReport, filesystem: pafs.FileSystem, written: Iterable[str]) -> None:
    paths: set[str] = set()
    for path in written:
        table = pq.read_table(path, columns=["path", "chunk", "error"], filesystem=filesystem)
        report.items += table.num_rows
        paths.update(table.column("path").to_pylist())
        for row in table.filter(table.column("error").is_valid()).to_pylist():
            report.failed[f"{row['path']}#{row['chunk']}"] = row["error"]
    report.files = len(paths)
