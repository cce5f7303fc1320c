"""Nearest to targets: the ``k`` closest candidates per target vector, closest pairs first.

:class:`NearestToTargetsSelector` (an estimator) and :func:`select_nearest_to_targets`, its
functional form; every search goes through :class:`curator.neighbors.NeighborIndex`.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

from curator.neighbors import NeighborIndex, as_float32
from curator.select.result import Selection, SelectionError, Selector, check_ids
from curator.validation import check_scalar


def _greedy_assign(dist: np.ndarray, ind: np.ndarray, quotas: np.ndarray,
                   max_total: int | None, reuse: bool) -> list[tuple[int, int, float]]:
    """Closest (target, candidate) pairs first, within quotas, each candidate once."""
    t_idx = np.repeat(np.arange(dist.shape[0]), dist.shape[1])
    c_idx, d = ind.ravel(), dist.ravel()
    order = np.lexsort((c_idx, t_idx, d))
    filled = np.zeros(len(quotas), np.int64)
    used: set[int] = set()
    picks: list[tuple[int, int, float]] = []
    limit = max_total if max_total is not None else int(quotas.sum())
    for o in order:
        t, c = int(t_idx[o]), int(c_idx[o])
        if c < 0 or filled[t] >= quotas[t] or (not reuse and c in used):
            continue
        picks.append((t, c, float(d[o])))
        filled[t] += 1
        used.add(c)
        if len(picks) >= limit:
            break
    return picks


class NearestToTargetsSelector(Selector):
    """For each target vector pick its ``k`` nearest candidates, closest pairs first.

    Parameters
    ----------
    k
        Candidates wanted per target (its quota unless ``quotas`` is given).
    quotas
        Per-target quotas overriding ``k``.
    max_total
        Global quota: stop after this many picks (the closest pairs win).
    reuse
        Allow one candidate to serve several targets (off by default: every pick is a
        distinct sample).

    The assignment is greedy over all (target, candidate) pairs by distance, so a
    candidate goes to the target it is closest to; a target that loses its neighbours
    to others looks further out. ``summary`` reports per target what was asked and got.
    """

    method = "nearest"

    def __init__(self, k: int = 5, *, quotas: Sequence[int] | np.ndarray | None = None,
                 max_total: int | None = None, reuse: bool = False) -> None:
        self.k = k
        self.quotas = quotas
        self.max_total = max_total
        self.reuse = reuse

    def select(self, candidates: np.ndarray, targets: np.ndarray, *,
               candidate_ids: Sequence[str] | None = None,
               target_names: Sequence[str] | None = None,
               index: NeighborIndex | None = None) -> Selection:
        """Pick among ``candidates`` for ``targets`` (vectors in the same embedding).

        ``index`` is a fitted :class:`NeighborIndex` over ``candidates`` (built exact if
        omitted).
        """
        k, quotas, max_total, reuse = self.k, self.quotas, self.max_total, self.reuse
        C = as_float32(candidates, what="candidates")
        T = as_float32(targets, what="targets")
        if len(C) == 0:
            raise SelectionError("no candidates to choose from")
        if T.shape[1] != C.shape[1]:
            raise SelectionError(f"targets have {T.shape[1]} features, candidates "
                                 f"{C.shape[1]}: embed both with the same embedding")
        cids = check_ids(candidate_ids, len(C), "candidate_ids")
        names = check_ids(target_names, len(T), "target_names")
        if quotas is None:
            check_scalar(k, "k", Integral, min_val=1, error=SelectionError)
            q = np.full(len(T), int(k), np.int64)
        else:
            q = np.asarray(quotas, dtype=np.int64)
            if q.shape != (len(T),) or (q < 0).any():
                raise SelectionError(f"quotas must be {len(T)} non-negative integers")
        check_scalar(max_total, "max_total", Real, min_val=0, allow_none=True,
                     error=SelectionError, message="{name} must be >= 0, got {value}")
        nn = index if index is not None else NeighborIndex().fit(C)
        # Ask for more than the quota so that targets competing for the same candidates
        # find others; widen until every quota is met or every candidate was considered.
        width = np.minimum(len(C), np.maximum(q * 2 + 8, 1))
        while True:
            kk = int(width.max()) if len(T) else 1
            dist, ind = nn.kneighbors(T, kk) if len(T) else (np.zeros((0, 1)),
                                                             np.zeros((0, 1), int))
            mask = np.arange(kk)[None, :] >= width[:, None]
            ind = np.where(mask, -1, ind)
            picks = _greedy_assign(dist, ind, q, max_total, reuse)
            got = np.bincount([t for t, _, _ in picks], minlength=len(T))
            short = (got < q) & (width < len(C))
            if max_total is not None and len(picks) >= max_total:
                short[:] = False
            if not short.any():
                break
            width[short] = np.minimum(len(C), width[short] * 2)
        rows = []
        rank = np.zeros(len(T), np.int64)
        for t, c, d in picks:
            rank[t] += 1
            rows.append({"sample_id": cids[c], "target": names[t], "rank": int(rank[t]),
                         "distance": d,
                         "reason": f"#{rank[t]} nearest to target {names[t]} (d={d:.4g})"})
        frame = pd.DataFrame(rows, columns=["sample_id", "target", "rank", "distance",
                                            "reason"])
        summary = pd.DataFrame({"target": names, "requested": q, "selected": got})
        grouped = frame.groupby("target", sort=False)["distance"]
        summary["mean_distance"] = summary["target"].map(grouped.mean())
        summary["max_distance"] = summary["target"].map(grouped.max())
        summary["note"] = [
            "" if g >= r else ("global quota reached" if max_total is not None
                               and len(picks) >= max_total
                               else "not enough unused candidates")
            for g, r in zip(got, q, strict=True)]
        return self._selection(frame, params={"k": k, "max_total": max_total, "reuse": reuse},
                               summary=summary,
                               stats={"targets": len(T), "selected": len(frame)})


def select_nearest_to_targets(
    candidates: np.ndarray,
    targets: np.ndarray,
    *,
    k: int = 5,
    quotas: Sequence[int] | np.ndarray | None = None,
    max_total: int | None = None,
    reuse: bool = False,
    candidate_ids: Sequence[str] | None = None,
    target_names: Sequence[str] | None = None,
    index: NeighborIndex | None = None,
) -> Selection:
    """For each target vector pick its ``k`` nearest candidates, closest pairs first.

    The functional form of :class:`NearestToTargetsSelector` (same parameters, same
    selection); ``candidates`` and ``targets`` are vectors in the same embedding and
    ``index`` a fitted :class:`NeighborIndex` over ``candidates`` (built exact if omitted).
    """
    selector = NearestToTargetsSelector(k, quotas=quotas, max_total=max_total, reuse=reuse)
    return selector.select(candidates, targets, candidate_ids=candidate_ids,
                           target_names=target_names, index=index)
