"""A VLM embedder (Qwen3-VL-Embedding's shape, scaled down, random weights) served by omniembed
against `SentenceTransformer.encode` in-process, in one run (issue 15's benchmark).

    python benchmarks/vlm.py                                  # defaults: a few minutes on 2 cores
    python benchmarks/vlm.py --load-seconds 40 --text-hidden 512 --vision-hidden 256 --max-pixels 200704
    python benchmarks/vlm.py --seconds 2 --load-seconds 5 --batch-sizes 1 8   # a smoke run

The model is a random-weight `Qwen3VLModel` built from `Qwen3VLConfig` with the tests' offline
tokenizer (tests/support/tiny_qwen3_vl.py) but larger (sizes from the flags), wrapped as
sentence-transformers publishes Qwen3-VL-Embedding (Transformer -> last-token Pooling ->
Normalize), with the real Qwen3-VL processor capped at `--max-pixels` per image: a 1-2 MP photo
becomes a few hundred visual tokens.

1. baseline: `SentenceTransformer(model_dir).encode(...)` in a child process of its own, on the same
   inputs, at each of `--batch-sizes`; the best is the baseline. Images are the same JPEG bytes the
   server gets, decoded with Pillow inside the timed loop (the server decodes them too;
   `--predecoded` times `encode` alone on decoded images);
2. server: `omniembed serve --runtime torch` on 127.0.0.1, `--concurrency` closed-loop clients,
   one image per request (an `image_url` part with a JPEG data URI) and one short text per request
   on POST /v1/embeddings. Latency p50/p99 per request and the server's peak RSS (VmHWM).

A baseline batch size runs for `--seconds` (at least one call), a server load for `--load-seconds`
(then the requests in flight finish and count: the rate is all answers over all the time, so the
window should hold several rounds per client; the report prints the rounds). Client and server
share the machine's cores. Run by hand; not part of CI.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from PIL import Image

from benchmarks.loads import load, rate_of, served_load, torch_server_flags
from benchmarks.throughput import CAPTIONS, _json, isolated, peak_rss_mb, photos_jpeg
from tests.support.server import running_server

TARGETS = {"images": 1.0, "texts": 1.5}


def build(directory: Path, args: argparse.Namespace) -> Path:
    """The test suite's Qwen3-VL builder (tests/support/tiny_qwen3_vl.py) at the sizes asked for."""
    from tests.support.tiny_qwen3_vl import build_tiny_qwen3_vl

    if (directory / "modules.json").is_file():
        return directory
    head_dim = args.text_hidden // args.text_heads
    # Qwen3-VL splits a head's rotary frequencies 24/20/20 (time/height/width) of 64.
    spatial = head_dim // 2 * 20 // 64
    depth = args.vision_depth
    text = {
        "hidden_size": args.text_hidden,
        "intermediate_size": args.text_hidden * 3,
        "num_hidden_layers": args.text_layers,
        "num_attention_heads": args.text_heads,
        "num_key_value_heads": max(1, args.text_heads // 4),
        "head_dim": head_dim,
        "max_position_embeddings": 8192,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [head_dim // 2 - 2 * spatial, spatial, spatial],
            "mrope_interleaved": True,
        },
    }
    vision = {
        "depth": depth,
        "hidden_size": args.vision_hidden,
        "intermediate_size": args.vision_hidden * 4,
        "num_heads": max(1, args.vision_hidden // 64),
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": sorted({depth // 4, depth // 2, 3 * depth // 4} - {0}) or [0],
    }
    return build_tiny_qwen3_vl(
        directory, text=text, vision=vision, min_pixels=128 * 128, max_pixels=args.max_pixels
    )


def baseline(
    model_dir: str,
    jpegs: list[bytes],
    captions: list[str],
    batch_sizes: list[int],
    seconds: float,
    predecoded: bool,
) -> dict[str, Any]:
    """`SentenceTransformer.encode` items/s per batch size, and the token counts of each photo."""
    import torch
    from sentence_transformers import SentenceTransformer

    def decode(data: bytes) -> Image.Image:
        return Image.open(io.BytesIO(data)).convert("RGB")

    model = SentenceTransformer(model_dir, device="cpu")
    decoded = [decode(data) for data in jpegs]
    image_token = model[0].model.config.image_token_id

    def images(size: int):
        def step(call: int) -> None:
            picked = [(call * size + k) % len(jpegs) for k in range(size)]
            batch = [decoded[i] for i in picked] if predecoded else [decode(jpegs[i]) for i in picked]
            model.encode(batch, batch_size=size)

        return step

    def texts(size: int):
        def step(call: int) -> None:
            model.encode([captions[(call * size + k) % len(captions)] for k in range(size)], batch_size=size)

        return step

    found: dict[str, Any] = {"images": {}, "texts": {}, "threads": torch.get_num_threads()}
    with torch.inference_mode():
        for size in batch_sizes:
            found["images"][size] = rate_of(images(size), size, seconds)
            found["texts"][size] = rate_of(texts(size), size, seconds)
    found["photo_sizes"] = [image.size for image in decoded]
    found["visual_tokens"], found["image_sequence"] = [], []
    for image in decoded:
        ids = model.preprocess([image])["input_ids"]
        found["visual_tokens"].append(int((ids == image_token).sum()))
        found["image_sequence"].append(int(ids.shape[1]))
    found["text_sequence"] = [int(model.preprocess([c])["input_ids"].shape[1]) for c in captions]
    return found


def served(url: str, jpegs: list[bytes], concurrency: int, seconds: float) -> dict[str, Any]:
    uris = ["data:image/jpeg;base64," + base64.b64encode(data).decode() for data in jpegs]
    image_bodies = [
        _json({"model": "bench", "input": [{"type": "image_url", "image_url": {"url": u}}]}) for u in uris
    ]
    text_bodies = [_json({"model": "bench", "input": caption}) for caption in CAPTIONS]
    usage = [
        httpx.post(
            f"{url}/v1/embeddings", content=body, headers={"Content-Type": "application/json"}, timeout=300
        )
        .json()
        .get("usage", {})
        for body in (image_bodies[0], text_bodies[0])
    ]
    asyncio.run(load(url, image_bodies + text_bodies, 2, min(seconds, 3.0), "/v1/embeddings"))  # warm-up
    found: dict[str, Any] = {"usage": usage, "errors": 0}
    for name, bodies in (("images", image_bodies), ("texts", text_bodies)):
        found[name] = served_load(url, bodies, concurrency, seconds, warm_up=False)
        found["errors"] += found[name]["errors"]
    return found


def report(args: argparse.Namespace, model_dir: Path, base: dict[str, Any], server: dict[str, Any]) -> None:
    print(
        f"\n{model_dir.name} · {time.strftime('%Y-%m-%d')} · {os.cpu_count()} cores · "
        f"{args.seconds:g} s per baseline batch size, {args.load_seconds:g} s per server load · "
        f"concurrency {args.concurrency} · torch threads "
        f"{base['threads']} (baseline) · baseline images "
        f"{'pre-decoded' if args.predecoded else 'decoded in the loop'}\n"
    )
    print(
        "| load | baseline items/s per batch size | best (batch) | server items/s | server/baseline | "
        "target | p50/p99 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in ("images", "texts"):
        rates: dict[int, float] = base[name]
        best = max(rates, key=lambda size: rates[size])
        per = " ".join(f"{size}:{rate:.1f}" for size, rate in rates.items())
        srv = server[name]
        ratio = srv["rate"] / rates[best]
        mark = "met" if ratio >= TARGETS[name] else "not met"
        print(
            f"| {name} (1/request) | {per} | {rates[best]:.1f} ({best}) | {srv['rate']:.1f} | {ratio:.2f}x | "
            f">= {TARGETS[name]:.1f}x ({mark}) | {srv['p50']:.0f}/{srv['p99']:.0f} |"
        )
    print(
        f"\nvisual tokens per image (processor): {base['visual_tokens']} · sequence lengths: "
        f"{base['image_sequence']} (photos {' '.join(f'{w}x{h}' for w, h in base['photo_sizes'])})"
    )
    print(f"text sequence lengths: min {min(base['text_sequence'])} max {max(base['text_sequence'])}")
    print(
        f"server usage, first image request: {json.dumps(server['usage'][0])}; "
        f"first text: {json.dumps(server['usage'][1])}"
    )
    print(
        f"server peak RSS: {server['rss']:.0f} MB · start-up RSS {server['startup_rss']:.0f} MB · "
        f"start {server['startup_s']:.0f} s"
    )
    print(
        f"requests: images {server['images']['count']}, texts {server['texts']['count']} "
        f"({server['images']['count'] / args.concurrency:.1f} and "
        f"{server['texts']['count'] / args.concurrency:.1f} rounds per client); "
        f"non-200 responses: {server['errors']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per baseline batch size")
    parser.add_argument("--load-seconds", type=float, default=20.0, help="per server load")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--predecoded", action="store_true", help="baseline times encode() on decoded images")
    parser.add_argument("--text-hidden", type=int, default=384)
    parser.add_argument("--text-layers", type=int, default=4)
    parser.add_argument("--text-heads", type=int, default=6)
    parser.add_argument("--vision-depth", type=int, default=4)
    parser.add_argument("--vision-hidden", type=int, default=192)
    parser.add_argument(
        "--max-pixels", type=int, default=448 * 448, help="the processor's pixel budget per image"
    )
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "omniembed-bench-vlm")
    args = parser.parse_args()
    name = (
        f"qwen3-vl-t{args.text_hidden}x{args.text_layers}h{args.text_heads}-"
        f"v{args.vision_hidden}x{args.vision_depth}-p{args.max_pixels}"
    )
    print(f"building {name} ...", file=sys.stderr, flush=True)
    model_dir = build(args.work_dir / name, args)
    jpegs = photos_jpeg()
    print("baseline: SentenceTransformer.encode ...", file=sys.stderr, flush=True)
    base = isolated(
        baseline, str(model_dir), jpegs, CAPTIONS, args.batch_sizes, args.seconds, args.predecoded
    )
    print("server ...", file=sys.stderr, flush=True)
    flags = torch_server_flags(model_dir, args.work_dir)
    started = time.perf_counter()
    with running_server(flags, env={"OMNIEMBED_LOG_LEVEL": "warning"}, timeout=900) as server:
        startup = {"startup_rss": peak_rss_mb(server.process.pid), "startup_s": time.perf_counter() - started}
        found = served(server.url, jpegs, args.concurrency, args.load_seconds)
        found.update(startup, rss=peak_rss_mb(server.process.pid))
    report(args, model_dir, base, found)


if __name__ == "__main__":
    main()
