"""Real vs synthetic gap: Fréchet distance, KID, PRDC, a classifier two-sample test and
per-attribute distances, and :func:`gap_report`, which sets them side by side per stratum.

Pure functions over float arrays and frames; every nearest-neighbour question goes through
:class:`curator.neighbors.NeighborIndex`, and no function builds an N x M distance matrix.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from curator.neighbors import NeighborIndex, as_float32
from curator.results import AnalysisResult, Finding, new_figure
from curator.stats import (
    AnalysisError,
    Interval,
    attribute_columns,
    bootstrap_ci,
    equal_width_edges,
)

#: Blocks of rows whose moments the Fréchet bootstrap resamples (one row per block below).
FD_BLOCKS = 256
#: Entries (queries x candidates x features) of one exact-distance block in PRDC: ~32 MiB.
PRDC_BLOCK = 1 << 22
#: Query x candidate entries of one PRDC search call (16 bytes each: ~16 MiB).
QUERY_BLOCK = 1 << 20
#: A gap report flags an attribute whose real and synthetic distributions differ this much.
TV_SHIFT = 0.2
KS_SHIFT = 0.2
#: ...and a stratum whose two-sample classifier AUC is surely above this (even with a KID
#: interval that covers 0).
AUC_GAP = 0.55
#: Frame columns shown next to the most obviously synthetic samples, when present.
LINEAGE_COLUMNS = ("gen_recipe", "gen_ablated", "generator")
PRDC_METRICS = ("precision", "recall", "density", "coverage")


def _vectors(X: Any, what: str, min_rows: int = 2) -> np.ndarray:
    arr = as_float32(X, what=what)
    if len(arr) < min_rows:
        raise AnalysisError(f"{what} has {len(arr)} rows; this needs at least {min_rows}")
    return arr


def _pair(real: Any, fake: Any, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    real = _vectors(real, "real", min_rows)
    fake = _vectors(fake, "fake", min_rows)
    if real.shape[1] != fake.shape[1]:
        raise AnalysisError(f"real has {real.shape[1]} features and fake {fake.shape[1]}; "
                            "compare vectors of the same embedding")
    return real, fake


# -- Fréchet distance -----------------------------------------------------------------------
def _trace_sqrt_product(cov1: np.ndarray, cov2: np.ndarray) -> float:
    """``tr sqrt(cov1 cov2)`` for PSD matrices, by symmetric eigendecompositions.

    ``cov1 cov2`` is similar to ``S cov2 S`` with ``S = sqrt(cov1)``, which is symmetric PSD:
    its eigenvalues are real, so no complex part to drop, and two ``eigh`` calls are ~100x
    faster than ``scipy.linalg.sqrtm`` on 128 x 128 (which matters inside a bootstrap).
    """
    w, v = np.linalg.eigh(cov1)
    s = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = s @ cov2 @ s
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(ev, 0, None)).sum())


def _fd(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    diff = mu1 - mu2
    value = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * _trace_sqrt_product(cov1, cov2)
    return max(float(value), 0.0)  # rounding can leave a tiny negative for equal moments


_MOMENT_ROWS = 65_536  # rows per float64 chunk when summing moments


@dataclass(frozen=True)
class _BlockMoments:
    """Row count, sum and sum of outer products of each block of rows (centred on
    ``shift``), so the moments of any multiset of blocks cost O(blocks x d^2), not O(n d^2)."""

    counts: np.ndarray
    sums: np.ndarray
    outer: np.ndarray
    shift: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray, n_blocks: int, rng: np.random.RandomState,
           rows: np.ndarray | None = None) -> _BlockMoments:
        """Moments of ``n_blocks`` random blocks of the rows of ``X`` (or of its ``rows``,
        sorted, without copying them out). Blocks are read ``_MOMENT_ROWS`` rows at a time,
        so a million rows never make a float64 copy of themselves."""
        at = np.arange(len(X)) if rows is None else np.asarray(rows)
        shift = X[at[:4096]].mean(axis=0, dtype=np.float64)
        blocks = np.array_split(rng.permutation(len(at)), min(n_blocks, len(at)))
        d = X.shape[1]
        sums = np.zeros((len(blocks), d))
        outer = np.zeros((len(blocks), d, d))
        for b, block in enumerate(blocks):
            picked = at[np.sort(block)]
            for start in range(0, len(picked), _MOMENT_ROWS):
                z = X[picked[start:start + _MOMENT_ROWS]].astype(np.float64) - shift
                sums[b] += z.sum(axis=0)
                outer[b] += z.T @ z
        return cls(np.array([len(r) for r in blocks], np.float64), sums, outer, shift)

    def moments(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = weights @ self.counts
        mean = (weights @ self.sums) / n
        scatter = np.tensordot(weights, self.outer, axes=1) - n * np.outer(mean, mean)
        return mean + self.shift, scatter / (n - 1)


def frechet_distance(real: Any, fake: Any) -> float:
    """Fréchet distance between Gaussians fitted to two sets of vectors (FID's formula):
    ``|mu_r - mu_f|^2 + tr(C_r + C_f - 2 sqrt(C_r C_f))``, in float64.

    Biased upwards on finite samples (two halves of one set do not score 0);
    :func:`gap_report` prints that noise floor next to it.
    """
    real, fake = _pair(real, fake)
    return _fd_of(real, None, fake, None)


def _fd_of(a: np.ndarray, a_rows: np.ndarray | None, b: np.ndarray,
           b_rows: np.ndarray | None) -> float:
    """Fréchet distance between rows ``a_rows`` of ``a`` and ``b_rows`` of ``b`` (``None``:
    all), from their moments: the rows are read in chunks, never copied out."""
    one = np.ones(1)
    ma = _BlockMoments.of(a, 1, np.random.RandomState(0), rows=a_rows)
    mb = _BlockMoments.of(b, 1, np.random.RandomState(0), rows=b_rows)
    return _fd(*ma.moments(one), *mb.moments(one))


def frechet_interval(real: Any, fake: Any, *, n_boot: int = 100, alpha: float = 0.05,
                     random_state: Any = 0) -> Interval:
    """:func:`frechet_distance` with a bootstrap interval of its sampling spread.

    Rows are dealt at random into at most ``FD_BLOCKS`` blocks per side and whole blocks are
    resampled (exactly the row bootstrap below ``FD_BLOCKS`` rows): block sums of
    exchangeable rows resample like rows to first order, and a replicate costs one weighted
    sum of d x d matrices instead of a pass over the data. FD is biased upwards and a
    resample (with its repeated rows) more so, so plain percentiles would sit above the
    estimate; the interval is the replicates' percentiles shifted by their median's excess
    over the estimate (the bootstrap's own bias), floored at 0.
    """
    if n_boot < 1 or not 0 < alpha < 1:
        raise AnalysisError(f"n_boot must be >= 1 and alpha in (0, 1), got {n_boot!r} and "
                            f"{alpha!r}")
    real, fake = _pair(real, fake)
    rng = check_random_state(random_state)
    # d x d work: BLAS threads only add synchronisation (and stall on a busy machine).
    with threadpool_limits(1, user_api="blas"):
        a = _BlockMoments.of(real, FD_BLOCKS, rng)
        b = _BlockMoments.of(fake, FD_BLOCKS, rng)
    na, nb = len(a.counts), len(b.counts)

    def statistic(weights_a: np.ndarray, weights_b: np.ndarray) -> float:
        return _fd(*a.moments(weights_a), *b.moments(weights_b))

    estimate = statistic(np.ones(na), np.ones(nb))
    with threadpool_limits(1, user_api="blas"):
        boots = np.array([statistic(np.bincount(rng.randint(0, na, na), minlength=na)
                                    .astype(np.float64),
                                    np.bincount(rng.randint(0, nb, nb), minlength=nb)
                                    .astype(np.float64)) for _ in range(n_boot)])
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2]) - (np.median(boots) - estimate)
    return Interval(estimate, max(float(lo), 0.0), max(float(hi), 0.0))


def _real_baseline_fd(real: np.ndarray, n_fake: int, rng: np.random.RandomState) -> float:
    """What sampling noise alone scores: FD between two random halves of the real rows,
    scaled to this comparison's sizes by ``(1/n_real + 1/n_fake) / (1/h1 + 1/h2)``
    (FD's finite-sample bias grows as 1/n per side; the halves have h1 and h2 rows)."""
    if len(real) < 4:
        return float("nan")
    order = rng.permutation(len(real))
    half = len(real) // 2
    h1, h2 = half, len(real) - half
    split = _fd_of(real, np.sort(order[:half]), real, np.sort(order[half:]))
    return split * (1 / len(real) + 1 / n_fake) / (1 / h1 + 1 / h2)


# -- KID ------------------------------------------------------------------------------------
def _mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int, gamma: float,
                   coef0: float) -> float:
    """Unbiased MMD^2 with the polynomial kernel ``(gamma x.y + coef0)^degree``."""
    m, n = len(x), len(y)
    kxx = (gamma * (x @ x.T) + coef0) ** degree
    kyy = (gamma * (y @ y.T) + coef0) ** degree
    kxy = (gamma * (x @ y.T) + coef0) ** degree
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def _mmd2_subsets(real: np.ndarray, fake: np.ndarray, size: int, n_subsets: int,
                  rng: np.random.RandomState, kernel: dict[str, float]) -> np.ndarray:
    out = np.empty(n_subsets)
    for s in range(n_subsets):
        x = real[np.sort(rng.choice(len(real), size, replace=False))].astype(np.float64)
        y = fake[np.sort(rng.choice(len(fake), size, replace=False))].astype(np.float64)
        out[s] = _mmd2_unbiased(x, y, **kernel)
    return out


def kid(real: Any, fake: Any, *, degree: int = 3, gamma: float | None = None,
        coef0: float = 1.0, n_subsets: int = 100, subset_size: int = 1000,
        alpha: float = 0.05, random_state: Any = 0) -> Interval:
    """Kernel Inception Distance (Bińkowski et al. 2018): the unbiased polynomial-kernel
    MMD^2, averaged over ``n_subsets`` seeded subsets of ``subset_size`` rows per side.

    The estimate is unbiased, so it sits around 0 (negative values included) when both sets
    come from one distribution. Interval: mean +- t sd / sqrt(S_eff), with sd the
    spread of the subset values and S_eff = min(n_subsets, n / subset_size) (n = the smaller
    side): overlapping subsets carry about as much information as n / subset_size disjoint
    ones (less than that under the null, so there the interval is conservative). When the
    subsets hold more than half of the rows their spread says nothing, so it is measured on
    half-size subsets and scaled by sqrt(size / n).
    """
    real, fake = _pair(real, fake)
    if n_subsets < 1 or subset_size < 2:
        raise AnalysisError(f"kid needs n_subsets >= 1 and subset_size >= 2, got "
                            f"{n_subsets!r} and {subset_size!r}")
    rng = check_random_state(random_state)
    kernel = {"degree": degree, "coef0": coef0,
              "gamma": 1.0 / real.shape[1] if gamma is None else float(gamma)}
    n_min = min(len(real), len(fake))
    size = min(subset_size, n_min)
    values = _mmd2_subsets(real, fake, size, n_subsets, rng, kernel)
    estimate = float(values.mean())
    if 2 * size <= n_min:
        spread, spread_size, s_eff = values, size, min(n_subsets, n_min / size)
    else:
        spread_size = n_min // 2
        spread = _mmd2_subsets(real, fake, spread_size, max(n_subsets, 20), rng, kernel) \
            if spread_size >= 2 else values[:1]
        s_eff = n_min / max(spread_size, 1)
    if len(spread) < 2:
        return Interval(estimate, float("nan"), float("nan"))
    # t quantile: with few subsets their spread is itself uncertain.
    half = sps.t.ppf(1 - alpha / 2, len(spread) - 1) * spread.std(ddof=1) / math.sqrt(s_eff)
    return Interval(estimate, float(estimate - half), float(estimate + half))


# -- PRDC -----------------------------------------------------------------------------------
def _distances(queries: np.ndarray, base: np.ndarray, ind: np.ndarray) -> np.ndarray:
    """float64 ``|queries[i] - base[ind[i, j]]|`` for given candidate ids, in small blocks."""
    out = np.empty(ind.shape)
    step = max(1, PRDC_BLOCK // max(1, ind.shape[1] * base.shape[1]))
    for s in range(0, len(ind), step):
        diff = base[ind[s:s + step]].astype(np.float64)
        diff -= queries[s:s + step, None, :]
        out[s:s + step] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return out


def _kth_neighbor_radii(X: np.ndarray, k: int, random_state: int) -> np.ndarray:
    """Distance of each row to its k-th nearest other row (duplicates count, self not)."""
    ind = NeighborIndex(k, random_state=random_state).fit(X).kneighbors(
        return_distance=False)
    return _distances(X, X, ind[:, -1:])[:, 0]


def _balls_containing(queries: np.ndarray, centers: np.ndarray, radii: np.ndarray, *,
                      count: bool, k0: int, random_state: int) -> tuple[np.ndarray, int]:
    """For each query, how many centers ``i`` have ``|q - c_i| < r_i`` (``count``), or
    whether any does; and the number of search rounds it took.

    Balls of different radii become balls of one radius ``R = max r`` by lifting each
    center into one extra dimension at height ``sqrt(R^2 - r_i^2)`` (queries at height 0):
    ``|q' - c_i'|^2 = |q - c_i|^2 + R^2 - r_i^2 < R^2`` exactly when ``q`` is inside ball
    ``i``. So the ``K`` nearest lifted centers hold every ball containing ``q`` as soon as
    the K-th lies at ``>= R`` (plus a margin for faiss's float32 search); those queries are
    settled, with candidates checked in float64 against the original radii. The rest are
    asked again with twice the candidates, up to all centers, in blocks of bounded size:
    exact counts in O(block x K) memory, and K only needs to pass the count itself.
    """
    n_q, n_c = len(queries), len(centers)
    result = np.zeros(n_q, np.int64)
    big = float(radii.max()) if n_c else 0.0
    if n_q == 0 or big <= 0:
        return result if count else result.astype(bool), 0
    lift = np.sqrt(np.clip(big**2 - radii**2, 0, None)).astype(np.float32)
    lifted = np.hstack([centers, lift[:, None]])
    lifted_q = np.hstack([queries, np.zeros((n_q, 1), np.float32)])
    scale = float(np.einsum("ij,ij->i", lifted, lifted).max()
                  + np.einsum("ij,ij->i", queries, queries).max())
    settled_sq = big**2 + 1e-5 * scale  # float32 search error is ~1e-6 of the squared norms
    index = NeighborIndex(1, random_state=random_state).fit(lifted)
    pending, K, rounds = np.arange(n_q), min(max(1, k0), n_c), 0
    while pending.size:
        rounds += 1
        step = max(1, QUERY_BLOCK // K)
        unsettled = []
        for s in range(0, len(pending), step):
            rows = pending[s:s + step]
            lifted_dist, ind = index.kneighbors(lifted_q[rows], n_neighbors=K)
            inside = _distances(queries[rows], centers, ind) < radii[ind]
            n_in = inside.sum(axis=1)
            done = (K == n_c) | (lifted_dist[:, -1] ** 2 >= settled_sq)
            if not count:
                done |= n_in > 0
            result[rows[done]] = n_in[done]
            unsettled.append(rows[~done])
        pending, K = np.concatenate(unsettled), min(2 * K, n_c)
    return (result if count else result > 0), rounds


def _subsample(n: int, max_samples: int | None, rng: np.random.RandomState) -> np.ndarray:
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    return np.sort(rng.choice(n, max_samples, replace=False))


def prdc(real: Any, fake: Any, *, k: int = 5, max_samples: int | None = 20_000,
         random_state: int = 0) -> dict[str, Any]:
    """Precision, recall, density and coverage of ``fake`` w.r.t. ``real`` (Naeem et al.
    2020, the reference formulas: strict ``<`` against k-th neighbour radii).

    Each side is first subsampled to ``max_samples`` rows (seeded; ``real_index`` and
    ``fake_index`` say which rows). All searches run on :class:`NeighborIndex`; counting
    the real balls around each fake is exact with memory bounded by blocks (see
    :func:`_balls_containing`). Per-sample indicators come back too, so a bootstrap over
    samples is cheap; such a bootstrap holds the radii fixed (it measures the sampling noise
    of the evaluated side, not of the manifold estimate).

    Returns a dict: ``precision``, ``recall``, ``density``, ``coverage``, ``k``, ``n_real``,
    ``n_fake``, ``real_index``, ``fake_index``, ``real_radius``, ``fake_radius``,
    ``fake_in_real_manifold`` (precision), ``fake_real_ball_count`` (density x k),
    ``real_in_fake_manifold`` (recall), ``real_covered`` (coverage),
    ``real_nearest_fake_distance`` and ``search_rounds``.
    """
    real, fake = _pair(real, fake, min_rows=1)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise AnalysisError(f"k must be a positive integer, got {k!r}")
    rng = check_random_state(random_state)
    real_index = _subsample(len(real), max_samples, rng)
    fake_index = _subsample(len(fake), max_samples, rng)
    if min(len(real_index), len(fake_index)) <= k:
        raise AnalysisError(f"prdc with k={k} needs more than {k} real and fake samples, got "
                            f"{len(real_index)} and {len(fake_index)}; lower k")
    # Centre on the real mean: distances do not change, float32 search error shrinks.
    centre = real[real_index].mean(axis=0, dtype=np.float64)
    r = (real[real_index] - centre).astype(np.float32)
    f = (fake[fake_index] - centre).astype(np.float32)
    seed = int(rng.randint(2**31 - 1))
    real_radius = _kth_neighbor_radii(r, k, seed)
    fake_radius = _kth_neighbor_radii(f, k, seed)
    ball_count, rounds_p = _balls_containing(f, r, real_radius, count=True,
                                             k0=max(4 * k, 32), random_state=seed)
    in_fake, rounds_r = _balls_containing(r, f, fake_radius, count=False,
                                          k0=max(k, 8), random_state=seed)
    nearest = NeighborIndex(1, random_state=seed).fit(f).kneighbors(
        r, n_neighbors=1, return_distance=False)
    nearest_dist = _distances(r, f, nearest)[:, 0]
    covered = nearest_dist < real_radius
    return {
        "precision": float((ball_count > 0).mean()), "recall": float(in_fake.mean()),
        "density": float(ball_count.mean() / k), "coverage": float(covered.mean()),
        "k": int(k), "n_real": len(real_index), "n_fake": len(fake_index),
        "real_index": real_index, "fake_index": fake_index,
        "real_radius": real_radius, "fake_radius": fake_radius,
        "fake_in_real_manifold": ball_count > 0, "fake_real_ball_count": ball_count,
        "real_in_fake_manifold": in_fake, "real_covered": covered,
        "real_nearest_fake_distance": nearest_dist,
        "search_rounds": {"precision_density": rounds_p, "recall": rounds_r},
    }


def prdc_intervals(result: dict[str, Any], *, n_boot: int = 100, alpha: float = 0.05,
                   random_state: Any = 0) -> dict[str, Interval]:
    """Bootstrap intervals of the four PRDC numbers from :func:`prdc`'s per-sample
    indicators (radii held fixed)."""
    k = result["k"]
    samples = {"precision": (result["fake_in_real_manifold"], np.mean),
               "recall": (result["real_in_fake_manifold"], np.mean),
               "density": (result["fake_real_ball_count"], lambda c: c.mean() / k),
               "coverage": (result["real_covered"], np.mean)}
    return {name: bootstrap_ci(fn, np.asarray(values, np.float64), n_boot=n_boot, alpha=alpha,
                               random_state=random_state)
            for name, (values, fn) in samples.items()}


# -- classifier two-sample test -------------------------------------------------------------
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
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha!r}")
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

    real, fake = _pair(real, fake)
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


# -- attributes -----------------------------------------------------------------------------
def attribute_distances(real_frame: pd.DataFrame, fake_frame: pd.DataFrame,
                        attributes: Sequence[str] | None = None, *,
                        n_bins: int = 20) -> pd.DataFrame:
    """Per-attribute distance between the real and the synthetic distribution.

    Numeric attributes: two-sample KS statistic and p-value, and the total variation
    distance over ``n_bins`` shared equal-width bins. Categorical ones: total variation of
    the value shares and a chi-square p-value. Only attributes with values on both sides,
    and not those with one value per side (a column that marks the side, like a flag).
    One row per attribute (largest TV first): attribute, kind, n_real, n_synthetic, ks,
    ks_p, tv, chi2_p.
    """
    if attributes is None:
        numeric, categorical = attribute_columns(pd.concat([real_frame, fake_frame],
                                                           ignore_index=True))
        kinds = {**{c: "numeric" for c in numeric}, **{c: "categorical" for c in categorical}}
    else:
        kinds = {}
        for col in attributes:
            if col not in real_frame.columns and col not in fake_frame.columns:
                raise AnalysisError(f"attribute {col!r} is in neither frame; columns are "
                                    f"{sorted(set(real_frame.columns) | set(fake_frame.columns))}")
            col_dtype = (real_frame[col] if col in real_frame.columns else fake_frame[col]).dtype
            numeric_col = pd.api.types.is_numeric_dtype(col_dtype) \
                and not pd.api.types.is_bool_dtype(col_dtype)
            kinds[col] = "numeric" if numeric_col else "categorical"
    rows = []
    for col, kind in kinds.items():
        r = real_frame[col].dropna() if col in real_frame.columns else pd.Series(dtype=float)
        f = fake_frame[col].dropna() if col in fake_frame.columns else pd.Series(dtype=float)
        if r.empty or f.empty:
            continue
        if r.nunique() == 1 and f.nunique() == 1:  # marks the side (source, a flag): no
            continue                                # distribution to compare
        row = {"attribute": col, "kind": kind, "n_real": len(r), "n_synthetic": len(f),
               "ks": np.nan, "ks_p": np.nan, "tv": np.nan, "chi2_p": np.nan}
        if kind == "numeric":
            rv, fv = r.to_numpy(np.float64), f.to_numpy(np.float64)
            ks = sps.ks_2samp(rv, fv)
            edges = equal_width_edges(np.concatenate([rv, fv]), n_bins)
            p = np.histogram(rv, edges)[0] / len(rv)
            q = np.histogram(fv, edges)[0] / len(fv)
            row.update(ks=float(ks.statistic), ks_p=float(ks.pvalue),
                       tv=float(0.5 * np.abs(p - q).sum()))
        else:
            counts = pd.concat([r.astype(str).value_counts(), f.astype(str).value_counts()],
                               axis=1).fillna(0).to_numpy(np.float64)
            shares = counts / counts.sum(axis=0)
            row["tv"] = float(0.5 * np.abs(shares[:, 0] - shares[:, 1]).sum())
            if len(counts) > 1:
                row["chi2_p"] = float(sps.chi2_contingency(counts.T)[1])
        rows.append(row)
    columns = ["attribute", "kind", "n_real", "n_synthetic", "ks", "ks_p", "tv", "chi2_p"]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["tv", "attribute"], ascending=[False, True], ignore_index=True)


# -- the report -----------------------------------------------------------------------------
GAP_COLUMNS = (["by", "stratum", "n_real", "n_synthetic", "fd", "fd_lo", "fd_hi",
                "fd_real_baseline", "kid", "kid_lo", "kid_hi"]
               + [f"{m}{s}" for m in PRDC_METRICS for s in ("", "_lo", "_hi")]
               + ["c2st_auc", "c2st_auc_lo", "c2st_auc_hi", "reason"])


def _stratum_gap(real: np.ndarray, fake: np.ndarray, *, k: int, n_boot: int,
                 max_samples: int | None, kid_subsets: int, kid_subset_size: int,
                 random_state: int) -> tuple[dict[str, Any], pd.Series]:
    """Every gap number of one stratum, and the out-of-fold P(synthetic) of its rows."""
    rng = np.random.RandomState(random_state)
    row: dict[str, Any] = {}
    row.update(frechet_interval(real, fake, n_boot=n_boot, random_state=rng).as_dict("fd"))
    row["fd_real_baseline"] = _real_baseline_fd(real, len(fake), rng)
    # Beyond ~2 n / subset_size subsets, more add no precision (see kid): cap them.
    n_min = min(len(real), len(fake))
    subsets = min(kid_subsets, max(10, math.ceil(2 * n_min / min(kid_subset_size, n_min))))
    row.update(kid(real, fake, n_subsets=subsets, subset_size=kid_subset_size,
                   random_state=rng).as_dict("kid"))
    pr = prdc(real, fake, k=k, max_samples=max_samples, random_state=random_state)
    for name, interval in prdc_intervals(pr, n_boot=n_boot, random_state=rng).items():
        row.update(interval.as_dict(name))
    auc, proba = classifier_two_sample_test(real, fake, random_state=random_state)
    row.update(auc.as_dict("c2st_auc"))
    return row, proba


def _groups(n: int, labels: np.ndarray | None, strata: pd.Series | None
            ) -> list[tuple[str, str, np.ndarray]]:
    groups = [("all", "all", np.ones(n, bool))]
    if labels is not None:
        present = pd.Series(labels).dropna()
        for value in sorted(present.unique(), key=_natural_key):
            groups.append(("label", f"label {value}", np.asarray(labels == value)))
    if strata is not None:
        keys = strata.astype(object)
        for key in sorted(keys.dropna().unique(), key=_natural_key):
            groups.append(("stratum", str(key), (keys == key).to_numpy()))
    return groups


def _natural_key(value: Any) -> tuple[int, Any]:
    """Numbers in numeric order, then everything else as text (``2 < 10``, ``"a" < "b"``)."""
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value))


