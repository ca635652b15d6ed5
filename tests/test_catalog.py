"""The catalog is data: every entry is complete, every family has a loader, ids resolve."""

from __future__ import annotations

import importlib

import pytest

from omniembed.catalog import load_catalog
from omniembed.models.registry import resolve

SEED_IDS = [
    "CLIP/clip-vit-b-32",
    "CLIP/clip-vit-b-16",
    "CLIP/clip-vit-l-14",
    "CLIP/clip-vit-h-14",
    "CN-CLIP/cn-clip-vit-b-16",
    "CN-CLIP/cn-clip-vit-l-14",
    "CN-CLIP/cn-clip-vit-h-14",
    "MobileCLIP/mobileclip_s0",
    "MobileCLIP/mobileclip_s1",
    "MobileCLIP/mobileclip_s2",
    "MobileCLIP/mobileclip_b",
    "MobileCLIP/mobileclip_blt",
    "SigLIP/siglip-vit-b-16",
    "SigLIP/siglip-vit-l-16",
    "SigLIP/siglip-so400m-patch14-384",
    "SigLIP/siglip2-vit-b-16",
    "SigLIP/siglip2-vit-l-16",
    "SigLIP/siglip2-so400m-patch16-384",
    "Blip2/blip2_transformers",
    "QwenText/qwen3-embedding-0.6b",
    "QwenText/qwen3-embedding-4b",
    "QwenText/qwen3-embedding-8b",
    "sentence-transformers/all-MiniLM-L6-v2",
    "BAAI/bge-small-en-v1.5",
    "BAAI/bge-base-en-v1.5",
    "intfloat/e5-base-v2",
]


@pytest.mark.parametrize("model_id", SEED_IDS)
def test_seed_models_are_listed(model_id):
    entry = load_catalog().find(model_id)
    assert entry is not None, model_id
    assert entry.dimension > 0 and entry.modalities and entry.context_length
    if "image" in entry.modalities:
        assert entry.image_size
    assert entry.family in load_catalog().families


def test_every_family_loader_exists():
    for name, family in load_catalog().families.items():
        module_name, _, function = family["loader"].partition(":")
        assert callable(getattr(importlib.import_module(module_name), function)), name


def test_ids_and_aliases_are_unique():
    seen: set[str] = set()
    for entry in load_catalog().entries:
        for name in (entry.id, *entry.aliases):
            assert name.lower() not in seen, name
            seen.add(name.lower())


def test_matryoshka_dims_are_sorted_and_end_at_the_dimension():
    for entry in load_catalog().entries:
        if entry.matryoshka_dims:
            assert list(entry.matryoshka_dims) == sorted(entry.matryoshka_dims)
            assert entry.matryoshka_dims[-1] == entry.dimension


def test_resolution_uses_offline_sources_and_aliases():
    request = resolve("all-MiniLM-L6-v2")
    assert request.name == "sentence-transformers/all-MiniLM-L6-v2" and request.is_local
    assert resolve("clip-vit-b-32").source == "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
    named = resolve("search=minilm")
    assert named.name == "search" and named.family == "sentence_transformers"
