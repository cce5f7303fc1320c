"""The embedder registry: backend names (``pixels``, ``cnn``, ``attributes``,
``precomputed``) and :func:`make_embedder`, which builds one by name (imported lazily).
"""

from __future__ import annotations

import importlib
from typing import Any

from curator.embed.base import Embedder, EmbeddingError

BACKENDS: dict[str, str] = {
    "pixels": "curator.embed.pixels:PixelEmbedder",
    "cnn": "curator.embed.cnn:CnnEmbedder",
    "attributes": "curator.embed.attributes:AttributeEmbedder",
    "precomputed": "curator.embed.precomputed:PrecomputedEmbedder",
}


def make_embedder(backend: str, **params: Any) -> Embedder:
    """An embedder by backend name, e.g. ``make_embedder("pixels", size=8)``."""
    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown embedding backend {backend!r}; choose one of "
                             f"{', '.join(BACKENDS)}")
    module, cls = BACKENDS[backend].split(":")
    klass = getattr(importlib.import_module(module), cls)
    try:
        return klass(**params)
    except TypeError as exc:
        raise EmbeddingError(f"bad parameters for the {backend!r} embedder: {exc}") from None
