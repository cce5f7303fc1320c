"""Embeddings: every sample gets vectors from a named backend, stored under ``embeddings/``.

Backends (``pixels``, ``cnn``, ``attributes``, ``precomputed``) are scikit-learn style
estimators; :func:`embed_workspace` fits once and then embeds only new samples.
"""

from __future__ import annotations

from typing import Any

from curator.embed.attributes import AttributeEmbedder
from curator.embed.base import Embedder, EmbeddingError
from curator.embed.engine import EmbedSummary, embed_workspace
from curator.embed.pixels import PixelEmbedder
from curator.embed.precomputed import PrecomputedEmbedder
from curator.embed.store import (
    Embedding,
    EmbeddingInfo,
    EmbeddingStore,
    list_embeddings,
    load_embedding,
)

BACKENDS: dict[str, str] = {
    "pixels": "curator.embed.pixels:PixelEmbedder",
    "cnn": "curator.embed.cnn:CnnEmbedder",
    "attributes": "curator.embed.attributes:AttributeEmbedder",
    "precomputed": "curator.embed.precomputed:PrecomputedEmbedder",
}


def make_embedder(backend: str, **params: Any) -> Embedder:
    """An embedder by backend name, e.g. ``make_embedder("pixels", size=8)``."""
    import importlib

    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown embedding backend {backend!r}; choose one of "
                             f"{', '.join(BACKENDS)}")
    module, cls = BACKENDS[backend].split(":")
    klass = getattr(importlib.import_module(module), cls)
    try:
        return klass(**params)
    except TypeError as exc:
        raise EmbeddingError(f"bad parameters for the {backend!r} embedder: {exc}") from None


__all__ = [
    "BACKENDS", "AttributeEmbedder", "EmbedSummary", "Embedder", "Embedding", "EmbeddingError",
    "EmbeddingInfo", "EmbeddingStore", "PixelEmbedder", "PrecomputedEmbedder",
    "embed_workspace", "list_embeddings", "load_embedding", "make_embedder",
]
