"""Subset selection over embeddings: nearest to targets, coverage, de-duplication, mixing.

Pure functions over vectors (and small per-row arrays); each returns a :class:`Selection`
(ids, distances, reasons, summary tables) that :mod:`curator.subsets` saves by name. All
searches go through :class:`curator.neighbors.NeighborIndex`.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curator.errors import CuratorError
from curator.neighbors import NeighborIndex, as_float32, knn_graph_columns

#: Splits that evaluate a model; a near-duplicate across one of these and training leaks.
EVAL_SPLITS = ("test", "val", "valid", "validation", "holdout", "heldout")


class SelectionError(CuratorError, ValueError):
    """A selection request is impossible or malformed (sizes, quotas, ratios, ids)."""


@dataclass
class Selection:
    """A chosen subset: one row per selected sample, with why it was chosen.

    ``frame`` has at least ``sample_id``, ``distance`` and ``reason``; ``summary`` is the
    per-target / per-stratum table; ``tables`` holds extra tables (duplicate groups,
    leakage); ``stats`` scalar facts (coverage radius, thresholds).
    """

    method: str
    frame: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return self.frame["sample_id"].astype(str).tolist()

    def __len__(self) -> int:
        return len(self.frame)

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def __str__(self) -> str:
        facts = ", ".join(f"{k} {_fmt(v)}" for k, v in self.stats.items())
        return f"{self.method}: {len(self):,} sample(s) selected" + (f" ({facts})" if facts
                                                                      else "")

    def to_html(self, max_rows: int = 20) -> str:
        parts = [f"<h4>{html.escape(self.method)} selection: {len(self):,} samples</h4>"]
        if self.stats:
            parts.append(pd.DataFrame({"value": self.stats}).to_html(escape=True))
        if self.summary is not None:
            parts.append(self.summary.to_html(escape=True, index=False))
        for name, table in self.tables.items():
            parts.append(f"<h5>{html.escape(name)} ({len(table):,})</h5>"
                         + table.head(max_rows).to_html(escape=True, index=False))
        parts.append(self.frame.head(max_rows).to_html(escape=True, index=False))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _num(v: Any) -> Any:
    return float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v


def _ids(ids: Sequence[str] | None, n: int, what: str) -> np.ndarray:
    if ids is None:
        return np.arange(n).astype(str).astype(object)
    arr = np.asarray(list(ids), dtype=object)
    if len(arr) != n:
        raise SelectionError(f"{what}: {len(arr)} ids for {n} vectors")
    return arr


# -- nearest to targets -------------------------------------------------------------------
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

    Parameters
    ----------
    candidates, targets
        Vectors (rows) in the same space (same embedding).
    k
        Candidates wanted per target (its quota unless ``quotas`` is given).
    quotas
        Per-target quotas overriding ``k``.
    max_total
        Global quota: stop after this many picks (the closest pairs win).
    reuse
        Allow one candidate to serve several targets (off by default: every pick is a
        distinct sample).
    index
        A fitted :class:`NeighborIndex` over ``candidates`` (built exact if omitted).

    The assignment is greedy over all (target, candidate) pairs by distance, so a
    candidate goes to the target it is closest to; a target that loses its neighbours
    to others looks further out. ``summary`` reports per target what was asked and got.
    """
    C = as_float32(candidates, what="candidates")
    T = as_float32(targets, what="targets")
    if len(C) == 0:
        raise SelectionError("no candidates to choose from")
    if T.shape[1] != C.shape[1]:
        raise SelectionError(f"targets have {T.shape[1]} features, candidates {C.shape[1]}: "
                             "embed both with the same embedding")
    cids = _ids(candidate_ids, len(C), "candidate_ids")
    names = _ids(target_names, len(T), "target_names")
    if quotas is None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise SelectionError(f"k must be a positive integer, got {k!r}")
        q = np.full(len(T), int(k), np.int64)
    else:
        q = np.asarray(quotas, dtype=np.int64)
        if q.shape != (len(T),) or (q < 0).any():
            raise SelectionError(f"quotas must be {len(T)} non-negative integers")
    if max_total is not None and max_total < 0:
        raise SelectionError(f"max_total must be >= 0, got {max_total}")
    nn = index if index is not None else NeighborIndex().fit(C)
    # Ask for more than the quota so that targets competing for the same candidates find
    # others; widen until every quota is met or every candidate was considered.
    width = np.minimum(len(C), np.maximum(q * 2 + 8, 1))
    while True:
        kk = int(width.max()) if len(T) else 1
        dist, ind = nn.kneighbors(T, kk) if len(T) else (np.zeros((0, 1)), np.zeros((0, 1), int))
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
    frame = pd.DataFrame(rows, columns=["sample_id", "target", "rank", "distance", "reason"])
    summary = pd.DataFrame({"target": names, "requested": q, "selected": got})
    grouped = frame.groupby("target", sort=False)["distance"]
    summary["mean_distance"] = summary["target"].map(grouped.mean())
    summary["max_distance"] = summary["target"].map(grouped.max())
    summary["note"] = [
        "" if g >= r else ("global quota reached" if max_total is not None
                           and len(picks) >= max_total
                           else "not enough unused candidates")
        for g, r in zip(got, q, strict=True)]
    return Selection("nearest", frame, params={"k": k, "max_total": max_total, "reuse": reuse},
                     summary=summary, stats={"targets": len(T), "selected": len(frame)})


