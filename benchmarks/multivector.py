"""Multi-vector collections (issue 16's store benchmark): memory per page for float / int8 / binary
patch vectors, search p50/p99 of the two-stage search (pooled-vector HNSW, then MaxSim of the
candidates) against exact MaxSim over every page, and recall@10 of two-stage against exact.

    python benchmarks/multivector.py                          # 10,000 pages x 1,000 patches x 128
    python benchmarks/multivector.py --pages 500 --queries 20 # a smoke run
    python benchmarks/multivector.py --structure none         # pure noise: see below

Pages are synthetic and of realistic shape: `--patches` unit vectors of `--dim` each (+-10 %), drawn
around two of `--topics` topic directions in unequal shares, as a page's patches gather around what
it shows; queries are 20 noisy tokens taken from one page. With `--structure none` every patch is
independent noise: every page then scores about the same for every query, the pooled vector carries
no signal, and no first stage can reach exact MaxSim's top 10 (that row measures only the speed).
Truth is exact MaxSim in numpy. The store is embedded Qdrant Edge through the real EdgeStore,
built in `--data-dir` (default: a temporary folder), one collection per quantization. Run by hand;
not part of CI.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from omniembed.retrieval.edge_store import EdgeStore
from omniembed.retrieval.schema import CollectionConfig, StoredPoint, StoreQuery
from omniembed.retrieval.store import MULTI

K = 10


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def page(rng: np.random.Generator, args: argparse.Namespace, topics: np.ndarray | None) -> np.ndarray:
    count = int(args.patches * rng.uniform(0.9, 1.1))
    if topics is None:
        return unit(rng.normal(size=(count, args.dim)))
    mine = topics[rng.choice(len(topics), 2, replace=False)]
    shares = rng.dirichlet([0.5, 0.5])
    return unit(mine[rng.choice(2, count, p=shares)] + rng.normal(scale=0.3, size=(count, args.dim)))


def pages(args: argparse.Namespace) -> list[np.ndarray]:
    rng = np.random.default_rng(args.seed)
    topics = unit(rng.normal(size=(args.topics, args.dim))) if args.structure == "topics" else None
    return [page(rng, args, topics) for _ in range(args.pages)]


def queries(args: argparse.Namespace, documents: list[np.ndarray]) -> list[np.ndarray]:
    rng = np.random.default_rng(args.seed + 1)
    found = []
    for source in rng.choice(len(documents), args.queries, replace=False):
        tokens = documents[source][rng.choice(len(documents[source]), 20, replace=False)]
        found.append(unit(tokens + rng.normal(scale=0.2, size=tokens.shape)))
    return found


def exact_top(query: np.ndarray, documents: list[np.ndarray]) -> list[int]:
    scores = np.array([(query @ d.T).max(axis=1).sum() for d in documents])
    return list(np.argsort(-scores)[:K])


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build(root: Path, quantization: str, documents: list[np.ndarray], dim: int) -> EdgeStore:
    store = EdgeStore(root)
    config = CollectionConfig(
        name="pages",
        model="synthetic",
        dimension=dim,
        quantization=quantization,  # type: ignore[arg-type]
        output="multivector",
    )
    store.create(config)
    for start in range(0, len(documents), 50):
        batch = [
            StoredPoint(
                id=str(i),
                vector=unit(documents[i].mean(axis=0)).tolist(),
                sparse=None,
                payload={"id": str(i), "modality": "image"},
                multivector=documents[i].tolist(),
            )
            for i in range(start, min(start + 50, len(documents)))
        ]
        store.upsert("pages", batch)
    store.optimize("pages")
    return store


def timed(store: EdgeStore, query: np.ndarray, **fields: object) -> tuple[float, list[int]]:
    request = StoreQuery(
        dense=unit(query.mean(axis=0)).tolist(),
        sparse=None,
        mode="dense",
        top_k=K,
        filter={},
        multivector=query.tolist(),
        **fields,  # type: ignore[arg-type]
    )
    started = time.perf_counter()
    hits = store.search("pages", request)
    return (time.perf_counter() - started) * 1000, [int(hit.id) for hit in hits]


def run(args: argparse.Namespace) -> None:
    documents = pages(args)
    asked = queries(args, documents)
    truth = [exact_top(q, documents) for q in asked]
    patches = sum(len(d) for d in documents)
    print(
        f"{len(documents)} pages, {patches / len(documents):.0f} patches x {args.dim} dims per page "
        f"(structure: {args.structure}), {len(asked)} queries of 20 tokens, top {K}"
    )
    raw = {"none": 4 * args.dim, "int8": args.dim, "binary": args.dim * 2 / 8}  # bytes per patch
    print(
        f"{'quant':7} {'MiB/page raw':>12} {'disk MiB/page':>13} {'2-stage p50':>11} {'p99':>7} "
        f"{'exact p50':>9} {'p99':>7} {'speed-up':>8} {'recall@10':>9}"
    )
    base = Path(args.data_dir or tempfile.mkdtemp(prefix="omniembed-multivector-"))
    for quantization in args.quantizations:
        root = base / quantization
        store = build(root, quantization, documents, args.dim)
        multi_bytes = folder_bytes(root) / len(documents)
        two_stage, exact, found = [], [], 0
        for query, best in zip(asked, truth, strict=True):
            spent, ids = timed(store, query, candidates=args.candidates)
            two_stage.append(spent)
            found += len(set(ids) & set(best))
            exact.append(timed(store, query, exact=True)[0])
        store.close()
        shutil.rmtree(root, ignore_errors=True)
        p50, p99 = np.percentile(two_stage, 50), np.percentile(two_stage, 99)
        e50, e99 = np.percentile(exact, 50), np.percentile(exact, 99)
        print(
            f"{quantization:7} {raw[quantization] * patches / len(documents) / 2**20:12.3f} "
            f"{multi_bytes / 2**20:13.3f} {p50:9.1f}ms {p99:5.1f}ms {e50:7.1f}ms {e99:5.1f}ms "
            f"{e50 / p50:7.1f}x {found / (len(asked) * K):9.3f}"
        )
    print(f"(disk: the whole shard folder per page, '{MULTI}' originals + quantized copy + pooled vector)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--patches", type=int, default=1_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--topics", type=int, default=400)
    parser.add_argument("--structure", choices=["topics", "none"], default="topics")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--candidates", type=int, default=None, help="first-stage hits (default 10 x 10)")
    parser.add_argument("--quantizations", nargs="+", default=["none", "int8", "binary"])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--seed", type=int, default=16)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
