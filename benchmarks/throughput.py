"""Throughput of omniembed against the in-process forward pass, per runtime and precision.

    python benchmarks/throughput.py                      # every runtime/precision
    python benchmarks/throughput.py --configs openvino:int8 torch:fp32 --seconds 15
    python benchmarks/throughput.py --configs openvino:int8:1 openvino:int8:2   # OpenVINO streams

A CLIP with ViT-B/32's architecture (transformers' CLIPConfig defaults: the compute of the real
model) and random weights is built once with a real CLIP tokenizer. For each configuration it
measures, in one run:

1. raw: the model's own forward in-process on pre-processed batches of 32 (the baseline);
2. in-process: the same loads through the Python API's engine (decoding, tokenizing, batching,
   forward) without HTTP, so server / in-process is what the HTTP layer costs;
3. server: `omniembed serve` on 127.0.0.1 driven by concurrent clients: images/s from 1-2 MP JPEG
   bytes (base64 data URIs, one image per request, 16 clients unless --image-clients), short
   texts/s as single-caption requests at concurrency 16, texts/s as 32-caption requests; p50/p99
   latency; the server's peak RSS.

The server starts cold, on an empty models_dir, so its start includes the export (and int8
calibration) of compiled runtimes: "start-up peak RSS" is the server process's VmHWM once /ready
answers, "export child MB" the peak of the child process that exported (runtimes/export.py).
`--startup-only` measures just those, for each configuration, without the loads.

It prints a Markdown table with the server/raw and server/in-process ratios. Client and server
share this machine's cores, so the server's numbers include the load generator's cost. Run by
hand; not part of CI.
`--peer` runs the same text and image loads against infinity-emb serving the same directory
(its torch engine; `--peer-python` names an interpreter that has it, e.g. a separate virtualenv,
since its pins differ from ours); image requests use its own `modality: "image"` form.
`--model omniembed/starter` (or any catalog id or directory) measures that model instead of the
random ViT-B/32.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
from PIL import Image

from benchmarks.loads import engine_throughput, load
from omniembed.engine.bootstrap import load_model
from omniembed.models.base import Truncation
from omniembed.models.registry import resolve
from tests.support.server import running_server

CONFIGS = [
    "torch:fp32",
    "torch:bf16",
    "onnx:fp32",
    "onnx:int8",
    "openvino:fp32",
    "openvino:bf16",
    "openvino:int8",
]
CAPTIONS = [
    "a photo of a cat",
    "two dogs in the snow",
    "a red car on a street",
    "a cup of coffee",
    "a rocket launch",
    "an astronaut on the moon",
    "a bowl of fruit",
    "a city skyline at night",
    "a man riding a horse",
    "a plate of pasta",
    "children playing football",
    "a sailboat at sunset",
    "a snowy mountain peak",
    "a laptop on a desk",
    "a bird on a branch",
    "a busy train station",
]


def build_model(directory: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from omniembed.models.open_clip import clip_tokenizer

    if (directory / "config.json").is_file():
        return directory
    torch.manual_seed(0)
    config = CLIPConfig()  # ViT-B/32 image tower, 12-layer 512-wide text tower, 512-d projection
    config.text_config.pad_token_id, config.text_config.eos_token_id = 49407, 49407
    config.text_config.bos_token_id = 49406
    CLIPModel(config).eval().save_pretrained(directory)
    tokenizer = clip_tokenizer()
    tokenizer.pad_token = "<|endoftext|>"
    tokenizer.save_pretrained(directory)
    CLIPImageProcessor().save_pretrained(directory)
    return directory


def photos_jpeg() -> list[bytes]:
    """Real photos (scikit-image) upscaled to 1-2 MP and encoded as JPEG q90."""
    import skimage.data

    sizes = [(1600, 1200), (1920, 1080), (1280, 960), (1400, 1400)]
    encoded = []
    for index, name in enumerate(["astronaut", "chelsea", "coffee", "rocket"]):
        image = (
            Image.fromarray(getattr(skimage.data, name)()).convert("RGB").resize(sizes[index], Image.BICUBIC)
        )
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        encoded.append(buffer.getvalue())
    return encoded


def raw_throughput(
    model_dir: Path | str, runtime: str, precision: str, cache: Path, seconds: float, streams: int = 0
) -> dict[str, float]:
    request = resolve(
        str(model_dir),
        runtime=runtime,
        runtime_explicit=True,
        precision=precision,
        models_dir=cache,
        openvino_streams=streams,
    )
    adapter = load_model(request)
    image_tower, text_tower = adapter.image, adapter.text
    assert image_tower is not None and text_tower is not None
    photo = Image.open(io.BytesIO(photos_jpeg()[0])).convert("RGB")
    pixels = image_tower.collate([image_tower.preprocess(photo)] * 32)
    windows = [w[0] for w in text_tower.preprocess((CAPTIONS * 2)[:32], Truncation.END)]
    tokens = text_tower.collate(windows)
    # As many callers as the tower runs passes at once (OpenVINO streams), as the server does.
    return {
        "images": _rate(lambda: image_tower.forward(pixels), 32, seconds, image_tower.concurrency),
        "texts": _rate(lambda: text_tower.forward(tokens), 32, seconds, text_tower.concurrency),
    }


def _rate(step, items: int, seconds: float, callers: int = 1) -> float:
    from concurrent.futures import ThreadPoolExecutor

    step()  # warm-up
    started = time.perf_counter()

    def loop() -> int:
        done = 0
        while time.perf_counter() - started < seconds or done < 3:
            step()
            done += 1
        return done

    with ThreadPoolExecutor(callers) as pool:
        total = sum(pool.map(lambda _: loop(), range(callers)))
    return total * items / (time.perf_counter() - started)


def _json(body: dict) -> bytes:
    import orjson

    return orjson.dumps(body)


def server_throughput(
    url: str, seconds: float, model: str = "bench", dialect: str = "openai", image_clients: int = 16
) -> dict[str, float]:
    uris = ["data:image/jpeg;base64," + base64.b64encode(j).decode() for j in photos_jpeg()]
    if dialect == "infinity":
        images = [_json({"model": model, "modality": "image", "input": [uri]}) for uri in uris]
    else:
        parts = [{"type": "image_url", "image_url": {"url": uri}} for uri in uris]
        images = [_json({"model": model, "input": [part]}) for part in parts]
    singles = [_json({"model": model, "input": caption}) for caption in CAPTIONS]
    batches = [_json({"model": model, "input": (CAPTIONS * 2)[:32]})]
    asyncio.run(load(url, images[:1] + singles[:1], 2, 2, "/v1/embeddings"))  # warm-up
    image_rate, image_lat, e1 = asyncio.run(load(url, images, image_clients, seconds, "/v1/embeddings"))
    single_rate, single_lat, e2 = asyncio.run(load(url, singles, 16, seconds, "/v1/embeddings"))
    batch_rate, _, e3 = asyncio.run(load(url, batches, 4, seconds, "/v1/embeddings"))
    return {
        "images": image_rate,
        "image_p50": _pct(image_lat, 50),
        "image_p99": _pct(image_lat, 99),
        "texts_single": single_rate,
        "single_p50": _pct(single_lat, 50),
        "single_p99": _pct(single_lat, 99),
        "texts_batched": batch_rate * 32,
        "errors": e1 + e2 + e3,
    }


def _pct(values: list[float], percent: int) -> float:
    return float(np.percentile(values, percent)) * 1000 if values else float("nan")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _in_child(queue: Any, function: Any, *args: Any) -> None:
    queue.put(function(*args))


def isolated(function: Any, *args: Any) -> dict[str, float]:
    """`function(*args)` in a fresh process: an earlier runtime's idle thread pools must not
    compete with this one (ONNX Runtime's workers spin, for instance)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue, function, *args))
    child.start()
    result: dict[str, float] = queue.get(timeout=1800)
    child.join()
    return result


def export_child_mb(cache: Path) -> float:
    """The peak RSS of the child process that built this cache's artifacts (NaN: none ran)."""
    import json

    peaks = [json.loads(p.read_text())["peak_rss_mb"] for p in cache.glob("compiled/*/export.json")]
    return max(peaks, default=float("nan"))


@contextlib.contextmanager
def cold_server(model_dir: Path | str, config: str, work_dir: Path) -> Any:
    """A server on an empty models_dir, and its start-up numbers once ready."""
    runtime, precision, *rest = config.split(":")
    streams = int(rest[0]) if rest else 0
    work_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(dir=work_dir, prefix=f"cold-{runtime}-{precision}-"))
    args = f"--openvino-streams {streams} --runtime {runtime} --precision {precision}".split()
    args += ["--model", f"bench={model_dir}", "--models-dir", str(cache)]
    started = time.perf_counter()
    env = {"OMNIEMBED_LOG_LEVEL": "warning", "OMNIEMBED_RUNTIME": runtime}
    try:
        with running_server(args, env=env, timeout=1800) as server:
            startup = {
                "startup_rss": peak_rss_mb(server.process.pid),
                "export_rss": export_child_mb(cache),
                "startup_s": time.perf_counter() - started,
            }
            yield server, startup
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def startup_only(model_dir: Path | str, config: str, work_dir: Path) -> dict[str, float]:
    with cold_server(model_dir, config, work_dir) as (_, startup):
        return startup


