"""The held-out split, its leakage guard and the row-aligned inputs of an experiment.

A fixed real held-out split that never sees synthetic, augmented or oversampled data, the
training candidates it rules out (lineage, near-duplicates), and :class:`SweepData`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from curator.errors import CuratorError
from curator.neighbors import NeighborIndex, as_float32
from curator.results import ResultMixin
from curator.validation import check_scalar


class ExperimentError(CuratorError, ValueError):
    """An experiment cannot run as asked (no held-out data, empty mixes, bad parameters)."""


# -- the held-out split ---------------------------------------------------------------------
@dataclass
class Holdout(ResultMixin):
    """A fixed real held-out split and the training candidates it rules out.

    ``heldout``: rows scored on (real, never augmented or oversampled). ``excluded``:
    candidate rows that may not train because they derive from a held-out sample (lineage)
    or lie within ``threshold`` of one (near-duplicates); ``leakage`` lists them with why.
    """

    heldout: np.ndarray
    excluded: np.ndarray
    leakage: pd.DataFrame
    threshold: float
    how: str

    @property
    def trainable(self) -> np.ndarray:
        return ~self.heldout & ~self.excluded

    def result_title(self) -> str:
        return "held-out split"

    def result_fields(self) -> dict[str, Any]:
        return {"how": self.how, "heldout": int(self.heldout.sum()),
                "excluded": int(self.excluded.sum()), "trainable": int(self.trainable.sum()),
                "threshold": self.threshold}


def heldout_split(frame: pd.DataFrame, X: Any, *, split: str | None = "test",
                  fraction: float = 0.25, label: str = "label", dedup_scale: float = 0.2,
                  random_state: int = 0) -> Holdout:
    """The real held-out rows of ``frame`` (row-aligned with ``X``) and the leakage guard.

    Held-out rows are the real samples of ``split`` when there are any, else a seeded
    ``fraction`` of the real samples, stratified by ``label``. A candidate is excluded when
    its ``parent_ids`` name a held-out sample (augmented copies, oversampled rows) or its
    nearest held-out sample is within ``dedup_scale`` x the median nearest-neighbour distance
    of the real samples (:func:`curator.select.select_deduplicated`'s near-duplicate rule).
    """
    from curator.select import median_nn_distance

    X = as_float32(X, allow_empty=False)
    if len(frame) != len(X):
        raise ExperimentError(f"frame has {len(frame)} rows for {len(X)} vectors")
    check_scalar(fraction, "held-out fraction", Real, min_val=0, max_val=1, closed="neither",
                 error=ExperimentError, message="{name} must be in (0, 1), got {value!r}")
    real = (frame["source"] == "real").to_numpy() & frame[label].notna().to_numpy()
    if real.sum() < 4:
        raise ExperimentError(f"need real labelled samples to hold out; found {real.sum()}")
    in_split = real & (frame["split"] == split).to_numpy() if split else np.zeros(len(X), bool)
    if in_split.any() and in_split.sum() < real.sum():
        heldout, how = in_split, f"the real samples of split {split!r}"
    else:
        from sklearn.model_selection import train_test_split

        rows = np.flatnonzero(real)
        labels = frame[label].to_numpy()[rows].astype(str)
        counts = pd.Series(labels).value_counts()
        n_test = math.ceil(fraction * len(rows))
        strat = labels if counts.min() >= 2 and len(counts) <= min(n_test, len(rows) - n_test) \
            else None
        _, test = train_test_split(rows, test_size=fraction, stratify=strat,
                                   random_state=random_state)
        heldout = np.zeros(len(X), bool)
        heldout[test] = True
        how = (f"{fraction:.0%} of the real samples" + (", stratified by label" if strat
                                                       is not None else "")
               + f" (seed {random_state})")
    ids = frame["sample_id"].to_numpy()
    held_ids = set(ids[heldout].tolist())
    candidates = np.flatnonzero(~heldout)
    excluded = np.zeros(len(X), bool)
    rows: list[dict[str, Any]] = []
    if "parent_ids" in frame:  # one (row, parent) pair per line, no Python loop over rows
        pairs = pd.Series(frame["parent_ids"].to_numpy()[candidates], index=candidates,
                          dtype=object).explode()  # indexed by row position
        hits = pairs[pairs.isin(held_ids)]
        first = hits[~hits.index.duplicated()]
        excluded[first.index.to_numpy()] = True
        rows.extend({"sample_id": ids[i], "heldout_id": p, "distance": np.nan,
                     "reason": "derived from a held-out sample"}
                    for i, p in zip(first.index, first, strict=True))
    threshold = dedup_scale * median_nn_distance(X[real])
    if len(candidates):
        d, j = NeighborIndex(1).fit(X[heldout]).kneighbors(X[candidates], 1)
        held_pos = np.flatnonzero(heldout)
        near = (d[:, 0] <= threshold) & ~excluded[candidates]
        for i, dist, h in zip(candidates[near], d[near, 0], j[near, 0], strict=True):
            excluded[i] = True
            rows.append({"sample_id": ids[i], "heldout_id": ids[held_pos[h]],
                         "distance": float(dist), "reason": "near-duplicate of a held-out "
                         f"sample (d <= {threshold:.4g})"})
    leakage = pd.DataFrame(rows, columns=["sample_id", "heldout_id", "distance", "reason"])
    return Holdout(heldout, excluded, leakage, float(threshold), how)



@dataclass
class SweepData:
    """Row-aligned inputs of an experiment: vectors, labels, ids, held-out strata."""

    X: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    holdout: Holdout
    strata: np.ndarray  # held-out stratum key per row (the label unless --by says more)

    def __post_init__(self) -> None:
        self.X = as_float32(self.X, allow_empty=False)
        self.labels = np.asarray(self.labels).astype(str)
        n = len(self.X)
        for name in ("labels", "ids", "strata"):
            if len(getattr(self, name)) != n:
                raise ExperimentError(f"{name} has {len(getattr(self, name))} entries for "
                                      f"{n} rows")
        if not self.holdout.heldout.any():
            raise ExperimentError("the held-out split is empty")

    def scored_labels(self) -> np.ndarray:
        """Rows whose label occurs in the held-out split (only those can be scored, so only
        those train: a synthetic-only class would be noise to the proxy)."""
        return np.isin(self.labels, np.unique(self.labels[self.holdout.heldout]))

    def check_disjoint(self, rows: np.ndarray) -> None:
        """A training mix never holds a held-out or excluded (leaking) row."""
        bad = rows[~self.holdout.trainable[rows]]
        if len(bad):
            raise ExperimentError(f"training mix holds held-out or leaking sample(s) "
                                  f"{self.ids[bad[:3]].tolist()}: refusing to score")

