"""Real:synthetic mixing: a subset with a requested synthetic:real ratio in every stratum.

:class:`MixSelector` (an estimator), :func:`select_mix`, its functional form, and the pure
count arithmetic it shares with :mod:`curator.ratio_plan` (:func:`mix_counts`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from curator.neighbors import NeighborIndex, as_float32
from curator.results import ResultMixin
from curator.select.nearest import select_nearest_to_targets
from curator.select.result import Selection, SelectionError, Selector, check_ids
from curator.validation import check_scalar


def ratio_for(stratum: str, ratio: float | Mapping[str, float]) -> float:
    """A stratum's synthetic-per-real ratio: one number for all, or per stratum (``"*"``
    for the rest)."""
    r = ratio.get(stratum, ratio.get("*")) if isinstance(ratio, Mapping) else ratio
    if r is None:
        raise SelectionError(f"no synthetic_per_real ratio for stratum {stratum!r} (add it, "
                             "or a '*' default)")
    check_scalar(r, "synthetic_per_real", Real, min_val=0, max_val=math.inf, closed="left",
                 error=SelectionError, message="{name} must be a number >= 0, got {value!r}")
    return float(r)


class MixSelector(Selector):
    """A real + synthetic subset with a requested synthetic:real ratio in every stratum.

    Parameters
    ----------
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
    random_state
        Seed of the real draw.
    synthetic_weight
        When given, the selection gets a ``weight`` column: 1 for a real row, this for a
        synthetic one (e.g. the weight a ``weighted`` ratio experiment chose). Saved subsets
        carry it into their manifests and exports.

    Real samples are drawn at random (seeded); synthetic ones closest to the stratum's real
    samples first, each real sample anchoring its nearest synthetic ones (no reuse), so the
    synthetic part follows the real distribution. ``summary`` states requested and
    achieved counts and ratio per stratum and why they differ.
    """

    method = "mix"

    def __init__(self, synthetic_per_real: float | Mapping[str, float] = 1.0, *,
                 n_real: int | Mapping[str, int] | None = None,
                 n_total: int | Mapping[str, int] | None = None,
                 keep_ratio: bool = True, random_state: int = 0,
                 synthetic_weight: float | None = None) -> None:
        self.synthetic_per_real = synthetic_per_real
        self.n_real = n_real
        self.n_total = n_total
        self.keep_ratio = keep_ratio
        self.random_state = random_state
        self.synthetic_weight = synthetic_weight

    def select(self, X: np.ndarray, *, ids: Sequence[str],
               is_real: Sequence[bool] | np.ndarray,
               is_synthetic: Sequence[bool] | np.ndarray,
               strata: Sequence[str] | None = None) -> Selection:
        """Mix the rows of ``X``: ``is_real`` and ``is_synthetic`` say which rows are real
        and which are synthetic candidates (rows that are neither are ignored); ``strata``
        gives one stratum key per row (see :func:`curator.strata.stratum_keys`), ``None``
        mixes over everything at once."""
        synthetic_per_real, n_real, n_total = self.synthetic_per_real, self.n_real, self.n_total
        keep_ratio, random_state = self.keep_ratio, self.random_state
        X = as_float32(X, allow_empty=False)
        n = len(X)
        sid = check_ids(ids, n, "ids")
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
                check_scalar(v, name, min_val=0, allow_none=True, error=SelectionError)
        if n_real is not None and n_total is not None:
            raise SelectionError("give n_real or n_total, not both")
        weight = check_scalar(self.synthetic_weight, "synthetic_weight", Real, min_val=0,
                              max_val=math.inf, closed="neither", allow_none=True,
                              error=SelectionError)
        rng = np.random.default_rng(random_state)
        rows: list[dict[str, Any]] = []
        summary: list[dict[str, Any]] = []
        all_real = np.flatnonzero(real)
        for key in sorted(set(keys[real | syn].tolist())):
            r = ratio_for(key, synthetic_per_real)
            in_s = keys == key
            real_s, syn_s = np.flatnonzero(in_s & real), np.flatnonzero(in_s & syn)
            counts = mix_counts(len(real_s), len(syn_s), r, n_real=size_for(key, n_real),
                                n_total=size_for(key, n_total), keep_ratio=keep_ratio)
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
                    for i, d, t in zip(*_near_anchors(X, sid, syn_s, anchors, got_syn),
                                       strict=True):
                        rows.append({"sample_id": sid[i], "stratum": key, "kind": "synthetic",
                                     "distance": float(d), "reason": f"synthetic near real {t} "
                                     f"(d={d:.4g}), stratum {key}"})
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
        params = {"synthetic_per_real": synthetic_per_real, "n_real": n_real,
                  "n_total": n_total, "keep_ratio": keep_ratio, "random_state": random_state}
        if weight is not None:  # only then: unweighted mixes keep their saved form
            frame["weight"] = np.where(frame["kind"] == "synthetic", weight, 1.0)
            params["synthetic_weight"] = weight
        table = pd.DataFrame(summary)
        n_r = int((frame["kind"] == "real").sum())
        n_s = int((frame["kind"] == "synthetic").sum())
        return self._selection(
            frame, params=params,
            summary=table,
            stats={"real": n_r, "synthetic": n_s,
                   "achieved_ratio": (n_s / n_r) if n_r else float("nan"),
                   "strata": len(table),
                   "strata_short": int((table["note"] != "").sum()) if len(table) else 0})


def _near_anchors(X: np.ndarray, sid: np.ndarray, syn_s: np.ndarray, anchors: np.ndarray,
                  got_syn: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``got_syn`` synthetic rows (of ``syn_s``) nearest the real ``anchors``, each anchor
    taking its nearest ones: positions, distances and the anchor's id ("" for fill-ins)."""
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
    return chosen, dists, anchor


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
    synthetic_weight: float | None = None,
) -> Selection:
    """A real + synthetic subset with a requested synthetic:real ratio in every stratum.

    The functional form of :class:`MixSelector` (same parameters, same selection).
    """
    selector = MixSelector(synthetic_per_real, n_real=n_real, n_total=n_total,
                           keep_ratio=keep_ratio, random_state=random_state,
                           synthetic_weight=synthetic_weight)
    return selector.select(X, ids=ids, is_real=is_real, is_synthetic=is_synthetic,
                           strata=strata)


@dataclass(frozen=True)
class MixCounts(ResultMixin):
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


def size_for(stratum: str, size: int | Mapping[str, int] | None) -> int | None:
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
