"""Training mixes of an experiment: the points of a sweep and the rows of one mix.

A :class:`MixPoint` is a real share or a synthetic-per-real count; :func:`mix_rows` draws
its rows per label with the ``mix`` selector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np

from curator.experiments.data import ExperimentError
from curator.validation import check_scalar


@dataclass(frozen=True)
class MixPoint:
    """One training mix per real budget: ``kind="fraction"`` (``value`` = share of real
    samples in a mix the size of the real budget: 1 real only, 0 synthetic only) or
    ``kind="per_real"`` (``value`` synthetic samples added per real sample)."""

    kind: str
    value: float

    @property
    def name(self) -> str:
        return f"real share {self.value:g}" if self.kind == "fraction" else \
            f"+{self.value:g} synthetic per real"

    @property
    def real_only(self) -> bool:
        return (self.kind == "fraction" and self.value == 1) or (
            self.kind == "per_real" and self.value == 0)


def mix_points(real_fractions: Sequence[float] = (), synthetic_per_real: Sequence[float] = ()
               ) -> list[MixPoint]:
    """Checked, de-duplicated points (real-only first, as the reference)."""
    points = []
    for f in real_fractions:
        check_scalar(f, "real fractions", Real, min_val=0, max_val=1, error=ExperimentError,
                     message="{name} must be in [0, 1], got {value!r}")
        points.append(MixPoint("fraction", float(f)))
    for s in synthetic_per_real:
        check_scalar(s, "synthetic per real", Real, min_val=0, max_val=math.inf,
                     closed="left", error=ExperimentError,
                     message="{name} must be >= 0, got {value!r}")
        # +0 synthetic per real is the real-only mix: one reference point, not two.
        points.append(MixPoint("per_real", float(s)) if s else MixPoint("fraction", 1.0))
    if not points:
        raise ExperimentError("give real fractions and/or synthetic-per-real values")
    unique = list(dict.fromkeys(points))
    return sorted(unique, key=lambda p: (not p.real_only, p.kind, -p.value
                                         if p.kind == "fraction" else p.value))


def mix_rows(X: np.ndarray, labels: np.ndarray, real: np.ndarray, synthetic: np.ndarray,
             point: MixPoint, per_class: int, random_state: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(real rows, synthetic rows)`` of one mix, built by the ``mix`` selector per label.

    Real rows are a seeded draw of ``per_class`` per label (fewer where a label has fewer);
    synthetic rows are the ones closest to them (:func:`curator.select.select_mix`). A
    real-share-0 mix keeps only the synthetic part of the real-share-1 draw's neighbours.
    """
    from curator.select import select_mix

    pool = real | synthetic
    rows = np.flatnonzero(pool)
    ids = rows.astype(str)
    if point.kind == "fraction" and point.value > 0:
        kw = {"n_total": per_class, "synthetic_per_real": (1 - point.value) / point.value}
    else:
        kw = {"n_real": per_class, "synthetic_per_real": point.value
              if point.kind == "per_real" else 1.0}
    # keep_ratio=False: a label short of synthetic keeps its real part (never dropped).
    sel = select_mix(X[rows], ids=ids, is_real=real[rows], is_synthetic=synthetic[rows],
                     strata=labels[rows].astype(str), keep_ratio=False,
                     random_state=random_state, **kw)
    chosen = sel.frame["sample_id"].astype(int).to_numpy()
    kinds = sel.frame["kind"].to_numpy()
    real_rows = np.sort(chosen[kinds == "real"])
    syn_rows = np.sort(chosen[kinds == "synthetic"])
    if point.kind == "fraction" and point.value == 0:
        real_rows = real_rows[:0]
    return real_rows, syn_rows

