"""De-duplication: near-duplicate groups (one sample kept per group) and train/test leakage.

:class:`DeduplicationSelector` (an estimator), :func:`select_deduplicated`, its functional
form, and :func:`median_nn_distance`, the scale its default threshold is measured in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curator.neighbors import NeighborIndex, as_float32, knn_graph_columns
from curator.select.result import Selection, SelectionError, Selector, check_ids
from curator.validation import check_scalar

#: Splits that evaluate a model; a near-duplicate across one of these and training leaks.
EVAL_SPLITS = ("test", "val", "valid", "validation", "holdout", "heldout")


def median_nn_distance(X: np.ndarray, index: NeighborIndex | None = None) -> float:
    """Median distance from each sample to its nearest other sample (0 for fewer than 2)."""
    X = as_float32(X)
    if len(X) < 2:
        return 0.0
    nn = index if index is not None else NeighborIndex(1).fit(X)
    d = nn.kneighbors(None, 1)[0][:, 0]
    return float(np.median(d))


class DeduplicationSelector(Selector):
    """Group near-duplicates and keep one sample per group.

    Two samples are near-duplicates when their distance is at most ``threshold`` (default:
    ``scale`` times the median nearest-neighbour distance, so it adapts to the
    embedding); groups are the connected components of that relation. ``k`` neighbours
    are searched per round (rows whose every neighbour is a duplicate look further).
    ``tables["groups"]`` lists every member of every group; ``tables["leakage"]`` the
    near-duplicate pairs that cross from training into an evaluation split
    (``eval_splits``).
    """

    method = "dedup"

    def __init__(self, *, threshold: float | None = None, scale: float = 0.2, k: int = 10,
                 eval_splits: Sequence[str] = EVAL_SPLITS) -> None:
        self.threshold = threshold
        self.scale = scale
        self.k = k
        self.eval_splits = eval_splits

    def select(self, X: np.ndarray, *, ids: Sequence[str] | None = None,
               splits: Sequence[str] | None = None,
               priority: Sequence[float] | np.ndarray | None = None,
               index: NeighborIndex | None = None, neighbors: Any = None) -> Selection:
        """De-duplicate the rows of ``X``.

        The kept sample of a group has the lowest ``priority`` (then the first position).
        ``index`` is a fitted :class:`NeighborIndex` over ``X``; ``neighbors``, a
        precomputed self-excluded k-NN graph ``(dist, ind)`` of ``X`` with ``k`` columns,
        saves the first search.
        """
        threshold, scale, k = self.threshold, self.scale, self.k
        eval_splits = self.eval_splits
        X = as_float32(X, allow_empty=False)
        n = len(X)
        sid = check_ids(ids, n, "ids")
        split = np.asarray(list(splits), dtype=object) if splits is not None else None
        if split is not None and len(split) != n:
            raise SelectionError(f"splits: {len(split)} values for {n} vectors")
        prio = np.zeros(n) if priority is None else np.asarray(priority, np.float64)
        graph_d = graph_i = None
        if neighbors is not None and n > 1:  # a precomputed self-excluded k-NN graph
            graph_d, graph_i = knn_graph_columns(neighbors, n, min(max(1, k), n - 1))
        nn: NeighborIndex | None = index

        def engine() -> NeighborIndex:  # built only when the given graph is not enough
            nonlocal nn
            if nn is None:
                nn = NeighborIndex(1).fit(X)
            return nn

        median = float(np.median(graph_d[:, 0])) if graph_d is not None \
            else median_nn_distance(X, engine())
        if threshold is None:
            threshold = scale * median
        check_scalar(threshold, "threshold", Real, min_val=0, max_val=math.inf, closed="left",
                     error=SelectionError,
                     message="{name} must be a finite distance >= 0, got {value!r}")
        pairs_a, pairs_b = [], []
        todo = np.arange(n)
        kk = min(max(1, k), n - 1)
        if graph_d is not None and n > 1:  # first round from the given graph
            kk = min(graph_d.shape[1], n - 1)
            within = graph_d[:, :kk] <= threshold
            r, c = np.nonzero(within)
            pairs_a.append(todo[r])
            pairs_b.append(graph_i[r, c])
            todo = todo[within.sum(axis=1) >= kk] if kk < n - 1 else todo[:0]
            kk = min(kk * 4, n - 1)
        while len(todo) and kk >= 1:
            d, ind = engine().kneighbors(X[todo], min(kk + 1, n))
            within = (d <= threshold) & (ind != todo[:, None])
            r, c = np.nonzero(within)
            pairs_a.append(todo[r])
            pairs_b.append(ind[r, c])
            # Rows whose every neighbour is a duplicate may have more: look further for them.
            full = within.sum(axis=1) >= min(kk, n - 1)
            if kk >= n - 1:
                break
            todo = todo[full]
            kk = min(kk * 4, n - 1)
        a = np.concatenate(pairs_a) if pairs_a else np.zeros(0, np.int64)
        b = np.concatenate(pairs_b) if pairs_b else np.zeros(0, np.int64)
        graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
        n_comp, comp = connected_components(graph, directed=False)
        sizes = np.bincount(comp, minlength=n_comp)
        order = np.lexsort((np.arange(n), prio, comp))  # by group, then priority, then position
        keeper = np.full(n_comp, -1)
        for i in order:
            if keeper[comp[i]] < 0:
                keeper[comp[i]] = i
        keep = keeper[comp] == np.arange(n)
        dup_groups = np.flatnonzero(sizes > 1)
        group_no = np.full(n_comp, -1)
        group_no[dup_groups] = np.arange(len(dup_groups))
        members = np.flatnonzero(sizes[comp] > 1)
        to_keeper = np.linalg.norm(X[members] - X[keeper[comp[members]]], axis=1) \
            if len(members) else np.zeros(0)
        groups = pd.DataFrame({
            "group": group_no[comp[members]], "sample_id": sid[members],
            "keep": keep[members], "distance_to_kept": to_keeper,
            **({"split": split[members]} if split is not None else {}),
        }).sort_values(["group", "keep"], ascending=[True, False], kind="stable")
        kept = np.flatnonzero(keep)
        reasons = [f"keeps near-duplicate group {group_no[comp[i]]} of {sizes[comp[i]]}"
                   if sizes[comp[i]] > 1 else "unique" for i in kept]
        frame = pd.DataFrame({"sample_id": sid[kept], "distance": 0.0, "reason": reasons,
                              "group": group_no[comp[kept]], "group_size": sizes[comp[kept]]})
        tables = {"groups": groups.reset_index(drop=True)}
        if split is not None:
            in_eval = np.isin(split.astype(str), list(eval_splits))
            # Each symmetric pair once (lo < hi), crossing between training and evaluation.
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            pair = np.unique(np.c_[lo, hi][in_eval[lo] != in_eval[hi]], axis=0) if len(a) \
                else np.zeros((0, 2), np.int64)
            dist_pair = np.linalg.norm(X[pair[:, 0]] - X[pair[:, 1]], axis=1) if len(pair) \
                else np.zeros(0)
            tables["leakage"] = pd.DataFrame({
                "sample_id_a": sid[pair[:, 0]], "split_a": split[pair[:, 0]],
                "sample_id_b": sid[pair[:, 1]], "split_b": split[pair[:, 1]],
                "distance": dist_pair}).sort_values("distance", kind="stable").reset_index(
                    drop=True)
        return self._selection(frame, params={"threshold": threshold, "scale": scale, "k": k},
                               stats={"threshold": float(threshold), "median_nn_distance": median,
                                      "groups": len(dup_groups), "removed": int(n - len(kept)),
                                      "leaking_pairs": len(tables.get("leakage", ()))},
                               tables=tables)


def select_deduplicated(
    X: np.ndarray,
    *,
    ids: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    priority: Sequence[float] | np.ndarray | None = None,
    threshold: float | None = None,
    scale: float = 0.2,
    k: int = 10,
    eval_splits: Sequence[str] = EVAL_SPLITS,
    index: NeighborIndex | None = None,
    neighbors: Any = None,
) -> Selection:
    """Group near-duplicates and keep one sample per group.

    The functional form of :class:`DeduplicationSelector` (same parameters, same
    selection): ``priority`` picks the kept sample of a group (lowest first),
    ``splits`` find train/evaluation leakage, ``index`` or ``neighbors`` (a precomputed
    self-excluded k-NN graph of ``X``) save searches.
    """
    selector = DeduplicationSelector(threshold=threshold, scale=scale, k=k,
                                     eval_splits=eval_splits)
    return selector.select(X, ids=ids, splits=splits, priority=priority, index=index,
                           neighbors=neighbors)
