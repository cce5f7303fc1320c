"""Plan a real:synthetic mix per stratum from cached statistics, in milliseconds.

:func:`mix_statistics` searches once per stratum (synthetic -> nearest real, real ->
nearest synthetic, real -> nearest other real). :func:`plan_mix` then answers "what do
these ratios and sizes give?" for any setting without another search: the counts
:func:`curator.select.select_mix` would take (the same :func:`~curator.select.mix_counts`
rule), why a request is infeasible, and two predictions for the synthetic part:

* ``synthetic_distance``: mean distance of the chosen synthetic samples to their nearest
  real sample (the mix takes the closest first; lower = closer to the real data);
* ``coverage``: share of the stratum's real samples whose nearest synthetic sample is
  chosen and lies within the real samples' median nearest-neighbour distance.

Predictions assume the closest synthetic samples are taken first; the mix selector
anchors them on its real draw, so the saved mix can differ slightly. Reading the inputs
from a workspace and saving the mix is :mod:`curator.workflows.ratio`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from curator.neighbors import NeighborIndex, as_float32
from curator.results import ResultMixin
from curator.select import SelectionError, mix_counts, ratio_for, size_for


@dataclass(frozen=True)
class StratumStats(ResultMixin):
    """What :func:`plan_mix` needs of one stratum (all arrays small: one value per sample)."""

    stratum: str
    n_real: int
    n_synthetic: int
    #: distance of each synthetic sample to its nearest real one, ascending (pick order)
    synthetic_distance: np.ndarray
    #: per real sample: pick rank of its nearest synthetic sample, and the distance to it
    nearest_synthetic_rank: np.ndarray
    nearest_synthetic_distance: np.ndarray
    #: median distance between real samples' nearest neighbours: the coverage radius
    radius: float

    def result_title(self) -> str:
        return f"stratum {self.stratum}"

    def result_fields(self) -> dict[str, Any]:
        near = self.synthetic_distance
        return {"stratum": self.stratum, "n_real": self.n_real,
                "n_synthetic": self.n_synthetic, "radius": self.radius,
                "nearest_synthetic_distance_median": float(np.median(near)) if len(near)
                else float("nan")}


def mix_statistics(X: Any, strata: Sequence[str], is_real: Any, is_synthetic: Any
                   ) -> dict[str, StratumStats]:
    """One :class:`StratumStats` per stratum holding real or synthetic samples."""
    X = as_float32(X, allow_empty=False)
    keys = np.asarray(list(strata), dtype=object)
    real, syn = np.asarray(is_real, bool), np.asarray(is_synthetic, bool)
    if not (len(keys) == len(real) == len(syn) == len(X)):
        raise SelectionError(f"strata, is_real and is_synthetic need {len(X)} values each")
    out = {}
    for key in sorted(set(keys[real | syn].tolist())):
        r = np.flatnonzero((keys == key) & real)
        s = np.flatnonzero((keys == key) & syn)
        radius = 0.0
        if len(r) >= 2:
            radius = float(np.median(NeighborIndex(1).fit(X[r]).kneighbors(None, 1)[0][:, 0]))
        if len(r) and len(s):
            d_syn = NeighborIndex(1).fit(X[r]).kneighbors(X[s], 1)[0][:, 0]
            order = np.argsort(d_syn, kind="stable")
            rank = np.empty(len(s), np.int64)
            rank[order] = np.arange(len(s))
            d_real, j = NeighborIndex(1).fit(X[s]).kneighbors(X[r], 1)
            stats = StratumStats(str(key), len(r), len(s), d_syn[order], rank[j[:, 0]],
                                 d_real[:, 0], radius)
        else:
            # No synthetic side: every real sample's nearest synthetic is "never taken".
            stats = StratumStats(str(key), len(r), len(s), np.zeros(0),
                                 np.full(len(r), np.iinfo(np.int64).max),
                                 np.full(len(r), np.inf), radius)
        out[str(key)] = stats
    return out


def plan_mix(stats: Mapping[str, StratumStats], synthetic_per_real: float | Mapping[str, float],
             *, n_total: int | Mapping[str, int] | None = None, keep_ratio: bool = True
             ) -> pd.DataFrame:
    """Per stratum (and a ``total`` row): requested and achieved counts, the achieved
    ratio, the predicted synthetic distance and coverage, and why a request falls short."""
    rows = []
    for key, st in stats.items():
        counts = mix_counts(st.n_real, st.n_synthetic, ratio_for(key, synthetic_per_real),
                            n_total=size_for(key, n_total), keep_ratio=keep_ratio)
        k = counts.synthetic
        covered = (st.nearest_synthetic_rank < k) & (st.nearest_synthetic_distance
                                                      <= st.radius)
        rows.append({
            "stratum": key, "real_available": st.n_real, "synthetic_available": st.n_synthetic,
            "requested_real": counts.want_real, "requested_synthetic": counts.want_synthetic,
            "real": counts.real, "synthetic": k,
            "achieved_ratio": k / counts.real if counts.real else float("nan"),
            "synthetic_distance": float(st.synthetic_distance[:k].mean()) if k else float("nan"),
            "coverage": float(covered.mean()) if st.n_real else float("nan"),
            "feasible": not counts.notes, "note": "; ".join(counts.notes)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    real, synthetic = int(table["real"].sum()), int(table["synthetic"].sum())
    weights = table["real_available"].to_numpy(float)
    total = {"stratum": "total", "real_available": int(table["real_available"].sum()),
             "synthetic_available": int(table["synthetic_available"].sum()),
             "requested_real": int(table["requested_real"].sum()),
             "requested_synthetic": int(table["requested_synthetic"].sum()),
             "real": real, "synthetic": synthetic,
             "achieved_ratio": synthetic / real if real else float("nan"),
             "synthetic_distance": _weighted(table["synthetic_distance"], table["synthetic"]),
             "coverage": _weighted(table["coverage"], weights),
             "feasible": bool(table["feasible"].all()),
             "note": f"{int((~table['feasible']).sum())} stratum(s) short"
             if not table["feasible"].all() else ""}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def _weighted(values: pd.Series, weights: Any) -> float:
    v = values.to_numpy(float)
    w = np.asarray(weights, float)
    ok = ~np.isnan(v) & (w > 0)
    return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else float("nan")


@dataclass
class MixInputs(ResultMixin):
    """Row-aligned inputs of a workspace mix: ids, vectors, strata, which side each is."""

    embedding: str
    by: str
    ids: np.ndarray
    X: np.ndarray
    strata: np.ndarray
    is_real: np.ndarray
    is_synthetic: np.ndarray

    def result_title(self) -> str:
        return f"mix inputs ({self.embedding}, by {self.by})"

    def result_fields(self) -> dict[str, Any]:
        return {"embedding": self.embedding, "by": self.by, "rows": len(self.ids),
                "dim": int(self.X.shape[1]) if self.X.ndim == 2 else 0,
                "strata": len(set(self.strata.tolist())), "real": int(self.is_real.sum()),
                "synthetic": int(self.is_synthetic.sum())}

    def to_frame(self) -> pd.DataFrame:
        """One row per sample: id, stratum and side (the vectors stay in ``X``)."""
        return pd.DataFrame({"sample_id": self.ids, "stratum": self.strata,
                             "is_real": self.is_real, "is_synthetic": self.is_synthetic})
