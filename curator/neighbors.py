"""The one Euclidean nearest-neighbour engine: every "nearest" question goes through here.

:class:`NeighborIndex` wraps faiss behind scikit-learn's ``NearestNeighbors`` interface
(``fit``, ``kneighbors``, ``kneighbors_graph``; clone-able), so imbalanced-learn and
scikit-learn code can use it. Exact search (``"Flat"``) is the default; ``"IVF"``/``"HNSW"``
(or any faiss factory string) trade a measured bit of recall for speed on large sets.
Saving an index next to a workspace is :mod:`curator.index_store`'s job.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from curator.errors import CuratorError
from curator.validation import check_scalar

#: Queries answered per faiss call; bounds the memory of one call's result arrays.
QUERY_BATCH = 16_384
#: Training queries used to measure an approximate index's recall against exact search.
RECALL_QUERIES = 1_000
_NPROBE_STEPS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
_EF_STEPS = (16, 32, 64, 128, 256, 512, 1024, 2048)
#: Lossy codes (product / scalar quantisation) rank candidates by approximate distances:
#: with ``refine`` they fetch this many times k candidates and keep the exact best k.
REFINE_FACTOR = 4
_LOSSY = re.compile(r"PQ|SQ|RQ|LSH|RaBitQ", re.IGNORECASE)
#: For lossy codes whose recall ceiling (at the most effort) is below the target, the tuner
#: picks the least effort within this much recall of that ceiling.
PLATEAU = 0.005


class NeighborsError(CuratorError, ValueError):
    """Bad input to the neighbour engine (shape, values, k, index string, stale file)."""


def as_float32(X: Any, *, what: str = "X", allow_empty: bool = True) -> np.ndarray:
    """``X`` as a C-contiguous float32 matrix (no copy when it already is one).

    float64, float16 and integer input are converted, scipy sparse matrices densified (as
    imbalanced-learn's SMOTE-NC passes its one-hot encoding); NaN or inf raises
    :class:`NeighborsError` naming the first bad row.
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse, without importing it
        X = X.toarray()
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise NeighborsError(f"{what} must be a 2-D array (n_samples, n_features); got shape "
                             f"{arr.shape}")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating)
                                   or np.issubdtype(arr.dtype, np.integer)
                                   or arr.dtype == bool):
        raise NeighborsError(f"{what} must hold real numbers; got dtype {arr.dtype}")
    if not allow_empty and arr.shape[0] == 0:
        raise NeighborsError(f"{what} is empty: cannot search among 0 samples")
    if arr.shape[1] == 0 and arr.shape[0]:
        raise NeighborsError(f"{what} has 0 features")
    out = np.ascontiguousarray(arr, dtype=np.float32)
    # min/max propagate NaN and show inf without an n x d boolean copy of the data.
    if out.size and not (np.isfinite(out.min()) and np.isfinite(out.max())):
        row = _first_bad_row(out)
        raise NeighborsError(
            f"{what} row {row} has NaN or infinite values (or values beyond float32's "
            "range); drop or fix those samples before searching")
    return out


def _first_bad_row(X: np.ndarray, step: int = 65_536) -> int:
    for s in range(0, len(X), step):
        bad = ~np.isfinite(X[s:s + step]).all(axis=1)
        if bad.any():
            return s + int(np.flatnonzero(bad)[0])
    return -1


def _faiss():
    import faiss  # imported lazily: the CLI's --help must not pay for it

    return faiss


def _check_k(k: Any, name: str = "n_neighbors") -> int:
    return check_scalar(k, name, min_val=1, error=NeighborsError)


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact k nearest ids that the approximate search also returned."""
    if exact.size == 0:
        return 1.0
    hits = sum(len(np.intersect1d(a[a >= 0], e)) for a, e in zip(approx, exact, strict=True))
    return hits / exact.size


def exact_knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact squared-L2 k nearest neighbours by faiss brute force (no index copy)."""
    faiss = _faiss()
    dist = np.empty((len(queries), k), np.float32)
    ind = np.empty((len(queries), k), np.int64)
    for s in range(0, len(queries), QUERY_BATCH):
        dist[s:s + QUERY_BATCH], ind[s:s + QUERY_BATCH] = faiss.knn(
            queries[s:s + QUERY_BATCH], base, k)
    return dist, ind


