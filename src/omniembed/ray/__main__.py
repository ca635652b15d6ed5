"""`python -m omniembed.ray PATH... --output DIR --model MODEL [--ray auto|ADDRESS]`.

Bulk-embeds folders or object-store paths into Parquet on a Ray cluster (or a local Ray started
for the run), prints a summary, and exits 1 when any item failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    parsed = argparse.ArgumentParser(
        prog="python -m omniembed.ray", description="Embed folders into Parquet on Ray Data."
    )
    parsed.add_argument("paths", nargs="+", help="local folders/files or URIs (s3://, gs://, hdfs://)")
    parsed.add_argument("--output", "-o", required=True, help="folder or URI of the Parquet output")
    parsed.add_argument("--model", "-m", default="omniembed/starter")
    parsed.add_argument(
        "--ray", default=None, metavar="auto|ADDRESS", help="cluster to join (default: start a local one)"
    )
    parsed.add_argument("--runtime", choices=["auto", "torch", "onnx", "openvino"])
    parsed.add_argument("--precision")
    parsed.add_argument("--device")
    parsed.add_argument("--actors", type=int, default=1, help="actor pool size (each loads the model)")
    parsed.add_argument("--num-cpus", type=float, help="CPUs per actor")
    parsed.add_argument("--num-gpus", type=float, help="GPUs per actor")
    parsed.add_argument("--batch-size", type=int, default=32)
    parsed.add_argument("--chunk-words", type=int, default=200)
    parsed.add_argument("--overlap-words", type=int, default=40)
    parsed.add_argument("--json", action="store_true", help="print the report as JSON")
    return parsed


def main(argv: Sequence[str] | None = None) -> int:
    import ray

    from omniembed.ray.folder import embed_folder

    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    ray.init(address=args.ray, include_dashboard=False, logging_level=logging.WARNING)
    try:
        report = embed_folder(
            args.paths,
            args.model,
            args.output,
            chunk_size=args.chunk_words,
            overlap=args.overlap_words,
            batch_size=args.batch_size,
            concurrency=args.actors,
            num_cpus=args.num_cpus,
            num_gpus=args.num_gpus,
            runtime=args.runtime,
            precision=args.precision,
            device=args.device,
        )
    finally:
        ray.shutdown()
    if args.json:
        print(json.dumps({**vars(report), "items_per_second": report.items_per_second}))
    else:
        print(report.summary())
        for item, reason in report.failed.items():
            print(f"  failed: {item}: {reason}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
