"""Infinity-compatible routes without the /v1 prefix: `/embeddings` (with `modality`), `/models`,
and the deprecated `/embeddings_image` and `/embeddings_audio`."""
