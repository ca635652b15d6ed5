"""Closed-loop load generators for `throughput.py`: over HTTP, and through the Python API's engine
in-process (decoding, tokenizing, batching and the forward pass without HTTP), so that
server / in-process is what the HTTP layer costs on the same cores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omniembed import Embedder
from omniembed.engine.items import EmbedOptions, ImageInput, Item, TextInput
from omniembed.media.payload import MediaReference


async def load(
    url: str, bodies: list[bytes], concurrency: int, seconds: float, path: str
) -> tuple[float, list[float], int]:
    """Closed-loop load: `concurrency` keep-alive connections send pre-encoded requests for `seconds`.

    A minimal HTTP/1.1 client on asyncio streams, so the load generator takes as little as possible
    of the CPU it shares with the server.
    """
    host, port = url.removeprefix("http://").split(":")
    requests = [
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for body in bodies
    ]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        index = offset
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(requests[index % len(requests)])
                await writer.drain()
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
                index += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies, errors


async def _closed_loop(
    embedder: Embedder,
    make: Callable[[int], list[Item]],
    concurrency: int,
    seconds: float,
    options: EmbedOptions | None = None,
) -> float:
    """`concurrency` callers each embed one request's items, then the next, for `seconds`."""
    done = 0
    options = options or EmbedOptions()
    deadline = time.perf_counter() + seconds

    async def caller(offset: int) -> None:
        nonlocal done
        index = offset
        while time.perf_counter() < deadline:
            items = make(index)
            await embedder.engine.embed(embedder.model, items, options)
            done, index = done + len(items), index + 1

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(concurrency)))
    return done / (time.perf_counter() - started)


def engine_throughput(
    model_dir: Path | str,
    runtime: str,
    precision: str,
    cache: Path,
    seconds: float,
    streams: int,
    image_clients: int,
    jpegs: list[bytes],
    captions: list[str],
) -> dict[str, float]:
    """images/s (one JPEG per call), texts/s (one caption per call, 16 callers; 32 per call, 4)."""
    loads: dict[str, tuple[Callable[[int], list[Item]], int]] = {
        "images": (
            lambda i: [ImageInput(reference=MediaReference(data=jpegs[i % len(jpegs)]))],
            image_clients,
        ),
        "texts_single": (lambda i: [TextInput(captions[i % len(captions)])], 16),
        "texts_batched": (lambda i: [TextInput(text) for text in (captions * 2)[:32]], 4),
    }
    with Embedder(
        str(model_dir), runtime=runtime, precision=precision, models_dir=cache, openvino_streams=streams
    ) as embedder:
        rates = {}
        for name, (make, concurrency) in loads.items():
            embedder.run(_closed_loop(embedder, make, concurrency, 2))  # warm-up
            rates[name] = embedder.run(_closed_loop(embedder, make, concurrency, seconds))
    return rates


def rate_of(step: Callable[[int], Any], items: int, seconds: float) -> float:
    """Items/s of `step(call_index)` run back to back for `seconds` (at least one call), after one
    warm-up call: the in-process baselines' loop."""
    step(0)
    started = time.perf_counter()
    done = 0
    while done < 1 or time.perf_counter() - started < seconds:
        step(done)
        done += 1
    return done * items / (time.perf_counter() - started)


def served_load(
    url: str, bodies: list[bytes], concurrency: int, seconds: float, *, warm_up: bool = True
) -> dict[str, Any]:
    """`load` on POST /v1/embeddings (after a short warm-up unless told otherwise): rate, latency
    p50/p99 in ms, answers and non-200 answers."""
    if warm_up:
        asyncio.run(load(url, bodies, 2, min(seconds, 3.0), "/v1/embeddings"))
    rate, latencies, errors = asyncio.run(load(url, bodies, concurrency, seconds, "/v1/embeddings"))
    milliseconds = [value * 1000 for value in latencies]
    p50, p99 = (float(np.percentile(milliseconds, q)) if milliseconds else float("nan") for q in (50, 99))
    return {"rate": rate, "p50": p50, "p99": p99, "count": len(latencies), "errors": errors}


def torch_server_flags(model_dir: str | Path, work_dir: Path) -> list[str]:
    """`omniembed serve` flags of the by-hand benchmarks: the model as `bench`, on torch."""
    return ["--model", f"bench={model_dir}", "--runtime", "torch", "--models-dir", str(work_dir / "cache")]