def _column(frame: pd.DataFrame | None, name: str, n: int) -> np.ndarray | None:
    if frame is None or name not in frame.columns:
        return None
    if len(frame) != n:
        raise AnalysisError(f"frame has {len(frame)} rows for {n} vectors; pass the rows "
                            "the vectors belong to, in the same order")
    return frame[name].to_numpy()


def _vectors_and_flags(vectors: Any, is_synthetic: Any, who: str
                       ) -> tuple[np.ndarray, np.ndarray]:
    X = as_float32(vectors, what="vectors")
    synthetic = np.asarray(is_synthetic)
    if synthetic.shape != (len(X),):
        raise AnalysisError(f"is_synthetic has shape {synthetic.shape}; expected one flag per "
                            f"vector ({len(X)})")
    synthetic = synthetic.astype(bool)
    if synthetic.all() or not synthetic.any():
        raise AnalysisError(f"{who} needs both real and synthetic samples; is_synthetic "
                            f"marks {int(synthetic.sum())} of {len(X)} as synthetic")
    return X, synthetic


def _score_groups(X: np.ndarray, groups: list[tuple[str, str, np.ndarray, np.ndarray]], *,
                  k: int, n_boot: int, max_samples: int | None, min_stratum: int,
                  kid_subsets: int, kid_subset_size: int, random_state: int
                  ) -> tuple[pd.DataFrame, np.ndarray | None]:
    """One :data:`GAP_COLUMNS` row per ``(by, name, real_mask, fake_mask)`` group (too small
    ones with a reason instead), and the first group's held-out P(synthetic)."""
    if n_boot < 1 or min_stratum < 2:
        raise AnalysisError(f"n_boot must be >= 1 and min_stratum >= 2, got {n_boot!r} and "
                            f"{min_stratum!r}")
    min_rows = max(min_stratum, k + 1)
    rows, first_proba = [], None
    for i, (by, name, real_mask, fake_mask) in enumerate(groups):
        real, fake = X[real_mask], X[fake_mask]
        row = {"by": by, "stratum": name, "n_real": len(real), "n_synthetic": len(fake),
               "reason": None}
        if min(len(real), len(fake)) < min_rows:
            row["reason"] = (f"fewer than {min_rows} real or synthetic samples "
                             f"({len(real)} real, {len(fake)} synthetic)")
        else:
            scores, proba = _stratum_gap(real, fake, k=k, n_boot=n_boot,
                                         max_samples=max_samples, kid_subsets=kid_subsets,
                                         kid_subset_size=kid_subset_size,
                                         random_state=random_state)
            row.update(scores)
            if i == 0:
                first_proba = proba.to_numpy()
        rows.append(row)
    return pd.DataFrame(rows, columns=GAP_COLUMNS), first_proba


