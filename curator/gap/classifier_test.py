"""The classifier two-sample test of real vs synthetic vectors: out-of-fold AUC of telling
them apart, and its interval corrected for the overlap of cross-validation folds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from curator.gap.metrics import check_pair
from curator.stats import AnalysisError, Interval
from curator.validation import check_scalar

_PREDICT_ROWS = 65_536  # rows per predict_proba call of the two-sample test


def _with_squares(Z: np.ndarray) -> np.ndarray:
    return np.hstack([Z, Z * Z])


def _c2st_model(random_state: int):
    """Logistic regression on standardized vectors and their squares.

    Linear terms catch shifted means, squares catch per-dimension spread (mode collapse,
    over-dispersion), which a linear model alone cannot see. It fits 50k x 256 in about a
    second with lbfgs; gradient boosting would see more but costs ~10x on 200k x 128.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(StandardScaler(), FunctionTransformer(_with_squares), StandardScaler(),
                         LogisticRegression(C=1.0, max_iter=500, random_state=random_state))


def _delong(p_real: np.ndarray, p_fake: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong variance, from each score's placement among the other side's."""
    sorted_real, sorted_fake = np.sort(p_real), np.sort(p_fake)
    lo = np.searchsorted(sorted_real, p_fake, "left")
    hi = np.searchsorted(sorted_real, p_fake, "right")
    fake_wins = (lo + 0.5 * (hi - lo)) / len(p_real)
    lo = np.searchsorted(sorted_fake, p_real, "left")
    hi = np.searchsorted(sorted_fake, p_real, "right")
    real_loses = (len(p_fake) - hi + 0.5 * (hi - lo)) / len(p_fake)
    var = 0.0
    for placements in (fake_wins, real_loses):
        if len(placements) > 1:
            var += placements.var(ddof=1) / len(placements)
    return float(fake_wins.mean()), float(var)


def auc_interval(p_real: np.ndarray, p_fake: np.ndarray, *, folds: np.ndarray | None = None,
                 fake_folds: np.ndarray | None = None, alpha: float = 0.05) -> Interval:
    """ROC AUC of "fake scores above real" (ties count 1/2; sklearn's ``roc_auc_score``)
    with a normal interval from DeLong's variance.

    With ``folds`` (fold of each real score) and ``fake_folds``, the AUC is the mean of the
    per-fold AUCs and its variance the mean per-fold variance times Nadeau & Bengio's
    (2003) ``1/K + n_test/n_train``: cross-validation folds share training rows, so their
    AUCs are correlated, and treating them as independent (or bootstrapping the held-out
    scores) gives intervals that miss 0.5 far more often than ``alpha`` when nothing differs.
    """
    check_scalar(alpha, "alpha", Real, min_val=0, max_val=1, closed="neither", error=AnalysisError)
    if folds is None or fake_folds is None:
        folds, fake_folds = np.zeros(len(p_real), int), np.zeros(len(p_fake), int)
    per_fold = [_delong(p_real[folds == f], p_fake[fake_folds == f])
                for f in np.unique(np.concatenate([folds, fake_folds]))
                if (folds == f).any() and (fake_folds == f).any()]
    if not per_fold:
        raise AnalysisError("auc_interval needs real and fake scores in a common fold")
    K = len(per_fold)
    estimate = float(np.mean([a for a, _ in per_fold]))
    var = (1 / K + (1 / (K - 1) if K > 1 else 0.0)) * float(np.mean([v for _, v in per_fold]))
    half = sps.norm.ppf(1 - alpha / 2) * math.sqrt(var)
    return Interval(estimate, estimate - half, estimate + half)


def classifier_two_sample_test(real: Any, fake: Any, *, cv: int = 5,
                               max_fit_samples: int = 50_000, alpha: float = 0.05,
                               random_state: int = 0, ids: Sequence[Any] | None = None
                               ) -> tuple[Interval, pd.Series]:
    """Classifier two-sample test: out-of-fold ROC AUC of telling synthetic from real.

    ``cv``-fold stratified cross-validation gives every sample a held-out P(synthetic) (each
    fold fits on at most ``max_fit_samples`` of its training rows, seeded); AUC 0.5 means
    the classifier cannot tell them apart, 1.0 that every synthetic sample gives itself away.
    The AUC is the mean of the per-fold AUCs: scores pooled across folds come from different
    models and run below 0.5 when the sets do not differ, while each fold's held-out AUC is
    exactly a null Mann-Whitney statistic then. The interval is normal, from the per-fold
    DeLong variances corrected for the folds' overlap (see :func:`auc_interval`).

    Returns ``(auc, p_synthetic)``: a Series over the real rows then the fake rows, indexed
    by ``ids`` (n_real + n_fake of them) when given.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    real, fake = check_pair(real, fake)
    n_r, n_f = len(real), len(fake)
    if ids is not None and len(ids) != n_r + n_f:
        raise AnalysisError(f"ids has {len(ids)} entries for {n_r} real + {n_f} fake rows")
    folds = min(cv, n_r, n_f)
    if folds < 2:
        raise AnalysisError(f"cv must be >= 2 (and both sides at least that big), got {cv!r}")
    y = np.r_[np.zeros(n_r, np.int8), np.ones(n_f, np.int8)]

    def rows(at: np.ndarray) -> np.ndarray:
        """Rows ``at`` of real-then-fake, gathered without stacking the two (sorted ``at``
        keeps the stacked order: a million rows need no second copy)."""
        cut = np.searchsorted(at, n_r)
        return np.concatenate([real[at[:cut]], fake[at[cut:] - n_r]])

    rng = check_random_state(random_state)
    proba = np.empty(n_r + n_f)
    fold_of = np.empty(n_r + n_f, int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    for fold, (train, test) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
        fold_of[test] = fold
        if len(train) > max_fit_samples:
            train = np.sort(rng.choice(train, max_fit_samples, replace=False))
        # lbfgs steps on a few hundred parameters and matrix-vector products: BLAS threads
        # cost more in synchronisation than they save (6x slower on a busy machine).
        with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = _c2st_model(random_state).fit(rows(train), y[train])
            for start in range(0, len(test), _PREDICT_ROWS):  # bounded scaler/squares copies
                part = test[start:start + _PREDICT_ROWS]
                proba[part] = model.predict_proba(rows(part))[:, 1]
    auc = auc_interval(proba[:n_r], proba[n_r:], folds=fold_of[:n_r], fake_folds=fold_of[n_r:],
                       alpha=alpha)
    index = pd.Index(ids) if ids is not None else pd.RangeIndex(n_r + n_f)
    return auc, pd.Series(proba, index=index, name="p_synthetic")

