"""Reranking routes: Cohere `/v2/rerank` and `/v1/rerank`, Jina/vLLM and TEI `/rerank`."""