def gap_report(vectors: Any, is_synthetic: Any, *, ids: Sequence[Any] | None = None,
               labels: Sequence[Any] | None = None, strata: pd.Series | None = None,
               frame: pd.DataFrame | None = None, k: int = 5, n_boot: int = 100,
               max_samples: int | None = 20_000, min_stratum: int = 20,
               kid_subsets: int = 100, kid_subset_size: int = 1000, n_top: int = 20,
               random_state: int = 0) -> AnalysisResult:
    """How far the synthetic samples are from the real ones, overall and per label/stratum.

    Parameters
    ----------
    vectors, is_synthetic
        One embedding row per sample and whether it is synthetic.
    ids, labels, strata, frame
        Sample ids, labels, stratum keys (a Series, e.g. from :mod:`curator.strata`) and the
        samples' attribute frame, all aligned with ``vectors``; ids and labels default to
        the frame's ``sample_id`` and ``label`` columns.
    k, max_samples
        PRDC's neighbourhood size and per-side subsample cap.
    n_boot
        Bootstrap replicates of every interval.
    min_stratum
        Strata with fewer real or synthetic samples are listed with a reason, not scored.

    Tables: ``gap`` (one row for all samples, one per label and per stratum),
    ``obviously_synthetic`` (the synthetic samples the two-sample classifier is surest of)
    and ``attribute_distances`` (with ``frame``). Findings: ``gap``, ``no_gap``,
    ``attribute_shift``.
    """
    X, synthetic = _vectors_and_flags(vectors, is_synthetic, "gap_report")
    n = len(X)
    ids_arr = np.asarray(ids) if ids is not None else _column(frame, "sample_id", n)
    if ids_arr is None:
        ids_arr = np.arange(n)
    labels_arr = np.asarray(labels, dtype=object) if labels is not None \
        else _column(frame, "label", n)
    for name, arr in (("ids", ids_arr), ("labels", labels_arr), ("strata", strata)):
        if arr is not None and len(arr) != n:
            raise AnalysisError(f"{name} has {len(arr)} entries for {n} vectors")
    if strata is not None:
        strata = pd.Series(np.asarray(strata, dtype=object))
    groups = [(by, name, mask & ~synthetic, mask & synthetic)
              for by, name, mask in _groups(n, labels_arr, strata)]
    gap, all_proba = _score_groups(X, groups, k=k, n_boot=n_boot, max_samples=max_samples,
                                   min_stratum=min_stratum, kid_subsets=kid_subsets,
                                   kid_subset_size=kid_subset_size, random_state=random_state)
    overall = gap.iloc[0]

    tables = {"gap": gap}
    fake_rows = np.flatnonzero(synthetic)
    if all_proba is not None:
        p_fake = all_proba[(~synthetic).sum():]  # the C2ST lists real rows first
        top = np.argsort(-p_fake, kind="stable")[:n_top]
        obvious = pd.DataFrame({"sample_id": ids_arr[fake_rows[top]],
                                "label": labels_arr[fake_rows[top]] if labels_arr is not None
                                else None, "p_synthetic": p_fake[top]})
        for col in LINEAGE_COLUMNS:
            if frame is not None and col in frame.columns:
                obvious[col] = frame[col].to_numpy()[fake_rows[top]]
        tables["obviously_synthetic"] = obvious
    attrs = None
    if frame is not None:
        # The attribute columns of the whole frame are those of real and synthetic together;
        # project first, so only they are copied into the two sides.
        numeric, categorical = attribute_columns(frame)
        cols = numeric + categorical
        attrs = attribute_distances(frame.loc[~synthetic, cols], frame.loc[synthetic, cols])
        tables["attribute_distances"] = attrs

    summary = {"n_real": int(overall["n_real"]), "n_synthetic": int(overall["n_synthetic"])}
    if pd.isna(overall["reason"]):
        summary.update({c: float(overall[c]) for c in GAP_COLUMNS[4:-1]})
    findings = _gap_findings(gap) + _attribute_findings(attrs)
    summary["n_strata_with_gap"] = sum(f.kind == "gap" and f.subject != "all" for f in findings)
    notes = _method_notes(k, max_samples, kid_subsets, kid_subset_size)
    params = {"k": k, "n_boot": n_boot, "max_samples": max_samples, "min_stratum": min_stratum,
              "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
              "random_state": random_state, "n_vectors": n, "dim": X.shape[1]}
    return AnalysisResult(title="Real vs synthetic gap", summary=summary, tables=tables,
                          findings=findings, params=params, notes=notes,
                          plot_fns=[plot_kid, plot_c2st, plot_prdc])


