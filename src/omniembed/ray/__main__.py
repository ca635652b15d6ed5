"""`python -m omniembed.ray PATH... (--output DIR | --collection NAME) [--ray auto|ADDRESS]`.

Bulk-embeds folders or object-store paths into Parquet or into a collection on a Ray cluster (or
a local Ray started for the run), prints a summary, and exits 1 when any item failed. The same
job as `omniembed index PATH --ray`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from omniembed.errors import OmniEmbedError
from omniembed.ray.command import add_ray_flags, run


def parser() -> argparse.ArgumentParser:
    parsed = argparse.ArgumentParser(
        prog="python -m omniembed.ray", description="Embed folders into Parquet or a collection on Ray Data."
    )
    parsed.add_argument("paths", nargs="+", help="local folders/files or URIs (s3://, gs://, hdfs://)")
    parsed.add_argument("--collection", "-c", help="collection to index into (created if missing)")
    parsed.add_argument("--model", "-m", help="model (default: the collection's, else omniembed/starter)")
    parsed.add_argument("--quantization", choices=["none", "int8", "binary"], default="none")
    parsed.add_argument("--ocr", action="store_true", help="read text in images for keyword search")
    parsed.add_argument("--data-dir", type=Path, help="embedded store location (OMNIEMBED_DATA_DIR)")
    parsed.add_argument("--store", help="http(s) URL of a Qdrant server instead of the embedded store")
    parsed.add_argument("--runtime", choices=["auto", "torch", "onnx", "openvino"])
    parsed.add_argument("--precision", choices=["fp32", "bf16", "int8"])
    parsed.add_argument("--device")
    parsed.add_argument("--chunk-words", type=int, default=200)
    parsed.add_argument("--overlap-words", type=int, default=40)
    add_ray_flags(parsed)
    return parsed


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except OmniEmbedError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
