"""`index_collection`: local folders or object-store paths → a collection, on Ray Data.

The pipeline: read tasks split files into items (items.py) and prepare what a collection stores
beside the vector (points.py: BM25 terms, thumbnails, OCR text); an actor pool of `EmbedBatches`
embeds them as `omniembed index` does (search_document side, long texts chunked and averaged); the
driver upserts the points in batches. Ids are content hashes (sha256#chunk), so an upsert is
idempotent, and a rerun first asks the store which of its ids exist (in batches) and embeds only
the rest: a run that failed halfway resumes with nothing lost and nothing twice.

Why the driver writes: the embedded store (Qdrant Edge) and qdrant-client's local mode are files
that one process may open, and the driver is that process; `iter_batches` streams the actors'
output to it with back-pressure. The driver's write rate is then the ceiling of the whole job. On
a real cluster writing to a Qdrant server, which takes concurrent writers, a task stage after the
actors could upsert its own batches (one client per task, `wait=True`) and the id check could run
in the read tasks too, so nothing funnels through one process.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
import pyarrow.fs as pafs

from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.models.base import Truncation
from omniembed.ray.batches import EmbedBatches
from omniembed.ray.items import RunReport, embed_stage, read_items, sources_of
from omniembed.ray.points import prepare_payloads, stored_points
from omniembed.retrieval.schema import CollectionConfig
from omniembed.retrieval.store import VectorStore
from omniembed.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    import ray.data

# As CollectionService.add embeds a collection's items (retrieval/vectors.py `embed_items`): a
# multi-vector collection's token matrices are the model's own length, neither chunked nor averaged.
DOCUMENT_OPTIONS = {"input_type": "search_document", "truncation": Truncation.CHUNK.value}
MULTIVECTOR_OPTIONS = {"input_type": "search_document", "output": "multivector"}


@dataclass
class CollectionReport(RunReport):
    collection: str
    total: int = 0  # points the collection holds after this run

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.items} items embedded into collection '{self.collection}' "
            f"({self.already_done} already there), {len(self.failed)} failed; {self.seconds:.1f} s, "
            f"{self.items_per_second:.1f} items/s; the collection holds {self.total} items."
        )


def collection_config(
    store: VectorStore, name: str, model: str | None, settings: Settings, quantization: str, use_ocr: bool
) -> CollectionConfig:
    """The collection's config, created as `omniembed index` creates it when missing (the model
    loads once on the driver for that); refused when Ray cannot fill it as the service would."""
    from omniembed.embedder import Embedder
    from omniembed.retrieval.service import CollectionService

    config = store.config(name)
    if config is None or (model and model != config.model):
        with Embedder(model or DEFAULT_MODEL, settings=settings) as embedder:
            if config is not None and embedder.spec.name != config.model:
                raise InvalidInputError(
                    f"Collection '{name}' uses {config.model}; it cannot take {model} embeddings."
                )
            if config is None:
                service = CollectionService(embedder.engine, store)
                config = embedder.run(service.create(name, None, quantization, use_ocr, "bm25"))
    if config.sparse != "bm25":
        raise CapabilityError(
            f"Collection '{name}' takes {config.sparse} sparse terms; Ray indexing makes BM25 terms "
            "(the sparse model is not loaded in the actors): index it without --ray."
        )
    return config


def existing_ids(store: VectorStore, name: str, items: ray.data.Dataset, batch: int) -> frozenset[str]:
    """The ids among `items` the collection holds already, asked of the store `batch` at a time.
    Only the ids travel to the driver (the read tasks drop the bytes)."""
    found: set[str] = set()
    for ids in items.select_columns(["id"]).iter_batches(batch_size=batch, batch_format="pyarrow"):
        wanted = cast("pa.Table", ids).column("id").to_pylist()
        found.update(point.id for point in store.retrieve(name, wanted, with_vectors=False))
    return frozenset(found)


def open_output(store: VectorStore | str | None, settings: Settings) -> tuple[VectorStore, bool]:
    """(store, whether this call opened it and so closes it)."""
    from omniembed.retrieval import open_store

    if store is None or isinstance(store, str):
        chosen = settings if store is None else settings.model_copy(update={"store": store})
        return open_store(chosen), True
    return store, False


def index_collection(
    paths: str | Path | Sequence[str | Path],
    collection: str,
    *,
    store: VectorStore | str | None = None,
    model: str | None = None,
    settings: Settings | None = None,
    quantization: str = "none",
    ocr: bool = False,
    filesystem: pafs.FileSystem | None = None,
    chunk_size: int = 200,
    overlap: int = 40,
    batch_size: int = 32,
    write_batch: int = 256,
    concurrency: int | tuple[int, int] = 1,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    udf: type[EmbedBatches] | None = None,
    progress: bool | None = None,
    pdf_pages: bool = False,
) -> CollectionReport:
    """Embed every supported file under `paths` into `collection` (created if missing).

    `store`: a VectorStore, an http(s) URL of a Qdrant server, or None for the store `settings`
    name (the embedded one under `data_dir` by default). `settings` also give the actors' runtime,
    precision and device. `concurrency`, `num_cpus`, `num_gpus`: the actor pool, as in
    `embed_folder`. `progress`: Ray Data's bars and the driver's write bar (default: when stderr is
    a terminal). `pdf_pages`: PDFs as rendered page images (their text layer for keyword search)
    instead of text chunks. Needs a running Ray (`ray.init(...)`; a local one starts otherwise).
    """
    import ray.data

    started = time.perf_counter()
    settings = settings or Settings()
    progress = sys.stderr.isatty() if progress is None else progress
    ray.data.DataContext.get_current().enable_progress_bars = progress
    opened, owned = open_output(store, settings)
    try:
        config = collection_config(opened, collection, model, settings, quantization, ocr)
        sources = sources_of(paths, filesystem)
        skip = frozenset[str]()
        if opened.count(collection):  # a fresh collection has nothing to skip: no id pass
            every = read_items(
                sources, filesystem=filesystem, chunk_size=chunk_size, overlap=overlap, pdf_pages=pdf_pages
            )
            skip = existing_ids(opened, collection, every, write_batch)
        items = read_items(
            sources,
            filesystem=filesystem,
            skip=skip,
            chunk_size=chunk_size,
            overlap=overlap,
            pdf_pages=pdf_pages,
        ).map_batches(
            prepare_payloads,
            fn_kwargs={**_limits(settings), "read_text": config.ocr},
            batch_format="pyarrow",
        )
        overrides = {"runtime": settings.runtime, "precision": settings.precision, "device": settings.device}
        embedded = embed_stage(
            items,
            config.model,
            batch_size=batch_size,
            concurrency=concurrency,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            options=MULTIVECTOR_OPTIONS if config.output == "multivector" else DOCUMENT_OPTIONS,
            udf=udf,
            **{key: value for key, value in overrides.items() if value is not None},
        )
        report = CollectionReport(collection, already_done=len(skip))
        _write(embedded, opened, report, write_batch, progress)
        report.total = opened.count(collection)
    finally:
        if owned:
            opened.close()
    report.seconds = time.perf_counter() - started
    return report


def _limits(settings: Settings) -> dict[str, Any]:
    from omniembed.engine.bootstrap import input_policy

    policy = input_policy(settings)
    return {"limits": policy.image_limits, "video_limits": policy.video_limits}


def _write(
    embedded: ray.data.Dataset, store: VectorStore, report: CollectionReport, batch: int, progress: bool
) -> None:
    from tqdm import tqdm

    paths: set[str] = set()
    with tqdm(desc=f"writing into {report.collection}", unit="item", disable=not progress) as bar:
        for batch_rows in embedded.iter_batches(batch_size=batch, batch_format="pyarrow"):
            rows = cast("pa.Table", batch_rows)
            points, failed = stored_points(rows)
            if points:
                store.upsert(report.collection, points)
            report.items += len(points)
            report.failed.update(failed)
            paths.update(rows.column("path").to_pylist())
            bar.update(rows.num_rows)
    report.files = len(paths)