def _method_notes(k: int, max_samples: int | None, kid_subsets: int,
                  kid_subset_size: int) -> list[str]:
    return [
        "fd_real_baseline: FD between two random halves of the real rows, scaled to the "
        "stratum's sample sizes (FD's bias grows as 1/n): what sampling noise alone scores; "
        "an FD near it is no evidence of a gap. FD intervals resample blocks of rows.",
        "KID: unbiased MMD^2 (polynomial kernel, degree 3) averaged over up to "
        f"{kid_subsets} subsets (no more than 2 n / subset size) of up to {kid_subset_size} "
        "rows per side; 0 = same distribution.",
        f"PRDC (k={k}) on at most {max_samples} rows per side; its intervals resample samples "
        "with the neighbourhood radii held fixed.",
        "C2ST: mean held-out AUC over 5 folds of logistic regression on standardized vectors "
        "and their squares; 0.5 = indistinguishable.",
    ]


def ablation_gaps(vectors: Any, is_synthetic: Any, variants: Sequence[Any], *,
                  reference: str = "none", k: int = 5, n_boot: int = 100,
                  max_samples: int | None = 20_000, min_stratum: int = 20,
                  kid_subsets: int = 100, kid_subset_size: int = 1000,
                  random_state: int = 0) -> AnalysisResult:
    """The real vs synthetic gap of each ablation variant: which randomizer matters.

    ``variants`` names, for each synthetic row, the randomizer held at its default when it
    was generated (its ``gen_ablated``), ``reference`` (default ``"none"``) for the rows
    generated with every randomizer on; real rows' entries are ignored. Each variant's
    synthetic rows are compared with all real rows, as :func:`gap_report` compares a stratum.

    Table ``ablation_gap`` (the reference first, then by KID, largest first, with
    ``kid_vs_reference``). Findings: ``randomizer_matters`` for each variant whose KID is
    surely above the reference's (holding that randomizer fixed widens the gap).
    """
    X, synthetic = _vectors_and_flags(vectors, is_synthetic, "ablation_gaps")
    variant = np.asarray(variants, dtype=object)
    if variant.shape != (len(X),):
        raise AnalysisError(f"variants has shape {variant.shape}; expected one entry per "
                            f"vector ({len(X)})")
    names = sorted({str(v) for v in variant[synthetic]}, key=lambda v: (v != reference, v))
    as_text = variant.astype(str)
    groups = [("ablated", name, ~synthetic, synthetic & (as_text == name)) for name in names]
    table, _ = _score_groups(X, groups, k=k, n_boot=n_boot, max_samples=max_samples,
                             min_stratum=min_stratum, kid_subsets=kid_subsets,
                             kid_subset_size=kid_subset_size, random_state=random_state)
    ref = table[(table["stratum"] == reference) & table["reason"].isna()]
    table["kid_vs_reference"] = table["kid"] - (ref["kid"].iloc[0] if len(ref) else np.nan)
    # The reference first, then the widest gap first; unscored variants last.
    key = np.where(table["stratum"] == reference, -np.inf, -table["kid"].fillna(-np.inf))
    table = table.iloc[np.lexsort((table["stratum"], key))].reset_index(drop=True)
    findings = []
    if len(ref):
        r = ref.iloc[0]
        for _, row in table[table["reason"].isna() & (table["stratum"] != reference)].iterrows():
            if row["kid_lo"] > r["kid_hi"]:
                findings.append(Finding(
                    "randomizer_matters", row["stratum"],
                    f"holding {row['stratum']} at its default widens the gap: KID "
                    f"{row['kid']:.3g} [{row['kid_lo']:.3g}, {row['kid_hi']:.3g}] vs "
                    f"{r['kid']:.3g} [{r['kid_lo']:.3g}, {r['kid_hi']:.3g}] with every "
                    f"randomizer on (C2ST AUC {row['c2st_auc']:.2f} vs {r['c2st_auc']:.2f})",
                    "alert" if not findings else "warning",
                    {c: row[c] for c in GAP_COLUMNS[2:-1]}))
    scored = table[table["reason"].isna() & (table["stratum"] != reference)]
    summary = {"reference": reference, "n_variants": int((table["stratum"] != reference).sum()),
               "reference_kid": float(ref["kid"].iloc[0]) if len(ref) else float("nan"),
               "most_important": scored["stratum"].iloc[0] if len(scored) else None,
               "n_that_matter": len(findings)}
    notes = _method_notes(k, max_samples, kid_subsets, kid_subset_size)
    if not len(ref):
        notes.insert(0, f"no scored reference variant {reference!r}: nothing to compare with")
    params = {"reference": reference, "k": k, "n_boot": n_boot, "max_samples": max_samples,
              "min_stratum": min_stratum, "kid_subsets": kid_subsets,
              "kid_subset_size": kid_subset_size, "random_state": random_state}
    return AnalysisResult(title="Ablation gaps", summary=summary,
                          tables={"ablation_gap": table}, findings=findings, params=params,
                          notes=notes, plot_fns=[plot_kid, plot_c2st])


