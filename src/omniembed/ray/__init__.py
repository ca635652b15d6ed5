"""omniembed on Ray Data: bulk embedding of large corpora on one machine or a cluster.

Needs the `ray` extra (`pip install "omniembed[ray]"`). `EmbedBatches` is the callable class for
`Dataset.map_batches`; `embed_folder` turns folders or object-store paths into Parquet files of
vectors and `index_collection` into a collection, both resumably (`omniembed index --ray` and
`python -m omniembed.ray` run them).

The names load on first use, so `omniembed index` can offer its --ray flags without Ray or
pyarrow installed.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "EmbedBatches": "omniembed.ray.batches",
    "to_item": "omniembed.ray.batches",
    "FolderReport": "omniembed.ray.folder",
    "embed_folder": "omniembed.ray.folder",
    "expand_files": "omniembed.ray.items",
    "CollectionReport": "omniembed.ray.collection",
    "index_collection": "omniembed.ray.collection",
    "application": "omniembed.ray.serve",  # online replicas on Ray Serve (omniembed serve --ray-serve)
    "app_builder": "omniembed.ray.serve",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    return getattr(importlib.import_module(_HOMES[name]), name)
