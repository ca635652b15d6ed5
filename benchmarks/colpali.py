"""Multi-vector embedding throughput (issue 16's benchmark): page images/s through omniembed against a
ColPali's raw forward, in one run.

    python benchmarks/colpali.py
    python benchmarks/colpali.py --seconds 2 --load-seconds 5 --batch-sizes 1 4   # a smoke run

The model is transformers' `ColPaliForRetrieval` (PaliGemma: SigLIP vision tower + Gemma) built by the
test suite's builder (tests/support/tiny_late_interaction.py) at `--hidden` / `--layers` /
`--image-size` / `--patch` with random weights and its real `ColPaliProcessor`; `--image-size 224
--patch 14` gives 256 patches per page (the real ColPali: 448 / 14 → 1024). Pages are rendered text
(PNG, 1240x1754, A4 at 150 dpi) so decoding and resizing cost what a real page costs.

1. raw: `ColPaliForRetrieval(**processor.process_images(pages))` at each of `--batch-sizes`, the
   pages' processing untimed; the best is the baseline;
2. in-process: the engine (`Embedder`, torch) with `--concurrency` callers, one page per call,
   `output="multivector"`: decoding, processing, batching, forward, masking;
3. server: `omniembed serve --runtime torch`, `--concurrency` clients, one page per POST
   /v1/embeddings with `return_multivector: true` and base64 float32 output, p50/p99 and peak RSS. If
   the server refuses the request the row is skipped and says so.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from PIL import Image, ImageDraw

from benchmarks.loads import _closed_loop, rate_of, served_load, torch_server_flags
from benchmarks.throughput import _json, isolated, peak_rss_mb
from tests.support.server import running_server

WORDS = [
    "load",
    "balancer",
    "configuration",
    "diagram",
    "replica",
    "shard",
    "index",
    "vector",
    "query",
    "latency",
    "throughput",
]


def pages(count: int = 4) -> list[bytes]:
    """A4 pages of text lines at 150 dpi, as PNG."""
    found = []
    for number in range(count):
        page = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(page)
        for line in range(60):
            words = [WORDS[(number * 7 + line * 3 + k) % len(WORDS)] for k in range(9)]
            draw.text((80, 80 + line * 27), " ".join(words), fill="black")
        buffer = io.BytesIO()
        page.save(buffer, format="PNG")
        found.append(buffer.getvalue())
    return found


def build(directory: Path, args: argparse.Namespace) -> Path:
    from tests.support.tiny_late_interaction import build_tiny_colpali

    if (directory / "config.json").is_file():
        return directory
    return build_tiny_colpali(
        directory, hidden=args.hidden, layers=args.layers, image_size=args.image_size, patch=args.patch
    )


def raw(model_dir: str, data: list[bytes], batch_sizes: list[int], seconds: float) -> dict[str, Any]:
    import torch
    from transformers import ColPaliForRetrieval, ColPaliProcessor

    model = ColPaliForRetrieval.from_pretrained(model_dir).eval()
    processor = ColPaliProcessor.from_pretrained(model_dir)
    images = [Image.open(io.BytesIO(page)).convert("RGB") for page in data]
    found: dict[str, Any] = {"forward": {}, "threads": torch.get_num_threads()}
    with torch.inference_mode():
        for size in batch_sizes:
            batch = processor.process_images([images[k % len(images)] for k in range(size)])
            found["forward"][size] = rate_of(lambda _, b=batch: model(**b), size, seconds)
        found["patches"] = int(model(**processor.process_images(images[:1])).embeddings.shape[1])
        best = max(found["forward"], key=lambda size: found["forward"][size])

        def decoded_step(call: int) -> None:  # what the server does per page too: PNG decode, resize
            batch = [
                Image.open(io.BytesIO(data[(call * best + k) % len(data)])).convert("RGB")
                for k in range(best)
            ]
            model(**processor.process_images(batch))

        found["with_decoding"] = rate_of(decoded_step, best, seconds)
    return found


def in_process(model_dir: str, data: list[bytes], concurrency: int, seconds: float) -> float:
    from omniembed import Embedder
    from omniembed.engine.items import EmbedOptions, ImageInput
    from omniembed.media.payload import MediaReference

    options = EmbedOptions(output="multivector", input_type="search_document")

    def make(index: int) -> list[Any]:
        return [ImageInput(reference=MediaReference(data=data[index % len(data)]))]

    with Embedder(model_dir, runtime="torch") as embedder:
        embedder.run(_closed_loop(embedder, make, concurrency, min(seconds, 3.0), options))  # warm-up
        return embedder.run(_closed_loop(embedder, make, concurrency, seconds, options))


def served(url: str, data: list[bytes], concurrency: int, seconds: float) -> dict[str, Any] | None:
    import base64

    bodies = [
        _json(
            {
                "model": "bench",
                "input": [
                    [
                        {
                            "type": "image_url",
                            "image_url": "data:image/png;base64," + base64.b64encode(p).decode(),
                        }
                    ]
                ],
                "return_multivector": True,
                "encoding_format": "base64",
            }
        )
        for p in data
    ]
    headers = {"Content-Type": "application/json"}
    first = httpx.post(f"{url}/v1/embeddings", content=bodies[0], headers=headers, timeout=300)
    if first.status_code != 200:
        print(f"server refused the request ({first.status_code}): {first.text[:300]}", file=sys.stderr)
        return None
    return served_load(url, bodies, concurrency, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per raw batch size")
    parser.add_argument("--load-seconds", type=float, default=30.0, help="per in-process / server load")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--patch", type=int, default=14)
    parser.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "omniembed-bench-colpali"
    )
    args = parser.parse_args()
    name = f"colpali-h{args.hidden}x{args.layers}-i{args.image_size}p{args.patch}"
    model_dir = str(build(args.work_dir / name, args))
    data = pages()
    print("raw forward ...", file=sys.stderr, flush=True)
    base = isolated(raw, model_dir, data, args.batch_sizes, args.seconds)
    print("in-process engine ...", file=sys.stderr, flush=True)
    engine = isolated(in_process, model_dir, data, args.concurrency, args.load_seconds)
    print("server ...", file=sys.stderr, flush=True)
    flags = torch_server_flags(model_dir, args.work_dir)
    with running_server(flags, env={"OMNIEMBED_LOG_LEVEL": "warning"}, timeout=900) as server:
        srv = served(server.url, data, args.concurrency, args.load_seconds)
        rss = peak_rss_mb(server.process.pid)
    forward: dict[int, float] = base["forward"]
    best = max(forward, key=lambda size: forward[size])
    print(
        f"\n{name} · {time.strftime('%Y-%m-%d')} · {os.cpu_count()} cores · {base['patches']} vectors "
        f"per page · concurrency {args.concurrency} · torch threads {base['threads']} (raw)\n"
    )
    print(
        "| raw forward pages/s per batch size | best (batch) | raw + PNG decoding | in-process | server "
        "| server/raw forward | server/raw + decoding | p50/p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rates = " ".join(f"{size}:{rate:.2f}" for size, rate in forward.items())
    decoding = base["with_decoding"]
    row = f"| {rates} | {forward[best]:.2f} ({best}) | {decoding:.2f} | {engine:.2f} |"
    if srv is None:
        print(f"{row} - | in-process/raw {engine / forward[best]:.2f}x | {engine / decoding:.2f}x | - |")
    else:
        rate = srv["rate"]
        print(
            f"{row} {rate:.2f} | {rate / forward[best]:.2f}x | {rate / decoding:.2f}x | "
            f"{srv['p50']:.0f}/{srv['p99']:.0f} |"
        )
        print(f"\nrequests {srv['count']}, non-200 responses {srv['errors']}")
    print(f"server peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