# -- coverage -----------------------------------------------------------------------------
def select_coverage(
    X: np.ndarray,
    m: int,
    *,
    ids: Sequence[str] | None = None,
    preselected: Sequence[int] | np.ndarray | None = None,
    start: str | int = "mean",
    random_state: int = 0,
) -> Selection:
    """Greedy k-center: ``m`` samples such that every sample is near a chosen one.

    Each step adds the sample farthest from everything chosen so far (Gonzalez's
    farthest-point rule, a 2-approximation of the optimal radius). ``stats["radius"]`` is
    the final coverage radius (the largest distance from any sample to its nearest chosen
    one); ``frame["distance"]`` the radius just before each pick, so it is non-increasing,
    and the first ``j`` rows are the answer for ``m = j``.

    Parameters
    ----------
    preselected
        Row positions already in the subset (e.g. the real samples): coverage extends them.
    start
        First pick when nothing is preselected: ``"mean"`` (nearest the centroid),
        ``"random"`` (seeded by ``random_state``) or a row position.
    """
    X = as_float32(X, allow_empty=False)
    n = len(X)
    sid = _ids(ids, n, "ids")
    pre = np.unique(np.asarray(preselected if preselected is not None else [], np.int64))
    if pre.size and (pre.min() < 0 or pre.max() >= n):
        raise SelectionError(f"preselected positions must lie in 0..{n - 1}")
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0:
        raise SelectionError(f"m must be a non-negative integer, got {m!r}")
    if m > n - pre.size:
        raise SelectionError(f"cannot pick {m} samples: only {n - pre.size} are not already "
                             "selected")
    sq = np.einsum("ij,ij->i", X, X)
    min_d2 = np.full(n, np.inf, np.float32)

    def absorb(c: int) -> None:
        d2 = np.maximum(sq + sq[c] - 2.0 * (X @ X[c]), 0.0)
        np.minimum(min_d2, d2, out=min_d2)
        min_d2[c] = 0.0

    if pre.size:
        d, _ = NeighborIndex(1).fit(X[pre]).kneighbors(X, 1)
        min_d2[:] = d[:, 0] ** 2
        min_d2[pre] = 0.0
    picks: list[int] = []
    radii: list[float] = []
    for step in range(m):
        if step == 0 and not pre.size:
            if start == "mean":
                c = int(np.argmin(((X - X.mean(axis=0)) ** 2).sum(axis=1)))
            elif start == "random":
                c = int(np.random.default_rng(random_state).integers(n))
            elif isinstance(start, (int, np.integer)) and 0 <= start < n:
                c = int(start)
            else:
                raise SelectionError(f"start must be 'mean', 'random' or a row position, "
                                     f"got {start!r}")
            radii.append(float("inf"))
        else:
            c = int(np.argmax(min_d2))
            radii.append(float(np.sqrt(min_d2[c])))
        picks.append(c)
        absorb(c)
    radius = float(np.sqrt(min_d2.max())) if (picks or pre.size) else float("inf")
    frame = pd.DataFrame({
        "sample_id": sid[picks] if picks else np.array([], object),
        "order": np.arange(1, len(picks) + 1),
        "distance": radii,
    })
    frame["reason"] = [
        "first pick" + (" (nearest the mean)" if start == "mean" else "")
        if not np.isfinite(r) else f"farthest from the chosen set (d={r:.4g})" for r in radii]
    return Selection("coverage", frame,
                     params={"m": m, "start": start, "random_state": random_state,
                             "preselected": int(pre.size)},
                     stats={"radius": radius, "selected": len(picks),
                            "preselected": int(pre.size)})


