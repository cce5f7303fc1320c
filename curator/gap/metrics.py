"""Real vs synthetic distances, pure: Fréchet distance, KID, PRDC (each with an interval)
and per-attribute distances; the classifier two-sample test is in :mod:`.classifier_test`.

Pure functions over float arrays and frames; every nearest-neighbour question goes through
:class:`curator.neighbors.NeighborIndex`, and no function builds an N x M distance matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from curator.neighbors import NeighborIndex, as_float32
from curator.stats import (
    AnalysisError,
    Interval,
    attribute_columns,
    bootstrap_ci,
    equal_width_edges,
)
from curator.validation import check_scalar

#: Blocks of rows whose moments the Fréchet bootstrap resamples (one row per block below).
FD_BLOCKS = 256
#: Entries (queries x candidates x features) of one exact-distance block in PRDC: ~32 MiB.
PRDC_BLOCK = 1 << 22
#: Query x candidate entries of one PRDC search call (16 bytes each: ~16 MiB).
QUERY_BLOCK = 1 << 20
PRDC_METRICS = ("precision", "recall", "density", "coverage")


def _vectors(X: Any, what: str, min_rows: int = 2) -> np.ndarray:
    arr = as_float32(X, what=what)
    if len(arr) < min_rows:
        raise AnalysisError(f"{what} has {len(arr)} rows; this needs at least {min_rows}")
    return arr


def check_pair(real: Any, fake: Any, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``real`` and ``fake`` as float32 matrices of at least ``min_rows`` rows and the same
    number of features (:class:`AnalysisError` otherwise)."""
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
    real, fake = check_pair(real, fake)
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
    check_scalar(n_boot, "n_boot", min_val=1, error=AnalysisError)
    check_scalar(alpha, "alpha", Real, min_val=0, max_val=1, closed="neither", error=AnalysisError)
    real, fake = check_pair(real, fake)
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


def real_baseline_fd(real: np.ndarray, n_fake: int, rng: np.random.RandomState) -> float:
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
    real, fake = check_pair(real, fake)
    check_scalar(n_subsets, "n_subsets", min_val=1, error=AnalysisError)
    check_scalar(subset_size, "subset_size", min_val=2, error=AnalysisError)
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
    real, fake = check_pair(real, fake, min_rows=1)
    check_scalar(k, "k", min_val=1, error=AnalysisError)
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