def _gap_findings(gap: pd.DataFrame) -> list[Finding]:
    scored = gap[gap["reason"].isna()]
    if scored.empty or not pd.isna(gap.iloc[0]["reason"]):
        return []
    overall = gap.iloc[0]
    found: list[Finding] = []
    for _, row in scored.iterrows():
        kid_gap = row["kid_lo"] > 0
        auc_gap = row["c2st_auc_lo"] > AUC_GAP
        worse = row["by"] != "all" and row["kid_lo"] > overall["kid_hi"]
        if not (kid_gap or auc_gap or worse):
            continue
        severity = "alert" if worse or row["c2st_auc"] >= 0.9 else "warning"
        extra = f"; {row['kid'] / max(overall['kid'], 1e-12):.1f}x the overall KID" \
            if worse and overall["kid"] > 0 else ""
        where = "overall" if row["by"] == "all" else row["stratum"]
        found.append(Finding(
            "gap", row["stratum"],
            f"{where}: synthetic is far from real (KID {row['kid']:.3g} "
            f"[{row['kid_lo']:.3g}, {row['kid_hi']:.3g}], C2ST AUC {row['c2st_auc']:.2f}, "
            f"precision {row['precision']:.2f}, coverage {row['coverage']:.2f}{extra})",
            severity, {c: row[c] for c in GAP_COLUMNS[2:-1]}))
    found.sort(key=lambda f: (f.subject != "all", -f.details["kid"]))
    # "Not above" rather than "covers": below-zero KID and below-0.5 AUC are noise too (KID
    # runs negative when both sides hold the same label mix by design, not by chance).
    if overall["kid_lo"] <= 0 and overall["c2st_auc_lo"] <= 0.5:
        found.insert(0, Finding(
            "no_gap", "all",
            f"synthetic and real are indistinguishable here: KID {overall['kid']:.3g} "
            f"[{overall['kid_lo']:.3g}, {overall['kid_hi']:.3g}] is not above 0 and C2ST AUC "
            f"{overall['c2st_auc']:.2f} [{overall['c2st_auc_lo']:.2f}, "
            f"{overall['c2st_auc_hi']:.2f}] not above 0.5", "info",
            {c: overall[c] for c in GAP_COLUMNS[2:-1]}))
    return found


