"""2-D maps of an embedding for plots and the app: UMAP (umap-learn), PCA as the fallback.

Maps are cached next to the embedding, keyed by the embedding's fingerprint and the map's
settings, so the app reads a small Parquet file instead of recomputing.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curator.embed.base import EmbeddingError
from curator.embed.store import Embedding, EmbeddingStore
from curator.fileio import atomic_write_bytes
from curator.hashing import config_hash
from curator.neighbors import NeighborIndex
from curator.store import Workspace

METHODS = ("auto", "umap", "pca")
#: UMAP is fit on at most this many points; the rest are placed with ``transform``.
UMAP_FIT_MAX = 50_000


def project_2d(X: np.ndarray, *, method: str = "auto", n_neighbors: int = 15,
               min_dist: float = 0.1, random_state: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of the rows of ``X`` and the method used.

    ``"auto"`` uses UMAP when there are enough points for its neighbourhood graph and PCA
    otherwise; ``"pca"`` is deterministic and instant.
    """
    if method not in METHODS:
        raise EmbeddingError(f"map method must be one of {METHODS}, got {method!r}")
    X = np.asarray(X, np.float32)
    n = len(X)
    if n == 0:
        return np.zeros((0, 2), np.float32), "pca"
    use_umap = method == "umap" or (method == "auto" and n > n_neighbors + 1)
    if method == "umap" and n <= n_neighbors + 1:
        raise EmbeddingError(f"UMAP needs more than n_neighbors+1={n_neighbors + 1} points; "
                             f"got {n}. Use --method pca")
    if use_umap:
        return _umap(X, n_neighbors, min_dist, random_state), "umap"
    if X.shape[1] == 1:
        return np.c_[X[:, 0], np.zeros(n)].astype(np.float32), "pca"
    Xc = X - X.mean(axis=0)
    # Deterministic PCA by SVD of the covariance (small: dim x dim).
    _, vecs = np.linalg.eigh(np.cov(Xc, rowvar=False) if n > 1 else np.eye(X.shape[1]))
    comps = vecs[:, ::-1][:, :2]
    comps *= np.where(comps[np.abs(comps).argmax(axis=0), [0, 1]] < 0, -1, 1)
    xy = Xc @ comps
    if xy.shape[1] < 2:
        xy = np.c_[xy, np.zeros(n)]
    return xy.astype(np.float32), "pca"


def _umap(X: np.ndarray, n_neighbors: int, min_dist: float, random_state: int) -> np.ndarray:
    """UMAP on a kNN graph from our own engine (exact, deterministic, and it spares umap's
    NN-descent, whose numba compilation alone takes ~20 s per process)."""
    import umap  # umap-learn; imported lazily

    rng = np.random.default_rng(random_state)
    fit_rows = np.arange(len(X)) if len(X) <= UMAP_FIT_MAX else np.sort(
        rng.choice(len(X), UMAP_FIT_MAX, replace=False))
    base = X[fit_rows]
    nn = NeighborIndex(n_neighbors).fit(base)
    dist, ind = nn.kneighbors(base, n_neighbors)  # each point first (distance 0), as UMAP wants
    reducer = umap.UMAP(n_neighbors=n_neighbors, min_dist=min_dist, n_components=2,
                        random_state=random_state, n_jobs=1,
                        precomputed_knn=(ind, dist.astype(np.float32), None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xy_fit = np.asarray(reducer.fit_transform(base), np.float32)
    if len(fit_rows) == len(X):
        return xy_fit
    # The rest sit at the inverse-distance-weighted mean of their nearest fitted points
    # (how UMAP initialises transform()).
    xy = np.empty((len(X), 2), np.float32)
    xy[fit_rows] = xy_fit
    rest = np.setdiff1d(np.arange(len(X)), fit_rows)
    d, i = nn.kneighbors(X[rest], n_neighbors)
    w = 1.0 / (d + 1e-6)
    xy[rest] = (xy_fit[i] * w[:, :, None]).sum(axis=1) / w.sum(axis=1, keepdims=True)
    return xy


def embedding_map(ws: Workspace, name: str, *, method: str = "auto", n_neighbors: int = 15,
                  min_dist: float = 0.1, random_state: int = 0, refresh: bool = False,
                  embedding: Embedding | None = None) -> pd.DataFrame:
    """``sample_id, x, y`` for every vector of embedding ``name`` (cached on disk)."""
    store = EmbeddingStore(ws, name)
    emb = embedding if embedding is not None else store.load()
    settings: dict[str, Any] = {"method": method, "n_neighbors": n_neighbors,
                                "min_dist": min_dist, "random_state": random_state}
    key = config_hash({"embedding": emb.fingerprint, **settings})
    path = store.directory / f"map-{key}.parquet"
    if path.is_file() and not refresh:
        return pq.read_table(path).to_pandas()
    xy, used = project_2d(emb.vectors, method=method, n_neighbors=n_neighbors,
                          min_dist=min_dist, random_state=random_state)
    frame = pd.DataFrame({"sample_id": emb.ids.astype(str), "x": xy[:, 0], "y": xy[:, 1]})
    frame.attrs["method"] = used
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(
        {b"curator.map_method": used.encode()})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    for old in store.directory.glob("map-*.parquet"):  # one cached map per embedding
        old.unlink(missing_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return frame
