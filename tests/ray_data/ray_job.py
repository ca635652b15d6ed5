"""Ray Data scenarios, run as a script inside a private network namespace (see
tests/ray_data/test_embed_folder.py): a local Ray (2 CPUs, no dashboard) embeds a folder into
Parquet through the Python API and writes its report as JSON.

python -m tests.ray_data.ray_job MODEL INPUT_DIR OUTPUT_DIR REPORT_JSON [kill-once MARKER]

With `kill-once`, the first actor to reach its third batch kills its own process (once: MARKER
records it), so Ray must restart the actor and retry that batch.
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

from omniembed.ray import EmbedBatches, embed_folder


class DiesOnce(EmbedBatches):
    marker = ""  # set before the class is shipped to the workers (this module is __main__ there too)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    def __call__(self, batch: Any) -> Any:
        self.calls += 1
        marker = Path(self.marker)
        if self.calls == 3 and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # as an OOM kill or a lost node would: no cleanup, no exception
        return super().__call__(batch)


def main(model: str, folder: str, output: str, report: str, mode: str = "", marker: str = "") -> None:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=256 * 1024 * 1024,
        logging_level=logging.WARNING,
    )
    DiesOnce.marker = marker
    try:
        run = embed_folder(
            folder,
            model,
            output,
            runtime="torch",
            batch_size=2 if mode else 4,
            concurrency=1,
            num_cpus=1,
            udf=DiesOnce if mode == "kill-once" else None,
        )
    finally:
        ray.shutdown()
    with open(report, "w") as handle:
        json.dump(asdict(run), handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
