"""Coverage: ``m`` samples such that every sample is near a chosen one (greedy k-center).

:class:`CoverageSelector` (an estimator) and :func:`select_coverage`, its functional form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from curator.neighbors import NeighborIndex, as_float32
from curator.select.result import Selection, SelectionError, Selector, check_ids
from curator.validation import check_scalar


class CoverageSelector(Selector):
    """Greedy k-center: ``m`` samples such that every sample is near a chosen one.

    Each step adds the sample farthest from everything chosen so far (Gonzalez's
    farthest-point rule, a 2-approximation of the optimal radius). ``stats["radius"]`` is
    the final coverage radius (the largest distance from any sample to its nearest chosen
    one); ``frame["distance"]`` the radius just before each pick, so it is non-increasing,
    and the first ``j`` rows are the answer for ``m = j``.

    Parameters
    ----------
    m
        Samples to pick.
    start
        First pick when nothing is preselected: ``"mean"`` (nearest the centroid),
        ``"random"`` (seeded by ``random_state``) or a row position.
    random_state
        Seed of the ``"random"`` start.
    """

    method = "coverage"

    def __init__(self, m: int, *, start: str | int = "mean", random_state: int = 0) -> None:
        self.m = m
        self.start = start
        self.random_state = random_state

    def select(self, X: np.ndarray, *, ids: Sequence[str] | None = None,
               preselected: Sequence[int] | np.ndarray | None = None) -> Selection:
        """Pick from the rows of ``X``; ``preselected`` row positions are already in the
        subset (e.g. the real samples) and coverage extends them."""
        m, start, random_state = self.m, self.start, self.random_state
        X = as_float32(X, allow_empty=False)
        n = len(X)
        sid = check_ids(ids, n, "ids")
        pre = np.unique(np.asarray(preselected if preselected is not None else [], np.int64))
        if pre.size and (pre.min() < 0 or pre.max() >= n):
            raise SelectionError(f"preselected positions must lie in 0..{n - 1}")
        check_scalar(m, "m", min_val=0, error=SelectionError)
        if m > n - pre.size:
            raise SelectionError(f"cannot pick {m} samples: only {n - pre.size} are not "
                                 "already selected")
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
            if not np.isfinite(r) else f"farthest from the chosen set (d={r:.4g})"
            for r in radii]
        return self._selection(frame,
                               params={"m": m, "start": start, "random_state": random_state,
                                       "preselected": int(pre.size)},
                               stats={"radius": radius, "selected": len(picks),
                                      "preselected": int(pre.size)})


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

    The functional form of :class:`CoverageSelector` (same parameters, same selection);
    ``preselected`` row positions are already in the subset and coverage extends them.
    """
    selector = CoverageSelector(m, start=start, random_state=random_state)
    return selector.select(X, ids=ids, preselected=preselected)
