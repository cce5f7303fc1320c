"""SMOTE-style oversampling in feature space on our neighbour engine, with provenance.

imbalanced-learn does the sampling; :class:`curator.neighbors.NeighborIndex` answers its
neighbour queries, and every invented row records its two parents and the interpolation
weight, so a curator can always see which samples are invented and from what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE, BorderlineSMOTE

from curator.neighbors import NeighborIndex, as_float32
from curator.stats import AnalysisError

#: Samplers whose new points are ``x_i + w (x_nn - x_i)`` between two rows of the same class,
#: so both parents can be recorded.
SAMPLERS = ("smote", "borderline")


class _Recorder:
    """Mixin: keep what imblearn's ``_generate_samples`` was asked to interpolate."""

    def _generate_samples(self, X, nn_data, nn_num, rows, cols, steps, y_type=None, y=None):
        self.generated_.append((y_type, np.asarray(rows), np.asarray(nn_num[rows, cols]),
                                np.asarray(steps).ravel()))
        return super()._generate_samples(X, nn_data, nn_num, rows, cols, steps, y_type, y)


class _SMOTE(_Recorder, SMOTE):
    pass


class _BorderlineSMOTE(_Recorder, BorderlineSMOTE):
    pass


def oversample(X: Any, strata: Sequence[Any], *, ids: Sequence[str] | None = None,
               sampler: str = "smote", k_neighbors: int = 5,
               sampling_strategy: str | float | Mapping[Any, int] = "auto",
               random_state: int = 0) -> pd.DataFrame:
    """New rows for under-represented strata, one per invented sample, with provenance.

    Parameters
    ----------
    X
        ``(n, d)`` vectors (an embedding or encoded attributes).
    strata
        One key per row: a label, or a stratum such as ``label=3|pose_yaw_deg=[30,60)``
        (:func:`curator.strata.stratum_keys`); imbalanced-learn balances these keys.
    sampler
        ``"smote"`` or ``"borderline"`` (Borderline-SMOTE 1).
    k_neighbors
        Neighbours per minority sample, searched by :class:`NeighborIndex` (exact).
    sampling_strategy
        As imbalanced-learn's: ``"auto"``, a float ratio, or ``{stratum: target_count}``.

    Returns
    -------
    DataFrame
        ``stratum``, ``parent_a``, ``parent_b`` (ids), ``weight`` (the new point is
        ``x_a + weight (x_b - x_a)``) and ``vector`` (the new row), in imbalanced-learn's
        order: its own ``fit_resample`` output, rows beyond the input, equals ``vector``.
    """
    X = as_float32(X, allow_empty=False)
    keys = np.asarray(list(strata), dtype=object)
    if len(keys) != len(X):
        raise AnalysisError(f"strata has {len(keys)} keys for {len(X)} rows")
    sid = np.asarray(list(ids) if ids is not None else [str(i) for i in range(len(X))],
                     dtype=object)
    if len(sid) != len(X):
        raise AnalysisError(f"ids has {len(sid)} entries for {len(X)} rows")
    if sampler not in SAMPLERS:
        raise AnalysisError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    counts = pd.Series(keys).value_counts()
    targets = _targets(counts, sampling_strategy)
    short = [f"{k} ({counts[k]})" for k in targets if counts[k] < k_neighbors + 1]
    if short:
        raise AnalysisError(
            f"strata with fewer than k_neighbors + 1 = {k_neighbors + 1} samples cannot be "
            f"interpolated: {', '.join(map(str, short[:10]))}; lower k_neighbors, merge "
            "those strata (fewer bins), or leave them out of sampling_strategy")
    nn = NeighborIndex(k_neighbors + 1, random_state=random_state)
    common = {"sampling_strategy": sampling_strategy, "k_neighbors": nn,
              "random_state": random_state}
    model = _SMOTE(**common) if sampler == "smote" else _BorderlineSMOTE(
        kind="borderline-1", m_neighbors=NeighborIndex(11), **common)  # imblearn: 10 + self
    model.generated_ = []
    X_res, _ = model.fit_resample(X, keys)
    parts = []
    for y_type, rows, partners, steps in model.generated_:
        members = np.flatnonzero(keys == y_type)
        if sampler == "borderline":  # Borderline-SMOTE interpolates from the danger rows
            danger = _danger_rows(model, X, keys, y_type)
            base = members[danger][rows]
        else:
            base = members[rows]
        parts.append(pd.DataFrame({"stratum": y_type, "parent_a": sid[base],
                                   "parent_b": sid[members[partners]], "weight": steps}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["stratum", "parent_a", "parent_b", "weight"])
    out["vector"] = list(X_res[len(X):])
    return out


def _targets(counts: pd.Series, strategy: Any) -> list[Any]:
    """Strata that will receive new samples (for the up-front size check)."""
    if isinstance(strategy, Mapping):
        unknown = [k for k in strategy if k not in counts.index]
        if unknown:
            raise AnalysisError(f"sampling_strategy names unknown strata {unknown[:5]}; "
                                f"known: {list(counts.index[:10])}")
        return [k for k, v in strategy.items() if v > counts[k]]
    if isinstance(strategy, float):
        return list(counts.index[counts < strategy * counts.max()])
    return list(counts.index[counts < counts.max()])


def _danger_rows(model: Any, X: np.ndarray, keys: np.ndarray, y_type: Any) -> np.ndarray:
    """Rows of class ``y_type`` that Borderline-SMOTE calls "in danger" (its own rule)."""
    members = np.flatnonzero(keys == y_type)
    return np.asarray(model._in_danger_noise(model.nn_m_, X[members], y_type, keys,
                                             kind="danger"))
