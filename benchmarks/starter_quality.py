"""Measure omniembed/starter on real photos, and sweep ConSE's T and temperature.

    python benchmarks/starter_quality.py

Prints text→image top-1 retrieval (of 8) and zero-shot top-1 accuracy (8 photos, 16 labels) for
each setting, with the defaults marked. Run by hand; not part of CI.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from omniembed import Embedder
from omniembed.models import starter
from tests.support.starter_set import LABELS, PHOTOS, load


def measure(embedder: Embedder) -> tuple[int, int]:
    images = embedder.embed_images([load(name) for name, _, _ in PHOTOS])
    texts = embedder.embed_texts([description for _, description, _ in PHOTOS])
    retrieval = int((np.argmax(texts @ images.T, axis=1) == np.arange(len(PHOTOS))).sum())
    labels = embedder.embed_texts([f"a photo of a {label}." for label in LABELS])
    predicted = np.argmax(images @ labels.T, axis=1)
    zero_shot = sum(LABELS[p] == label for p, (_, _, label) in zip(predicted, PHOTOS, strict=True))
    return retrieval, zero_shot


def main() -> None:
    embedder = Embedder("omniembed/starter")
    head = embedder.engine.runner(None).adapter.resources[1]
    print(f"{'T':>4} {'temp':>5}  text→image top-1  zero-shot top-1")
    for top in (1, 3, 5, 10, 20, 100):
        for temperature in (0.5, 1.0, 2.0):
            head.top, head.temperature = top, temperature
            retrieval, zero_shot = measure(embedder)
            mark = "  <- default" if (top, temperature) == (starter.TOP_CLASSES, starter.TEMPERATURE) else ""
            print(f"{top:>4} {temperature:>5}  {retrieval}/{len(PHOTOS):<15} {zero_shot}/{len(PHOTOS)}{mark}")
    embedder.close()


if __name__ == "__main__":
    main()
