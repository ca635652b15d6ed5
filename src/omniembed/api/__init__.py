"""HTTP dialects (OpenAI, Cohere, seed-compatible routes). Never imports torch."""
