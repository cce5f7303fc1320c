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
anchors them on its real draw, so the saved mix can differ slightly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from curator.neighbors import NeighborIndex, as_float32
from curator.select import SelectionError, _ratio_for, _size_for, mix_counts


@dataclass(frozen=True)
class StratumStats:
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
        counts = mix_counts(st.n_real, st.n_synthetic, _ratio_for(key, synthetic_per_real),
                            n_total=_size_for(key, n_total), keep_ratio=keep_ratio)
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


# -- over a workspace -----------------------------------------------------------------------
@dataclass
class MixInputs:
    """Row-aligned inputs of a workspace mix: ids, vectors, strata, which side each is."""

    embedding: str
    by: str
    ids: np.ndarray
    X: np.ndarray
    strata: np.ndarray
    is_real: np.ndarray
    is_synthetic: np.ndarray


def workspace_mix_inputs(ws: Any, embedding: str, *, by: str = "label") -> MixInputs:
    """Real samples and the full recipes' renders (no ablation variants, no oversampling
    renders) with a vector in ``embedding``, and their stratum keys (``--by``)."""
    from curator.embed import load_embedding
    from curator.experiment_runs import default_synthetic
    from curator.strata import stratum_keys

    emb = load_embedding(ws, embedding)
    frame = ws.to_pandas(ws.scalar_columns())
    frame = frame[frame["sample_id"].isin(set(emb.ids.tolist()))]
    frame = frame.sort_values("sample_id", kind="stable").reset_index(drop=True)
    real = (frame["source"] == "real").to_numpy()
    syn = default_synthetic(frame)
    keep = real | syn
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        raise SelectionError(f"no real or synthetic samples with a vector in {embedding!r}")
    X = emb.vectors[emb.positions(frame["sample_id"].tolist())]
    return MixInputs(embedding, by, frame["sample_id"].to_numpy(), X,
                     stratum_keys(frame, by).astype(str).to_numpy(), real[keep], syn[keep])


def save_mix(ws: Any, name: str, inputs: MixInputs,
             synthetic_per_real: float | Mapping[str, float], *,
             n_total: int | Mapping[str, int] | None = None, random_state: int = 0,
             overwrite: bool = False) -> tuple[str, Any]:
    """Select the planned mix (:func:`curator.select.select_mix`) and save it as subset
    ``name`` and as a manifest; returns ``(subset path, Manifest)``."""
    from curator.manifest import write_manifest
    from curator.select import select_mix
    from curator.subsets import save_subset

    sel = select_mix(inputs.X, ids=inputs.ids, is_real=inputs.is_real,
                     is_synthetic=inputs.is_synthetic, strata=inputs.strata,
                     synthetic_per_real=synthetic_per_real, n_total=n_total,
                     random_state=random_state)
    config = {"method": "mix", "embedding": inputs.embedding, "by": inputs.by,
              "synthetic_per_real": synthetic_per_real, "n_total": n_total,
              "random_state": random_state}
    path = save_subset(ws, name, sel, overwrite=overwrite, extra={"embedding": inputs.embedding,
                                                                 "by": inputs.by})
    return path, write_manifest(ws, name, sel.ids, config=config)
