"""OpenAI-compatible `/v1/embeddings` (text, images, video, interleaved content parts)."""
