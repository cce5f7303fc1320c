"""Neighbour indices kept in a workspace: ``index/<embedding>/<kind>-<config>``, rebuilt
only when the embedding's configuration or rows changed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from curator.hashing import config_hash
from curator.neighbors import NeighborIndex, NeighborsError

INDEX_KEY = re.compile(r"[^a-z0-9]+")


def index_dir(ws_root: Path, embedding_name: str, neighbor_index: NeighborIndex) -> Path:
    """Where a workspace keeps the index of one embedding under one configuration."""
    params = {k: v for k, v in neighbor_index.get_params().items()
              if k not in ("n_jobs",)}
    slug = INDEX_KEY.sub("-", str(neighbor_index.index).lower()).strip("-") or "index"
    return ws_root / "index" / embedding_name / f"{slug}-{config_hash(params)[:10]}"


def workspace_index(ws: Any, embedding: Any, neighbor_index: NeighborIndex | None = None, *,
                    rebuild: bool = False) -> NeighborIndex:
    """A fitted index over ``embedding`` (a :class:`curator.embed.Embedding`), from
    ``index/`` when it is up to date, else built and saved there.

    An index is stale when the embedding's configuration or rows changed since it was
    built; stale or damaged indices are rebuilt, never used.
    """
    nn = neighbor_index if neighbor_index is not None else NeighborIndex()
    folder = index_dir(ws.root, embedding.info.name, nn)
    if not rebuild and (folder / "meta.json").is_file():
        try:
            loaded = NeighborIndex.load(folder, embedding.vectors,
                                        fingerprint=embedding.fingerprint)
            loaded.set_params(n_jobs=nn.n_jobs)
            return loaded
        except NeighborsError:
            pass
    nn.fit(embedding.vectors)
    nn.save(folder, fingerprint=embedding.fingerprint)
    return nn
