"""Batching, scheduling and post-processing: the layer between the HTTP dialects and the models."""
