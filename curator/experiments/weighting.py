"""The weight of synthetic rows in the ``weighted`` regime, chosen on the real training budget.

:func:`choose_synthetic_weight` scores each candidate weight by cross-validation on the real
part of one mix (never the held-out split) and returns the best one with the whole sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np

from curator.experiments.data import ExperimentError
from curator.experiments.proxy import fit_proxy
from curator.validation import check_scalar

#: Candidate weights of a synthetic row (a real row weighs 1), tried in this order.
WEIGHT_GRID = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
#: Folds of the real part that score each weight (fewer when a label has fewer real rows).
VALIDATION_FOLDS = 3


def check_weights(weights: Sequence[float]) -> tuple[float, ...]:
    """Candidate weights as a de-duplicated tuple, each in (0, 1]."""
    out = []
    for w in weights:
        check_scalar(w, "synthetic weights", Real, min_val=0, max_val=1, closed="right",
                     error=ExperimentError,
                     message="{name} must be in (0, 1], got {value!r}")
        out.append(float(w))
    if not out:
        raise ExperimentError("the weighted regime needs at least one synthetic weight")
    return tuple(dict.fromkeys(out))


def validation_folds(y_real: np.ndarray, random_state: int) -> list[np.ndarray]:
    """Validation rows (positions in the real part) of each fold: stratified by label when
    every label has :data:`VALIDATION_FOLDS` real rows or more, else shuffled plainly."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(y_real)
    counts = np.unique(y_real, return_counts=True)[1]
    if n < 2:
        return []
    if counts.min() >= VALIDATION_FOLDS:
        split = StratifiedKFold(VALIDATION_FOLDS, shuffle=True, random_state=random_state)
        return [val for _, val in split.split(np.zeros(n), y_real)]
    split = KFold(min(VALIDATION_FOLDS, n), shuffle=True, random_state=random_state)
    return [val for _, val in split.split(np.zeros(n))]


def choose_synthetic_weight(model: str, X_real: np.ndarray, y_real: np.ndarray,
                            X_syn: np.ndarray, y_syn: np.ndarray, *,
                            weights: Sequence[float] = WEIGHT_GRID, random_state: int = 0
                            ) -> tuple[float, dict[str, float]]:
    """The synthetic weight with the best validation accuracy on the real part of a mix.

    Each fold holds out part of the real rows; the proxy trains on the other real rows and
    the synthetic rows whose nearest real row is not held out (a synthetic row drawn next
    to a validation sample would grade its own neighbour), each synthetic row weighing
    ``w``, and is scored on the held-out real rows. Accuracy is pooled over folds; ties go
    to the larger weight (the plainer mix). Only rows of this mix are read: the held-out
    split of the experiment is never seen.

    Returns
    -------
    weight, sweep
        The chosen weight, and the validation accuracy of every candidate (keys ``"%g"``).
    """
    from sklearn.metrics import pairwise_distances_argmin

    grid = check_weights(weights)
    folds = validation_folds(y_real, random_state)
    if not folds or not len(X_syn):
        return 1.0, {}
    # Each synthetic row belongs to the fold of its nearest real row.
    anchor = pairwise_distances_argmin(X_syn, X_real)
    hits = dict.fromkeys(grid, 0)
    seen = 0
    for val in folds:
        train = np.ones(len(y_real), bool)
        train[val] = False
        syn = ~np.isin(anchor, val)
        if len(set(y_real[train].tolist()) | set(y_syn[syn].tolist())) < 2:
            continue  # too few labels to fit this fold
        seen += len(val)
        for w in grid:
            proxy = fit_proxy(model, X_real[train], y_real[train], X_syn[syn], y_syn[syn],
                              regime="weighted", synthetic_weight=w,
                              random_state=random_state)
            hits[w] += int((proxy.predict(X_real[val]) == y_real[val]).sum())
    if not seen:
        return 1.0, {}
    sweep = {f"{w:g}": hits[w] / seen for w in grid}
    best = max(grid, key=lambda w: (hits[w], w))
    return best, sweep
