"""Embeddings: every sample gets vectors from a named backend, stored under ``embeddings/``.

Backends (``pixels``, ``cnn``, ``attributes``, ``precomputed``) are scikit-learn style
estimators; :func:`embed_workspace` fits once and then embeds only new samples.
"""

from __future__ import annotations

from curator.embed.attributes import AttributeEmbedder
from curator.embed.base import Embedder, EmbeddingError
from curator.embed.engine import EmbedSummary, embed_workspace
from curator.embed.pixels import PixelEmbedder
from curator.embed.precomputed import PrecomputedEmbedder
from curator.embed.registry import BACKENDS, make_embedder
from curator.embed.store import (
    Embedding,
    EmbeddingInfo,
    EmbeddingStore,
    list_embeddings,
    load_embedding,
)

__all__ = [
    "BACKENDS", "AttributeEmbedder", "EmbedSummary", "Embedder", "Embedding", "EmbeddingError",
    "EmbeddingInfo", "EmbeddingStore", "PixelEmbedder", "PrecomputedEmbedder",
    "embed_workspace", "list_embeddings", "load_embedding", "make_embedder",
]
