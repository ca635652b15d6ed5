"""omniembed: aligned text, image and video embeddings, served and in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Embedder", "__version__"]

if TYPE_CHECKING:
    from omniembed.embedder import Embedder


def __getattr__(name: str) -> Any:
    # Importing the package stays cheap (the CLI and the HTTP layer need no torch at import time).
    if name == "Embedder":
        from omniembed.embedder import Embedder

        return Embedder
    raise AttributeError(name)
