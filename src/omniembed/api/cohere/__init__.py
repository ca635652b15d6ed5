"""Cohere Embed v2-compatible `/v2/embed` (texts, images, mixed inputs, embedding types)."""
