"""`omniembed index PATH --collection NAME` and `omniembed search NAME "query"`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from omniembed.errors import InvalidInputError, NotFoundError, OmniEmbedError


def add_commands(commands: Any) -> None:
    index = commands.add_parser(
        "index", help="index a folder (text, Markdown, PDF, images, videos, audio) into a collection"
    )
    index.add_argument("path", help="a folder or file; with --ray also a URI (s3://, gs://, hdfs://)")
    index.add_argument("--collection", "-c", help="collection to index into (created if missing)")
    index.add_argument(
        "--model", "-m", help="embedding model of a new collection (default: omniembed/starter)"
    )
    index.add_argument("--quantization", choices=["none", "int8", "binary"], default="none")
    index.add_argument("--ocr", action="store_true", help="read text in images for keyword search")
    index.add_argument(
        "--pdf",
        choices=["auto", "pages", "text"],
        default="auto",
        help="PDFs as rendered page images (visual-document retrieval) or as text chunks; auto: "
        "pages for a multi-vector model that reads images",
    )
    _sparse_flag(index)
    index.add_argument("--chunk-words", type=int, default=200)
    index.add_argument("--overlap-words", type=int, default=40)
    _store_flags(index)
    from omniembed.ray.command import add_ray_flags

    add_ray_flags(index)

    search = commands.add_parser("search", help="search a collection and print a table")
    search.add_argument("collection")
    search.add_argument("query", nargs="?")
    search.add_argument("--image", type=Path, help="query image (alone or with the text)")
    search.add_argument("--audio", type=Path, help="query sound (alone or with the text)")
    search.add_argument("--top-k", "-k", type=int, default=10)
    search.add_argument("--mode", choices=["dense", "keyword", "hybrid"], default="hybrid")
    search.add_argument("--exact", action="store_true", help="exhaustive search (MaxSim over everything)")
    search.add_argument("--candidates", type=int, help="first-stage hits MaxSim re-scores")
    search.add_argument(
        "--rerank",
        metavar="MODEL",
        help="rerank the hits' text with this reranker (a cross-encoder), loaded next to the "
        "collection's model; --top-k hits are kept",
    )
    search.add_argument(
        "--rerank-candidates", type=int, help="first-stage hits the reranker reads (default max(top-k, 50))"
    )
    _sparse_flag(search)
    _store_flags(search)


def _sparse_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sparse",
        help="sparse side of keyword/hybrid search: bm25 (default) or a sparse model (SPLADE), "
        "served alongside; on search, where to load the collection's sparse model from",
    )


def _store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="embedded store location (OMNIEMBED_DATA_DIR)")
    parser.add_argument("--store", help="http(s) URL of a Qdrant server instead of the embedded store")
    parser.add_argument("--device")
    parser.add_argument("--runtime", choices=["auto", "torch", "onnx", "openvino"])
    parser.add_argument("--precision", choices=["fp32", "bf16", "int8"])


def _settings(args: argparse.Namespace, model: str | None) -> Any:
    from omniembed.settings import Settings

    overrides = {k: v for k, v in vars(args).items() if k in Settings.model_fields and v is not None}
    return Settings(**{**overrides, "models": [model] if model else []})


def _existing(args: argparse.Namespace) -> Any:
    from omniembed.retrieval import open_store

    store = open_store(_settings(args, None))
    try:
        return store.config(args.collection)
    finally:
        store.close()


def _serve_sparse(embedder: Any, settings: Any, sparse: str | None) -> None:
    """The Embedder serves one model; a learned-sparse collection needs its sparse model too."""
    from omniembed.engine.bootstrap import load_models

    if sparse and sparse != "bm25":
        embedder.run(load_models(embedder.engine, settings.model_copy(update={"models": [sparse]})))


def _pdf_pages(embedder: Any, choice: str) -> bool:
    spec = embedder.spec
    if choice == "auto":
        return bool(spec.output == "multivector" and "image" in spec.modalities)
    return choice == "pages"


def run_index(args: argparse.Namespace) -> int:
    if args.ray is not None:
        from omniembed.ray.command import run

        return run(argparse.Namespace(**vars(args), paths=[args.path]))
    if not args.collection or args.output:
        raise InvalidInputError("Give --collection NAME (--output DIR writes Parquet, with --ray only).")
    return _index_here(args)


def _index_here(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from omniembed.embedder import Embedder
    from omniembed.retrieval.ingest import (
        GROUP_FILES,
        IndexReport,
        index_files,
        source_name,
        supported,
        walk,
    )
    from omniembed.retrieval.service import CollectionService

    logging.basicConfig(level=logging.WARNING)
    config = _existing(args)
    existing = config.model if config else None
    if existing and args.model and args.model != existing:
        raise OmniEmbedError(
            f"Collection '{args.collection}' uses {existing}; it cannot take {args.model} embeddings."
        )
    settings = _settings(args, existing or args.model)
    from omniembed.retrieval import open_store

    with Embedder(settings.served_models()[0], settings=settings) as embedder:
        _serve_sparse(embedder, settings, args.sparse or (config.sparse if config else None))
        pdf_pages = _pdf_pages(embedder, args.pdf)
        service = CollectionService(embedder.engine, open_store(settings))
        try:
            if not existing:
                sparse = embedder.engine.names()[-1] if args.sparse not in (None, "bm25") else "bm25"
                creating = service.create(args.collection, None, args.quantization, args.ocr, sparse)
                embedder.run(creating)
            report = IndexReport()
            root = Path(args.path).resolve()
            files = list(walk(root))
            report.ignored = [str(path) for path in files if not supported(path)]
            wanted = [(path, source_name(root, path)) for path in files if supported(path)]
            with tqdm(total=len(wanted), desc=f"indexing into {args.collection}", unit="file") as bar:
                for start in range(0, len(wanted), GROUP_FILES):
                    group = wanted[start : start + GROUP_FILES]
                    embedder.run(
                        index_files(
                            service,
                            args.collection,
                            group,
                            report,
                            args.chunk_words,
                            args.overlap_words,
                            pdf_pages,
                        )
                    )
                    bar.update(len(group))
            total = embedder.run(service.describe(args.collection))[1]
        finally:
            service.store.close()
    print(
        f"{report.indexed_files} files indexed ({report.items} items), {report.unchanged} unchanged, "
        f"{len(report.ignored)} unsupported, {len(report.failed)} failed; "
        f"collection '{args.collection}' holds {total} items."
    )
    for path, message in report.failed.items():
        print(f"  failed: {path}: {message}")
    return 0 if not report.failed else 1


def run_search(args: argparse.Namespace) -> int:
    from omniembed.embedder import Embedder
    from omniembed.media.payload import MediaReference
    from omniembed.retrieval import open_store
    from omniembed.retrieval.rerank import RerankStage, serve_reranker
    from omniembed.retrieval.service import CollectionService

    logging.basicConfig(level=logging.WARNING)
    config = _existing(args)
    if config is None:
        raise NotFoundError(f"Collection '{args.collection}' does not exist.")
    model = config.model
    settings = _settings(args, model)
    image = MediaReference(data=args.image.read_bytes()) if args.image else None
    audio = MediaReference(data=args.audio.read_bytes()) if args.audio else None
    with Embedder(model, settings=settings) as embedder:
        _serve_sparse(embedder, settings, args.sparse or config.sparse)
        rerank = None
        if args.rerank:
            served = serve_reranker(embedder, args.rerank)
            rerank = RerankStage(served, top_n=args.top_k, candidates=args.rerank_candidates)
        service = CollectionService(embedder.engine, open_store(settings))
        try:
            hits = embedder.run(
                service.search(
                    args.collection,
                    text=args.query,
                    image=image,
                    audio=audio,
                    top_k=args.top_k,
                    mode=args.mode,
                    exact=args.exact,
                    candidates=args.candidates,
                    rerank=rerank,
                )
            )
        finally:
            service.store.close()
    print(f"{'#':>3}  {'score':>8}  {'modality':8}  {'id':40}  text")
    for rank, hit in enumerate(hits, 1):
        snippet = " ".join((hit.text or "").split())[:70]
        score = hit.rerank_score if hit.rerank_score is not None else hit.score  # what ordered it
        print(f"{rank:>3}  {score:8.4f}  {hit.modality:8}  {hit.id[:40]:40}  {snippet}")
    return 0
