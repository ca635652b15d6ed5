"""`/v1/score` (cross-modal score matrices) and `/v1/classify` (zero-shot classification)."""