def run_config(
    model_dir: Path | str, cache: Path, config: str, seconds: float, image_clients: int
) -> dict[str, object]:
    # runtime:precision[:openvino streams], e.g. openvino:int8:1 for one all-core pass at a time;
    # without it, the server's default (0: OpenVINO's throughput hint picks)
    runtime, precision, *rest = config.split(":")
    streams = int(rest[0]) if rest else 0
    raw = isolated(raw_throughput, model_dir, runtime, precision, cache, seconds, streams)
    engine = isolated(
        engine_throughput,
        model_dir,
        runtime,
        precision,
        cache,
        seconds,
        streams,
        image_clients,
        photos_jpeg(),
        CAPTIONS,
    )
    with cold_server(model_dir, config, cache.parent) as (server, startup):
        served = server_throughput(server.url, seconds, image_clients=image_clients)
        served["rss"] = peak_rss_mb(server.process.pid)
    return {"config": config, "raw": raw, "engine": engine, "server": {**served, **startup}}


def table(rows: list[dict]) -> str:
    """raw: the forward alone; in-process: the Python API's engine (decode, tokenize, batch,
    forward) under the same loads; server: the same over HTTP."""
    lines = [
        "| runtime:precision | raw img/s | in-process img/s (JPEG) | server img/s (JPEG) | server/raw | "
        "server/in-process | img p50/p99 ms | raw txt/s | in-process txt/s (1/req, c=16) | "
        "server txt/s (1/req, c=16) | server/in-process | p50/p99 ms | in-process txt/s (32/req) | "
        "server txt/s (32/req) | server/raw | peak RSS MB | start-up peak RSS MB | export child MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        raw, engine, srv = row["raw"], row["engine"], row["server"]
        lines.append(
            f"| {row['config']} | {raw['images']:.1f} | {engine['images']:.1f} | {srv['images']:.1f} | "
            f"{srv['images'] / raw['images']:.2f} | {srv['images'] / engine['images']:.2f} | "
            f"{srv['image_p50']:.0f}/{srv['image_p99']:.0f} | {raw['texts']:.0f} | "
            f"{engine['texts_single']:.0f} | {srv['texts_single']:.0f} | "
            f"{srv['texts_single'] / engine['texts_single']:.2f} | "
            f"{srv['single_p50']:.0f}/{srv['single_p99']:.0f} | {engine['texts_batched']:.0f} | "
            f"{srv['texts_batched']:.0f} | {srv['texts_batched'] / raw['texts']:.2f} | {srv['rss']:.0f} | "
            f"{srv.get('startup_rss', math.nan):.0f} | {srv.get('export_rss', math.nan):.0f} |"
        )
    return "\n".join(lines)


def peer(model_dir: Path, seconds: float, python: str, image_clients: int) -> dict[str, object] | None:
    """The same loads against infinity-emb serving the same directory, when `python` has it."""
    import subprocess

    from tests.support.server import free_port

    probe = subprocess.run([python, "-c", "import infinity_emb"], capture_output=True)
    if probe.returncode != 0:
        print(f"infinity-emb is not importable by {python}; peer comparison skipped.", file=sys.stderr)
        return None
    port = free_port()
    command = [
        python,
        "-c",
        "import sys; from infinity_emb.cli import cli; sys.exit(cli())",
        "v2",
        "--model-id",
        str(model_dir),
        "--port",
        str(port),
        "--served-model-name",
        "bench",
        "--url-prefix",
        "/v1",
        "--host",
        "127.0.0.1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(1)
        served = server_throughput(url, seconds, dialect="infinity", image_clients=image_clients)
        served["rss"] = peak_rss_mb(process.pid)
        return {
            "config": "infinity-emb (torch)",
            "raw": {"images": math.nan, "texts": math.nan},
            "engine": dict.fromkeys(("images", "texts_single", "texts_batched"), math.nan),
            "server": served,
        }
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", nargs="*", default=CONFIGS)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "omniembed-bench")
    parser.add_argument("--peer", action="store_true", help="also load infinity-emb if installed")
    parser.add_argument("--peer-python", default=sys.executable, help="an interpreter with infinity-emb")
    parser.add_argument("--model", help="a catalog id or directory instead of the random ViT-B/32")
    parser.add_argument("--image-clients", type=int, default=16, help="concurrent image requests")
    parser.add_argument("--startup-only", action="store_true", help="only cold start-up memory")
    args = parser.parse_args()
    model_dir = args.model or build_model(args.work_dir / "clip-vit-b-32-random")
    cache = args.work_dir / "cache"
    if args.startup_only:
        print(
            "| runtime:precision | start-up peak RSS MB | export child MB | start-up s |\n|---|---|---|---|"
        )
        for config in args.configs:
            found = startup_only(model_dir, config, args.work_dir)
            print(
                f"| {config} | {found['startup_rss']:.0f} | {found['export_rss']:.0f} | "
                f"{found['startup_s']:.0f} |",
                flush=True,
            )
        return
    rows = []
    for config in args.configs:
        print(f"running {config} ...", file=sys.stderr, flush=True)
        rows.append(run_config(model_dir, cache, config, args.seconds, args.image_clients))
        print(table(rows[-1:]), file=sys.stderr, flush=True)
    peer_row = args.peer and peer(Path(model_dir), args.seconds, args.peer_python, args.image_clients)
    if peer_row:
        rows.append(peer_row)
    print(
        f"\n{model_dir} · {time.strftime('%Y-%m-%d')} · {os.cpu_count()} cores · "
        f"{args.seconds:.0f} s per measurement · {args.image_clients} image clients\n"
    )
    print(table(rows))
    errors = sum(int(row["server"]["errors"]) for row in rows)
    print(f"\nnon-200 responses during the loads: {errors}")
    measured = [r["raw"]["images"] for r in rows if not math.isnan(r["raw"]["images"])]
    if measured:
        print(f"medians (raw img/s): {statistics.median(measured):.1f}")


if __name__ == "__main__":
    main()