def _attribute_findings(attrs: pd.DataFrame | None) -> list[Finding]:
    if attrs is None:
        return []
    found = []
    for _, row in attrs.iterrows():
        ks_shift = row["ks"] >= KS_SHIFT and row["ks_p"] < 1e-3
        if row["tv"] >= TV_SHIFT or ks_shift:
            stat = f"KS {row['ks']:.2f} (p {row['ks_p']:.1g}), " if row["kind"] == "numeric" \
                else ""
            found.append(Finding(
                "attribute_shift", row["attribute"],
                f"{row['attribute']} is distributed differently in synthetic samples "
                f"({stat}total variation {row['tv']:.2f})",
                "warning", {c: row[c] for c in attrs.columns}))
    return found


# -- figures --------------------------------------------------------------------------------
def _scored(result: AnalysisResult) -> pd.DataFrame:
    gap = result.to_frame()
    return gap[gap["reason"].isna()].reset_index(drop=True)


def _interval_bars(result: AnalysisResult, metric: str, title: str,
                   reference: float) -> Any:
    gap = _scored(result)
    fig, ax = new_figure(max(4.0, 0.55 * len(gap) + 2), 3.2)
    x = np.arange(len(gap))
    est = gap[metric].to_numpy(float)
    err = np.vstack([np.clip(est - gap[f"{metric}_lo"], 0, None),
                     np.clip(gap[f"{metric}_hi"] - est, 0, None)])
    ax.bar(x, est - reference, bottom=reference, yerr=err, capsize=3,
           color=["#4c72b0" if b == "all" else "#8aa6cf" for b in gap["by"]])
    ax.axhline(reference, color="black", linewidth=0.8)
    ax.set_xticks(x, gap["stratum"], rotation=45, ha="right", fontsize=8)
    ax.set_title(title)
    return fig