# -- de-duplication -----------------------------------------------------------------------
def median_nn_distance(X: np.ndarray, index: NeighborIndex | None = None) -> float:
    """Median distance from each sample to its nearest other sample (0 for fewer than 2)."""
    X = as_float32(X)
    if len(X) < 2:
        return 0.0
    nn = index if index is not None else NeighborIndex(1).fit(X)
    d = nn.kneighbors(None, 1)[0][:, 0]
    return float(np.median(d))


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

    Two samples are near-duplicates when their distance is at most ``threshold`` (default:
    ``scale`` times the median nearest-neighbour distance, so it adapts to the
    embedding); groups are the connected components of that relation. The kept sample of a
    group has the lowest ``priority`` (then the first position). ``tables["groups"]`` lists
    every member of every group; ``tables["leakage"]`` the near-duplicate pairs that cross
    from training into an evaluation split (``eval_splits``). ``neighbors``, a precomputed
    self-excluded k-NN graph ``(dist, ind)`` of ``X`` with ``k`` columns, saves the first
    search (rows whose every neighbour is a duplicate still look further).
    """
    X = as_float32(X, allow_empty=False)
    n = len(X)
    sid = _ids(ids, n, "ids")
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
    if not math.isfinite(threshold) or threshold < 0:
        raise SelectionError(f"threshold must be a finite distance >= 0, got {threshold!r}")
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
            "distance": dist_pair}).sort_values("distance", kind="stable").reset_index(drop=True)
    return Selection("dedup", frame,
                     params={"threshold": threshold, "scale": scale, "k": k},
                     stats={"threshold": float(threshold), "median_nn_distance": median,
                            "groups": len(dup_groups), "removed": int(n - len(kept)),
                            "leaking_pairs": len(tables.get("leakage", ()))},
                     tables=tables)


# -- real:synthetic mixing ------------------------------------------------------------------
def _ratio_for(stratum: str, ratio: float | Mapping[str, float]) -> float:
    r = ratio.get(stratum, ratio.get("*")) if isinstance(ratio, Mapping) else ratio
    if r is None:
        raise SelectionError(f"no synthetic_per_real ratio for stratum {stratum!r} (add it, "
                             "or a '*' default)")
    if not math.isfinite(r) or r < 0:
        raise SelectionError(f"synthetic_per_real must be a number >= 0, got {r!r}")
    return float(r)


def select_mix(
    X: np.ndarray,
    *,
    ids: Sequence[str],
    is_real: Sequence[bool] | np.ndarray,
    is_synthetic: Sequence[bool] | np.ndarray,
    strata: Sequence[str] | None = None,
    synthetic_per_real: float | Mapping[str, float] = 1.0,
    n_real: int | Mapping[str, int] | None = None,
    n_total: int | Mapping[str, int] | None = None,
    keep_ratio: bool = True,
    random_state: int = 0,
) -> Selection:
    """A real + synthetic subset with a requested synthetic:real ratio in every stratum.

    Parameters
    ----------
    is_real, is_synthetic
        Which rows are real and which are synthetic candidates (rows that are neither are
        ignored).
    strata
        One stratum key per row (see :func:`curator.strata.stratum_keys`); ``None`` mixes
        over everything at once.
    synthetic_per_real
        Synthetic samples per real sample (``0.5`` = 2 real : 1 synthetic); a mapping gives
        one per stratum (key ``"*"`` for the rest).
    n_real, n_total
        Per stratum: at most ``n_real`` real samples (a seeded random draw; default all),
        or a total size split by the ratio. Either may map strata to sizes (``"*"`` for
        the rest).
    keep_ratio
        When one side is short, shrink the other to keep the ratio (default) instead of
        filling the total with it.

    Real samples are drawn at random (seeded); synthetic ones closest to the stratum's real
    samples first, each real sample anchoring its nearest synthetic ones (no reuse), so the
    synthetic part follows the real distribution. ``summary`` states requested and
    achieved counts and ratio per stratum and why they differ.
    """
    X = as_float32(X, allow_empty=False)
    n = len(X)
    sid = _ids(ids, n, "ids")
    real = np.asarray(is_real, bool)
    syn = np.asarray(is_synthetic, bool)
    if real.shape != (n,) or syn.shape != (n,):
        raise SelectionError(f"is_real/is_synthetic must have {n} values")
    if (real & syn).any():
        raise SelectionError("a row cannot be both real and synthetic")
    keys = np.asarray(list(strata), dtype=object) if strata is not None else \
        np.full(n, "all", dtype=object)
    if len(keys) != n:
        raise SelectionError(f"strata: {len(keys)} values for {n} vectors")
    for name, size in (("n_real", n_real), ("n_total", n_total)):
        for v in (size.values() if isinstance(size, Mapping) else [size]):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                  or v < 0):
                raise SelectionError(f"{name} must be a non-negative integer, got {v!r}")
    if n_real is not None and n_total is not None:
        raise SelectionError("give n_real or n_total, not both")
    rng = np.random.default_rng(random_state)
    rows: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    all_real = np.flatnonzero(real)
    for key in sorted(set(keys[real | syn].tolist())):
        r = _ratio_for(key, synthetic_per_real)
        in_s = keys == key
        real_s, syn_s = np.flatnonzero(in_s & real), np.flatnonzero(in_s & syn)
        counts = mix_counts(len(real_s), len(syn_s), r, n_real=_size_for(key, n_real),
                            n_total=_size_for(key, n_total), keep_ratio=keep_ratio)
        want_real, want_syn = counts.want_real, counts.want_synthetic
        got_real, got_syn, notes = counts.real, counts.synthetic, list(counts.notes)
        pick_real = np.sort(rng.choice(real_s, got_real, replace=False)) if got_real < len(
            real_s) else real_s
        for i in pick_real:
            rows.append({"sample_id": sid[i], "stratum": key, "kind": "real", "distance": 0.0,
                         "reason": f"real, stratum {key}"})
        if got_syn:
            anchors = pick_real if len(pick_real) else (real_s if len(real_s) else all_real)
            if len(anchors):
                per = max(1, math.ceil(got_syn / len(anchors)))
                sel = select_nearest_to_targets(
                    X[syn_s], X[anchors], quotas=np.full(len(anchors), per),
                    max_total=got_syn, candidate_ids=syn_s.astype(str),
                    target_names=sid[anchors].astype(str))
                chosen = sel.frame["sample_id"].astype(int).to_numpy()
                dists = sel.frame["distance"].to_numpy()
                anchor = sel.frame["target"].to_numpy()
                if len(chosen) < got_syn:  # quotas too tight: fill with the next closest
                    rest = np.setdiff1d(syn_s, chosen)
                    d, _ = NeighborIndex(1).fit(X[anchors]).kneighbors(X[rest], 1)
                    extra = rest[np.argsort(d[:, 0], kind="stable")][:got_syn - len(chosen)]
                    chosen = np.r_[chosen, extra]
                    dists = np.r_[dists, np.sort(d[:, 0], kind="stable")[:len(extra)]]
                    anchor = np.r_[anchor, np.full(len(extra), "")]
                for i, d, t in zip(chosen, dists, anchor, strict=True):
                    rows.append({"sample_id": sid[i], "stratum": key, "kind": "synthetic",
                                 "distance": float(d),
                                 "reason": f"synthetic near real {t} (d={d:.4g}), stratum {key}"})
            else:
                notes.append("no real samples anywhere: synthetic drawn at random")
                for i in np.sort(rng.choice(syn_s, got_syn, replace=False)):
                    rows.append({"sample_id": sid[i], "stratum": key, "kind": "synthetic",
                                 "distance": float("nan"),
                                 "reason": f"synthetic (random; no real), stratum {key}"})
        summary.append({
            "stratum": key, "real_available": len(real_s), "synthetic_available": len(syn_s),
            "requested_real": want_real, "requested_synthetic": want_syn,
            "selected_real": got_real, "selected_synthetic": got_syn,
            "requested_ratio": r,
            "achieved_ratio": (got_syn / got_real) if got_real else
            (float("inf") if got_syn else float("nan")),
            "note": "; ".join(notes)})
    frame = pd.DataFrame(rows, columns=["sample_id", "stratum", "kind", "distance", "reason"])
    table = pd.DataFrame(summary)
    n_r = int((frame["kind"] == "real").sum())
    n_s = int((frame["kind"] == "synthetic").sum())
    return Selection("mix", frame,
                     params={"synthetic_per_real": synthetic_per_real, "n_real": n_real,
                             "n_total": n_total, "keep_ratio": keep_ratio,
                             "random_state": random_state},
                     summary=table,
                     stats={"real": n_r, "synthetic": n_s,
                            "achieved_ratio": (n_s / n_r) if n_r else float("nan"),
                            "strata": len(table),
                            "strata_short": int((table["note"] != "").sum()) if len(table)
                            else 0})


@dataclass(frozen=True)
class MixCounts:
    """Requested and achievable real and synthetic counts of one stratum, and why they
    differ (``notes``)."""

    want_real: int
    want_synthetic: int
    real: int
    synthetic: int
    notes: tuple[str, ...] = ()


def mix_counts(available_real: int, available_synthetic: int, ratio: float, *,
               n_real: int | None = None, n_total: int | None = None,
               keep_ratio: bool = True) -> MixCounts:
    """How many real and synthetic samples one stratum of :func:`select_mix` gets.

    ``ratio`` is synthetic per real; ``n_real`` caps the real part (default all), or
    ``n_total`` sets the stratum's size split by the ratio. When a side is short and
    ``keep_ratio``, the other side shrinks to keep the ratio (one real sample is kept
    rather than none). Pure arithmetic: what a ratio slider shows before any selection.
    """
    want_real, want_syn = _requested(available_real, ratio, n_real, n_total)
    got_real = min(want_real, available_real)
    got_syn = min(want_syn, available_synthetic)
    notes = []
    if not available_real:
        notes.append("no real samples in this stratum")
    elif got_real < want_real:
        notes.append(f"only {available_real} real (wanted {want_real})")
    if got_syn < want_syn:
        notes.append(f"only {available_synthetic} synthetic (wanted {want_syn})")
    if keep_ratio and ratio > 0 and notes:
        before = (got_real, got_syn)
        got_real = min(got_real, int(math.floor(got_syn / ratio + 1e-9)))
        if got_real == 0 and got_syn and available_real:
            got_real = 1  # one real sample beats an empty stratum
        got_syn = min(got_syn, int(round(ratio * got_real)))
        if (got_real, got_syn) != before:
            notes.append(f"reduced to {got_real} real + {got_syn} synthetic to keep "
                         "the ratio")
    return MixCounts(want_real, want_syn, got_real, got_syn, tuple(notes))


def _size_for(stratum: str, size: int | Mapping[str, int] | None) -> int | None:
    """A stratum's ``n_real`` / ``n_total``: one number for all, or per stratum (``"*"``
    for the rest; a stratum not named and no ``"*"``: no limit)."""
    if isinstance(size, Mapping):
        return size.get(stratum, size.get("*"))
    return size


def _requested(available_real: int, r: float, n_real: int | None, n_total: int | None
               ) -> tuple[int, int]:
    if n_total is not None:
        want_real = int(round(n_total / (1.0 + r)))
        return want_real, n_total - want_real
    want_real = available_real if n_real is None else n_real
    return want_real, int(round(r * want_real))


# -- attribute targets ------------------------------------------------------------------------
def parse_target(text: str) -> dict[str, Any]:
    """``"pose_yaw_deg=30..60,color_temp_k=3200,bg_kind=texture"`` -> a target spec.

    ``lo..hi`` is a range; numbers become floats; anything else stays a string.
    """
    spec: dict[str, Any] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise SelectionError(f"bad target {text!r}: write column=value or column=lo..hi, "
                                 "comma separated, e.g. 'pose_yaw_deg=30..60,color_temp_k=3200'")
        lo, dots, hi = value.partition("..")
        if dots:
            try:
                a, b = float(lo), float(hi)
            except ValueError:
                raise SelectionError(f"bad range {value!r} for {name!r} in target {text!r}: "
                                     "write lo..hi with numbers") from None
            spec[name] = (min(a, b), max(a, b))
        else:
            try:
                spec[name] = float(value)
            except ValueError:
                spec[name] = value
    if not spec:
        raise SelectionError(f"empty target {text!r}")
    return spec


def target_points(specs: Sequence[Mapping[str, Any]], *, steps: int = 3,
                  k: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Attribute rows to search for, and their quotas, from target specs.

    A range ``(lo, hi)`` becomes ``steps`` evenly spaced values (all ranges of a target
    combined); the target's ``k`` is split evenly over its points. The ``target`` column
    names each point (``T1 pose_yaw_deg=45``).
    """
    if steps < 1:
        raise SelectionError(f"steps must be >= 1, got {steps}")
    rows: list[dict[str, Any]] = []
    quotas: list[int] = []
    for t, spec in enumerate(specs, start=1):
        grids = [np.linspace(v[0], v[1], steps) if isinstance(v, tuple) else [v]
                 for v in spec.values()]
        mesh = [dict(zip(spec, combo, strict=True))
                for combo in itertools.product(*grids)]
        share = [k // len(mesh) + (i < k % len(mesh)) for i in range(len(mesh))]
        for point, q in zip(mesh, share, strict=True):
            label = ",".join(f"{c}={_fmt(_num(v))}" for c, v in point.items())
            rows.append({"target": f"T{t} {label}", **point})
            quotas.append(q)
    return pd.DataFrame(rows), np.asarray(quotas, np.int64)


# Public names for the per-stratum lookups (helper D's branch defines them; these aliases
# let this branch run until the merge keeps D's version).
ratio_for = _ratio_for
size_for = _size_for
