"""Reranking throughput: `omniembed serve` against `CrossEncoder.predict` in-process, same run.

    python benchmarks/rerank.py                  # 6 layers x 384 wide, 10 s per measurement
    python benchmarks/rerank.py --layers 12 --hidden 768 --seconds 20   # BERT-base's size

A BERT sequence classifier (one label) with random weights and MiniLM's real tokenizer is saved as a
sentence-transformers CrossEncoder: by default a scaled-down BERT-base (6 layers, 384 wide, as
ms-marco-MiniLM-L-6-v2), so a run on a small CPU takes a minute. Each request is one query with 100
documents of 20-80 words (Cohere's `/v2/rerank`); pairs/s are counted at 1 and 8 concurrent clients
and set against `CrossEncoder.predict` over the same pairs at its best batch size (tried: 16, 32,
64, 100). Client and server share this machine's cores. Run by hand; not part of CI.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is built here; nothing to download
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tests.support.server import running_server
from tests.support.tiny_late_interaction import minilm_tokenizer

DOCUMENTS_PER_REQUEST = 100
BATCH_SIZES = (16, 32, 64, 100)


def build_model(directory: Path, layers: int, hidden: int) -> Path:
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = minilm_tokenizer()
    tokenizer.model_max_length = 512
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        intermediate_size=4 * hidden,
        max_position_embeddings=512,
        num_labels=1,
    )
    bare = directory.with_name(directory.name + "-bare")
    BertForSequenceClassification(config).eval().save_pretrained(bare)
    tokenizer.save_pretrained(bare)
    CrossEncoder(str(bare), device="cpu").save(str(directory))
    return directory


def workload(seed: int = 0) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    words = [
        *[
            "coffee",
            "brew",
            "water",
            "grind",
            "roast",
            "bean",
            "cold",
            "hot",
            "steep",
            "hours",
            "fridge",
            "filter",
        ]
    ]
    words += [
        *[
            "rocket",
            "launch",
            "river",
            "horse",
            "dog",
            "bank",
            "sunny",
            "mountain",
            "glacier",
            "permit",
            "report",
        ]
    ]
    documents = [" ".join(rng.choices(words, k=rng.randint(20, 80))) for _ in range(DOCUMENTS_PER_REQUEST)]
    return "how long should cold brew coffee steep", documents


def reference(model_dir: Path, query: str, documents: list[str], seconds: float) -> tuple[int, float]:
    """(best batch size, pairs/s) of `CrossEncoder.predict` on the request's pairs."""
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(model_dir), device="cpu")
    pairs = [(query, document) for document in documents]
    model.predict(pairs, batch_size=32)  # warm-up
    rates = {}
    for batch in BATCH_SIZES:
        started, count = time.perf_counter(), 0
        while time.perf_counter() - started < seconds / len(BATCH_SIZES):
            model.predict(pairs, batch_size=batch)
            count += len(pairs)
        rates[batch] = count / (time.perf_counter() - started)
    best = max(rates, key=lambda size: rates[size])
    return best, rates[best]


def served(url: str, query: str, documents: list[str], clients: int, seconds: float) -> float:
    body = {"model": "rr", "query": query, "documents": documents}
    stop = time.perf_counter() + seconds
    counts = [0] * clients
    lock = threading.Lock()

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while time.perf_counter() < stop:
                response = http.post("/v2/rerank", json=body)
                response.raise_for_status()
                with lock:
                    counts[index] += len(documents)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=384)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    query, documents = workload()
    with tempfile.TemporaryDirectory(prefix="omniembed-rerank-bench-") as work:
        model_dir = build_model(Path(work) / "reranker", args.layers, args.hidden)
        batch, baseline = reference(model_dir, query, documents, args.seconds)
        rows: list[tuple[str, float]] = [(f"CrossEncoder.predict, batch {batch}", baseline)]
        with running_server(["--model", f"rr={model_dir}"]) as server:
            served(server.url, query, documents, 1, min(2.0, args.seconds))  # warm-up
            for clients in args.concurrency:
                rows.append(
                    (
                        f"server, {clients} client(s)",
                        served(server.url, query, documents, clients, args.seconds),
                    )
                )
    print(
        f"\nreranker: BERT {args.layers} layers x {args.hidden}, random weights; "
        f"{DOCUMENTS_PER_REQUEST} documents of 20-80 words per request\n"
    )
    print("| measured | pairs/s | vs predict |")
    print("|---|---:|---:|")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} | {rate / baseline:.2f}x |")


if __name__ == "__main__":
    main()