def plot_kid(result: AnalysisResult) -> Any:
    """KID per stratum with its interval (0 = same distribution)."""
    return _interval_bars(result, "kid", "KID per stratum (0 = same distribution)", 0.0)


def plot_c2st(result: AnalysisResult) -> Any:
    """Two-sample classifier AUC per stratum with its interval (0.5 = indistinguishable)."""
    return _interval_bars(result, "c2st_auc", "C2ST AUC per stratum (0.5 = indistinguishable)",
                          0.5)


def plot_prdc(result: AnalysisResult) -> Any:
    """Precision, recall, density and coverage per stratum, with intervals."""
    gap = _scored(result)
    fig, ax = new_figure(max(5.0, 1.1 * len(gap) + 2), 3.2)
    width = 0.2
    for i, metric in enumerate(PRDC_METRICS):
        est = gap[metric].to_numpy(float)
        err = np.vstack([np.clip(est - gap[f"{metric}_lo"], 0, None),
                         np.clip(gap[f"{metric}_hi"] - est, 0, None)])
        ax.bar(np.arange(len(gap)) + (i - 1.5) * width, est, width, yerr=err, capsize=2,
               label=metric)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(gap)), gap["stratum"], rotation=45, ha="right", fontsize=8)
    ax.legend(fontsize=7, ncol=4)
    ax.set_title("Precision / recall / density / coverage of synthetic w.r.t. real")
    return fig