def refine(queries: np.ndarray, base: np.ndarray, ind: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean distances for candidate ids, sorted by (distance, id).

    faiss computes ``|q|^2 + |x|^2 - 2 q.x`` in float32, which loses precision for close
    points; recomputing ``|q - x|`` for the k candidates is cheap and makes distances exact
    and tie order deterministic (lower id first). Missing candidates (``-1``) sort last.
    """
    n, k = ind.shape
    dist = np.empty((n, k), np.float32)
    step = max(1, 262_144 // max(1, k * base.shape[1]))  # ~1 MiB of gathered vectors
    for s in range(0, n, step):
        block = ind[s:s + step]
        diff = base[np.maximum(block, 0)]
        diff -= queries[s:s + step, None, :]
        d = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        d[block < 0] = np.inf
        dist[s:s + step] = d
    order = np.lexsort((ind, dist), axis=-1) if n else np.zeros((0, k), np.int64)
    return np.take_along_axis(dist, order, 1), np.take_along_axis(ind, order, 1)


def knn_graph_columns(neighbors: Any, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` columns of a precomputed self-excluded k-NN graph ``(dist, ind)``
    (as ``NeighborIndex(k).fit(X).kneighbors()`` returns), checked against ``n`` rows.

    Analyses that all need neighbours of the same vectors take it so the search runs once.
    """
    try:
        dist, ind = (np.asarray(a) for a in neighbors)
    except (TypeError, ValueError):
        raise NeighborsError("neighbors must be a (distances, indices) pair of (n, k) arrays"
                             ) from None
    if dist.shape != ind.shape or dist.ndim != 2 or dist.shape[0] != n or dist.shape[1] < k:
        raise NeighborsError(f"neighbors must be two ({n}, >= {k}) arrays (one row per vector, "
                             f"at least {k} neighbours), got shapes {dist.shape} and "
                             f"{ind.shape}")
    return dist[:, :k], ind[:, :k]


def _drop_self(ind: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """k neighbours per row without the row's own id (the last one if it is absent)."""
    keep = ind != rows[:, None]
    keep[keep.all(axis=1), -1] = False
    return ind[keep].reshape(len(rows), k)


def _auto_factory(index: str, n: int) -> str:
    """Expand the shorthands ``"IVF"`` and ``"HNSW"`` into faiss factory strings."""
    if index == "IVF":
        nlist = int(max(1, min(4 * np.sqrt(n), n // 39)))
        return f"IVF{nlist},Flat"
    if index == "HNSW":
        return "HNSW32"
    return index


class NeighborIndex(BaseEstimator):
    """Euclidean k-nearest-neighbour search over faiss, shaped like scikit-learn's.

    Parameters
    ----------
    n_neighbors
        Default k for :meth:`kneighbors` (``NearestNeighbors`` semantics: with ``X=None``
        each training point's neighbours exclude itself).
    index
        ``"Flat"`` (exact, the default), ``"IVF"`` (inverted lists, nlist = 4 sqrt(n)),
        ``"HNSW"`` (graph, M=32), or any faiss factory string (``"IVF4096,Flat"``,
        ``"IVF1024,PQ16"``, ``"HNSW64"``).
    nprobe, ef_search
        Search effort of IVF / HNSW indices; ``None`` picks the smallest value whose
        measured recall@k on training queries reaches ``target_recall``, or, when lossy
        codes (PQ) cannot reach it even at the most effort, the smallest value within
        ``PLATEAU`` of that ceiling; ``recall_`` says what was reached.
    target_recall
        Recall the automatic effort aims for (measured against exact search).
    refine
        Recompute exact distances for the returned candidates (cheap; exact and
        deterministic ordering). Lossy codes (``PQ``, ``SQ``) fetch ``REFINE_FACTOR`` x k
        candidates and keep the exact best k. Turn off only for raw faiss speed.
    n_jobs
        faiss threads (``None``: all cores).
    random_state
        Seed for training-set sampling and k-means of trained indices, and for the
        recall-measurement queries.

    Attributes
    ----------
    recall_ : float
        Measured recall@``n_neighbors`` of the fitted index (1.0 for exact search).
    factory_ : str
        The faiss factory string actually built.
    """

    def __init__(self, n_neighbors: int = 5, *, index: str = "Flat", nprobe: int | None = None,
                 ef_search: int | None = None, target_recall: float = 0.95,
                 refine: bool = True, n_jobs: int | None = None, random_state: int = 0) -> None:
        self.n_neighbors = n_neighbors
        self.index = index
        self.nprobe = nprobe
        self.ef_search = ef_search
        self.target_recall = target_recall
        self.refine = refine
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------------
    def _threads(self) -> None:
        if self.n_jobs is not None:
            _faiss().omp_set_num_threads(max(1, int(self.n_jobs)))

    def fit(self, X: Any, y: Any = None) -> NeighborIndex:
        """Index the rows of ``X`` (kept by reference when already float32)."""
        _check_k(self.n_neighbors)
        if not isinstance(self.index, str) or not self.index.strip():
            raise NeighborsError(f"index must be a faiss index string like 'Flat', 'IVF' or "
                                 f"'HNSW32', got {self.index!r}")
        if not 0 < float(self.target_recall) <= 1:
            raise NeighborsError(f"target_recall must be in (0, 1], got {self.target_recall!r}")
        X = as_float32(X, allow_empty=False)
        self._threads()
        self._fit_X = X
        self.n_samples_fit_, self.n_features_in_ = X.shape
        self.factory_ = _auto_factory(self.index.strip(), len(X))
        self.index_ = None
        self.recall_ = 1.0
        self.build_seconds_ = 0.0
        if self.factory_ != "Flat":
            start = time.perf_counter()
            self.index_ = self._build(X)
            self.build_seconds_ = time.perf_counter() - start
            self._tune()
        return self

    def _build(self, X: np.ndarray):
        faiss = _faiss()
        d = X.shape[1]
        try:
            index = faiss.index_factory(d, self.factory_, faiss.METRIC_L2)
        except RuntimeError as exc:
            raise NeighborsError(f"faiss cannot build index {self.factory_!r} for {d}-d "
                                 f"vectors: {str(exc).splitlines()[0]}") from None
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            ivf.cp.seed = int(self.random_state)
            if ivf.nlist > len(X):
                raise NeighborsError(
                    f"index {self.factory_!r} has {ivf.nlist} lists but only {len(X)} vectors; "
                    "use fewer lists (e.g. 'IVF') or exact search ('Flat')")
        if not index.is_trained:
            # faiss samples at most 256 points per centroid itself; seed the draw here too.
            index.train(self._training_sample(X, index))
        index.add(X)
        return index

    def _training_sample(self, X: np.ndarray, index) -> np.ndarray:
        ivf = _faiss().try_extract_index_ivf(index)
        # 64 points per list trains k-means well enough (recall is measured afterwards)
        # and is 3x faster to build at 1M points than faiss's default of 256.
        cap = 64 * ivf.nlist if ivf is not None else 100_000
        if _LOSSY.search(self.factory_):
            cap = max(cap, 40 * 256)  # codebooks of 256 centroids want 39+ points each
        if len(X) <= cap:
            return X
        rng = np.random.default_rng(self.random_state)
        return X[np.sort(rng.choice(len(X), cap, replace=False))]

    def _set_effort(self, value: int) -> None:
        faiss = _faiss()
        ivf = faiss.try_extract_index_ivf(self.index_)
        if ivf is not None:
            ivf.nprobe = int(value)
        hnsw = _hnsw(self.index_)
        if hnsw is not None:
            hnsw.efSearch = int(value)

    def _tune(self) -> None:
        """Pick the search effort, then measure recall@k against exact search."""
        X = self._fit_X
        k = min(_check_k(self.n_neighbors), len(X) - 1)
        rng = np.random.default_rng(self.random_state)
        rows = np.sort(rng.choice(len(X), min(RECALL_QUERIES, len(X)), replace=False))
        q = X[rows]
        # Training points find themselves for free; leave each query's own id out of both
        # lists so the measured recall matches held-out queries.
        exact = _drop_self(exact_knn(q, X, k + 1)[1], rows, k)
        faiss = _faiss()
        ivf = faiss.try_extract_index_ivf(self.index_)
        fixed = self.nprobe if ivf is not None else self.ef_search
        if ivf is not None:
            steps = [s for s in _NPROBE_STEPS if s < ivf.nlist] + [ivf.nlist]
        elif _hnsw(self.index_) is not None:
            steps = [s for s in _EF_STEPS if s >= k] or [k]
        else:
            steps = [None]
        if fixed is not None:
            steps = [_check_k(fixed, "nprobe" if ivf is not None else "ef_search")]
        def measure(step: int | None) -> float:
            if step is not None:
                self._set_effort(step)
            # the index's own answers: queries it answers short count as misses here
            found = self._approximate(q, k + 1, fallback=False)[1]
            return recall_at_k(_drop_self(found, rows, k), exact)

        goal = float(self.target_recall)
        if fixed is None and len(steps) > 1 and _LOSSY.search(self.factory_):
            # Lossy codes can cap recall below the target, where more effort only costs
            # time: measure that ceiling (the most effort) and aim just under it.
            ceiling = measure(steps[-1])
            goal = goal if ceiling >= goal else ceiling - PLATEAU
        for step in steps:
            self.recall_, self.effort_ = measure(step), step
            if self.recall_ >= goal:
                break

    # -- querying ---------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "n_samples_fit_"):
            raise NeighborsError("this NeighborIndex is not fitted yet; call fit(X) first")

    def kneighbors(self, X: Any = None, n_neighbors: int | None = None,
                   return_distance: bool = True):
        """The k nearest indexed points of each query row (Euclidean distance).

        With ``X=None`` the queries are the indexed points themselves and each point is
        left out of its own neighbours, as in scikit-learn. Returns ``(distances, indices)``
        sorted by distance (ties by index), or only ``indices``.
        """
        self._check_fitted()
        k = _check_k(self.n_neighbors if n_neighbors is None else n_neighbors)
        self_query = X is None
        queries = self._fit_X if self_query else as_float32(X, what="query X")
        if queries.shape[1] != self.n_features_in_:
            raise NeighborsError(f"query X has {queries.shape[1]} features; the index was fit "
                                 f"on {self.n_features_in_}")
        n_fit = self.n_samples_fit_
        if k + self_query > n_fit:
            raise NeighborsError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {n_fit}" + (" (a point is not its own neighbour)"
                                              if self_query else "") +
                "; ask for fewer neighbours")
        kq = k + self_query
        dist, ind = self._search(queries, kq)
        if self_query:
            rows = np.arange(len(queries))[:, None]
            not_self = ind != rows
            # Drop the point itself; if a duplicate hid it beyond kq, drop the last column.
            not_self[not_self.all(axis=1), -1] = False
            ind = ind[not_self].reshape(len(queries), k)
            dist = dist[not_self].reshape(len(queries), k)
        if return_distance:
            return dist.astype(np.float64), ind
        return ind

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._threads()
        if len(queries) == 0:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        if self.index_ is None:
            dist, ind = exact_knn(queries, self._fit_X, k)
            if self.refine:
                return refine(queries, self._fit_X, ind)
            return np.sqrt(np.maximum(dist, 0)), ind
        return self._approximate(queries, k)

    def _approximate(self, queries: np.ndarray, k: int, *, fallback: bool = True
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Search the faiss index (more candidates for lossy codes), answer queries it
        answers short exactly (``fallback``), then refine."""
        lossy = self.refine and bool(_LOSSY.search(self.factory_))
        kc = min(k * REFINE_FACTOR, self.n_samples_fit_) if lossy else k
        dist = np.empty((len(queries), kc), np.float32)
        ind = np.empty((len(queries), kc), np.int64)
        for s in range(0, len(queries), QUERY_BATCH):
            dist[s:s + QUERY_BATCH], ind[s:s + QUERY_BATCH] = self.index_.search(
                queries[s:s + QUERY_BATCH], kc)
        short = np.flatnonzero((ind[:, :k] < 0).any(axis=1)) if fallback else []
        if len(short):  # an approximate index found fewer than k: answer exactly
            dist[short], ind[short] = exact_knn(queries[short], self._fit_X, kc)
        if self.refine:
            dist, ind = refine(queries, self._fit_X, ind)
            return dist[:, :k], ind[:, :k]
        return np.sqrt(np.maximum(dist, 0)), ind

    def kneighbors_graph(self, X: Any = None, n_neighbors: int | None = None,
                         mode: str = "connectivity") -> sp.csr_matrix:
        """Sparse (n_queries, n_samples_fit) graph of k nearest neighbours, as scikit-learn's:
        ``mode="connectivity"`` gives ones, ``"distance"`` the Euclidean distances."""
        if mode not in ("connectivity", "distance"):
            raise NeighborsError(f"mode must be 'connectivity' or 'distance', got {mode!r}")
        k = _check_k(self.n_neighbors if n_neighbors is None else n_neighbors)
        dist, ind = self.kneighbors(X, k, return_distance=True)
        n_q = ind.shape[0]
        data = np.ones(n_q * k) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_q * k + 1, k)
        return sp.csr_matrix((data, ind.ravel(), indptr), shape=(n_q, self.n_samples_fit_))

    # -- persistence ------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {"params": self.get_params(), "factory": getattr(self, "factory_", None)}

    def save(self, directory: Path, *, fingerprint: str = "") -> None:
        """Write ``meta.json`` (and ``index.faiss`` for trained indices) into ``directory``.

        Exact (``Flat``) indices store no copy of the vectors: they are the embedding.
        """
        from curator.fileio import atomic_write_bytes, atomic_write_json

        self._check_fitted()
        faiss = _faiss()
        directory.mkdir(parents=True, exist_ok=True)
        if self.index_ is not None:
            data = faiss.serialize_index(self.index_)
            atomic_write_bytes(directory / "index.faiss", np.asarray(data).tobytes())
        meta = {"params": self.get_params(), "factory": self.factory_,
                "n_samples": self.n_samples_fit_, "dim": self.n_features_in_,
                "recall": self.recall_, "effort": getattr(self, "effort_", None),
                "build_seconds": self.build_seconds_, "fingerprint": fingerprint}
        atomic_write_json(directory / "meta.json", meta)

    @classmethod
    def load(cls, directory: Path, X: Any, *, fingerprint: str | None = None) -> NeighborIndex:
        """Reopen an index saved by :meth:`save` over the same vectors ``X``.

        Raises :class:`NeighborsError` when the files are missing, damaged, or were built
        for other vectors (``fingerprint`` or shape differs): rebuild then.
        """
        faiss = _faiss()
        try:
            meta = json.loads((directory / "meta.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise NeighborsError(f"no usable index in {directory} ({exc})") from None
        X = as_float32(X, allow_empty=False)
        if fingerprint is not None and meta.get("fingerprint") != fingerprint:
            raise NeighborsError(f"index in {directory} is stale (built for other vectors)")
        if [meta.get("n_samples"), meta.get("dim")] != list(X.shape):
            raise NeighborsError(f"index in {directory} was built for {meta.get('n_samples')} x "
                                 f"{meta.get('dim')} vectors, not {X.shape[0]} x {X.shape[1]}")
        self = cls(**meta["params"])
        self._fit_X = X
        self.n_samples_fit_, self.n_features_in_ = X.shape
        self.factory_ = meta["factory"]
        self.recall_ = float(meta["recall"])
        self.build_seconds_ = float(meta.get("build_seconds", 0.0))
        self.index_ = None
        if meta.get("effort") is not None:
            self.effort_ = meta["effort"]
        if self.factory_ != "Flat":
            try:
                raw = np.frombuffer((directory / "index.faiss").read_bytes(), np.uint8)
                self.index_ = faiss.deserialize_index(raw)
            except (OSError, RuntimeError) as exc:
                raise NeighborsError(f"index file in {directory} is unreadable ({exc}); "
                                     "it will be rebuilt") from None
            if self.index_.ntotal != len(X):
                raise NeighborsError(f"index in {directory} holds {self.index_.ntotal} vectors, "
                                     f"not {len(X)}")
            if getattr(self, "effort_", None) is not None:
                self._set_effort(self.effort_)
        return self


def _hnsw(index):
    """The HNSW graph of an index (to set ``efSearch``), or ``None``."""
    return getattr(_faiss().downcast_index(index), "hnsw", None)


