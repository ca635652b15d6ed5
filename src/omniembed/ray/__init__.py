"""omniembed on Ray Data: bulk embedding of large corpora on one machine or a cluster.

Needs the `ray` extra (`pip install "omniembed[ray]"`). `EmbedBatches` is the callable class for
`Dataset.map_batches`; `embed_folder` (and `python -m omniembed.ray`) turns folders or object-store
paths into Parquet files of vectors, resumably.
"""

from omniembed.ray.batches import EmbedBatches, to_item
from omniembed.ray.folder import FolderReport, embed_folder, expand_files

__all__ = ["EmbedBatches", "FolderReport", "embed_folder", "expand_files", "to_item"]
