"""Ray Data → collection scenarios, run as a script inside a private network namespace (see
tests/ray_data/test_index_collection.py): one local Ray (2 CPUs, no dashboard) indexes a folder
into a qdrant-client local-mode collection (the stand-in for a Qdrant server), then indexes it
again, and writes both reports as JSON.

python -m tests.ray_data.collection_job MODEL INPUT_DIR QDRANT_DIR REPORT_JSON LEDGER [kill-once MARKER]

Every actor call appends how many items it embedded to LEDGER, so the test can tell what a run
embedded from what it merely wrote. With `kill-once`, the first actor to reach its third batch
kills its own process (once: MARKER records it) and the job runs once, not twice.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import ray
from qdrant_client import QdrantClient

from omniembed.ray import EmbedBatches, index_collection
from omniembed.retrieval.server_store import ServerStore
from omniembed.settings import Settings


class Watched(EmbedBatches):
    # Set before the class is shipped: as this module is __main__, Ray pickles the class by value.
    ledger = ""
    marker = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    def __call__(self, batch: Any) -> Any:
        self.calls += 1
        marker = Path(self.marker) if self.marker else None
        if marker is not None and self.calls == 3 and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # as an OOM kill or a lost node would: no cleanup, no exception
        out = super().__call__(batch)
        embedded = out.num_rows - out.column("embedding").null_count
        with open(self.ledger, "a") as handle:  # one short O_APPEND write per call
            handle.write(f"{embedded}\n")
        return out


def main(
    model: str, folder: str, qdrant: str, report: str, ledger: str, mode: str = "", marker: str = ""
) -> None:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=256 * 1024 * 1024,
        logging_level=logging.WARNING,
    )
    Watched.ledger, Watched.marker = ledger, marker
    store = ServerStore(QdrantClient(path=qdrant))
    runs = 1 if mode == "kill-once" else 2
    reports = []
    try:
        for _ in range(runs):
            run = index_collection(
                folder,
                "photos",
                store=store,
                model=model,
                settings=Settings(runtime="torch"),
                batch_size=2 if mode else 4,
                write_batch=5,  # several upserts and id checks even on a small folder
                concurrency=1,
                num_cpus=1,
                udf=Watched,
            )
            reports.append(asdict(run))
    finally:
        store.close()
        ray.shutdown()
    with open(report, "w") as handle:
        json.dump(reports, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
