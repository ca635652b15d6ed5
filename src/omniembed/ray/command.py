"""The Ray side of `omniembed index --ray` and `python -m omniembed.ray`: one set of flags, one
runner. Output is a collection (`--collection`, in the store `--store` / `--data-dir` name) or
Parquet (`--output`); a summary line follows, and the exit status is 1 when any item failed."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from omniembed.errors import InvalidInputError
from omniembed.settings import Settings


def add_ray_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="auto|ADDRESS",
        help="run on Ray Data: join the cluster at ADDRESS ('auto': the one running here), or with "
        "no value start a local Ray for the run",
    )
    parser.add_argument("--output", "-o", help="with --ray: Parquet folder or URI instead of a collection")
    parser.add_argument("--actors", type=int, default=1, help="actor pool size (each loads the model)")
    parser.add_argument("--num-cpus", type=float, help="CPUs per actor")
    parser.add_argument("--num-gpus", type=float, help="GPUs per actor")
    parser.add_argument("--batch-size", type=int, default=32, help="items per actor call")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def settings_from(args: argparse.Namespace) -> Settings:
    fields = Settings.model_fields
    return Settings(
        **{key: value for key, value in vars(args).items() if key in fields and value is not None}
    )


def run(args: argparse.Namespace) -> int:
    """Run one job on the Ray that `args.ray` names; print its report."""
    if bool(args.collection) == bool(args.output):
        raise InvalidInputError("Give --collection NAME (a collection) or --output DIR (Parquet), not both.")
    if args.actors < 1 or args.batch_size < 1:
        raise InvalidInputError("--actors and --batch-size are at least 1.")
    if getattr(args, "sparse", None) not in (None, "bm25"):
        raise InvalidInputError("With --ray, sparse terms are BM25.")
    settings = settings_from(args)
    import ray

    logging.basicConfig(level=logging.WARNING)
    ray.init(address=args.ray or None, include_dashboard=False, logging_level=logging.WARNING)
    try:
        report = _collection(args, settings) if args.collection else _parquet(args, settings)
    finally:
        ray.shutdown()
    if args.json:
        print(json.dumps({**vars(report), "items_per_second": report.items_per_second}))
    else:
        print(report.summary())
        for item, reason in report.failed.items():
            print(f"  failed: {item}: {reason}")
    return 1 if report.failed else 0


def _pool(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "batch_size": args.batch_size,
        "concurrency": args.actors,
        "num_cpus": args.num_cpus,
        "num_gpus": args.num_gpus,
        "chunk_size": args.chunk_words,
        "overlap": args.overlap_words,
        # Explicit on Ray: `auto` would need the model's modalities on the driver (text chunks).
        "pdf_pages": getattr(args, "pdf", "auto") == "pages",
    }


def _collection(args: argparse.Namespace, settings: Settings) -> Any:
    from omniembed.ray.collection import index_collection

    return index_collection(
        args.paths,
        args.collection,
        model=args.model,
        settings=settings,
        quantization=getattr(args, "quantization", "none"),
        ocr=getattr(args, "ocr", False),
        **_pool(args),
    )


def _parquet(args: argparse.Namespace, settings: Settings) -> Any:
    from omniembed.ray.folder import embed_folder

    runtime: dict[str, Any] = {
        "runtime": settings.runtime,
        "precision": settings.precision,
        "device": settings.device,
    }
    return embed_folder(
        args.paths,
        args.model or settings.served_models()[0],
        args.output,
        **{key: value for key, value in runtime.items() if value is not None},
        **_pool(args),
    )
