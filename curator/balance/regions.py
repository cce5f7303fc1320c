"""Where samples are far fewer than expected: one-sided angles (side bias), holes in 1-D bins
and 2-D cells of attributes, and sparse embedding regions (low density), each as findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curator.balance.levels import AttributeLevels
from curator.neighbors import NeighborIndex, NeighborsError, as_float32, knn_graph_columns
from curator.results import Finding, ResultMixin
from curator.stats import AnalysisError
from curator.validation import check_scalar

#: A bin (or cell) holding less than this share of its expected count is "far fewer".
SPARSE_RATIO = 0.5
#: Side bias: the sparse side's density is below this share of the dense side's.
SIDE_DENSITY_RATIO = 0.5
#: At most this many 2-D holes become findings (the worst by p-value).
MAX_PAIR_FINDINGS = 5
#: Above this many vectors the low-density search uses an approximate (IVF) index.
EXACT_KNN_MAX = 50_000
#: Robust z-score (median + z * scaled MAD of the log distance) above which a sample's k-th
#: neighbour distance marks it as sparse.
LOW_DENSITY_Z = 3.0


def side_bias(col: pd.Series, alpha: float) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Left/right asymmetry of an angle (``*_deg``/``*_rad``) whose values span both signs.

    Each side's expected share is its extent of the observed range (1/2 for a symmetric
    range), so an attribute designed as [-5, 90] is not called biased for having few
    negative values; the sparse side must also hold under half the dense side's density.
    """
    name = str(col.name)
    if not name.endswith(("_deg", "_rad")):
        return [], []
    v = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return [], []
    lo, hi = float(v.min()), float(v.max())
    if not lo < 0 < hi:
        return [], []
    n_neg, n_pos = int((v < 0).sum()), int((v > 0).sum())
    n = n_neg + n_pos
    p_neg = -lo / (hi - lo)
    share_neg = n_neg / n
    density_neg, density_pos = share_neg / p_neg, (1 - share_neg) / (1 - p_neg)
    ratio = min(density_neg, density_pos) / max(density_neg, density_pos)
    p_value = float(sps.binomtest(n_neg, n, p_neg).pvalue)
    if not (p_value < alpha and ratio < SIDE_DENSITY_RATIO):
        return [], []
    sparse = "< 0" if density_neg < density_pos else "> 0"
    dense = "> 0" if sparse == "< 0" else "< 0"
    shares = {"< 0": share_neg, "> 0": 1 - share_neg}
    expect = "" if abs(p_neg - 0.5) < 0.05 else \
        f"; {p_neg:.0%} expected at < 0 over [{lo:.4g}, {hi:.4g}]"
    message = (f"{name}: {shares[dense]:.0%} of samples at {dense}, {shares[sparse]:.0%} at "
               f"{sparse} (side bias{expect})")
    details = {"n_used": int(v.size), "n_negative": n_neg, "n_positive": n_pos,
               "share_negative": share_neg, "expected_share_negative": p_neg,
               "density_ratio": ratio, "p_value": p_value, "lo": lo, "hi": hi,
               "sparse_side": sparse}
    expected_sparse = n * (p_neg if sparse == "< 0" else 1 - p_neg)
    count_sparse = n_neg if sparse == "< 0" else n_pos
    row = {"attribute": name, "region": f"{sparse} ({lo:.4g}..0)" if sparse == "< 0"
           else f"{sparse} (0..{hi:.4g})", "count": count_sparse, "expected": expected_sparse,
           "ratio": count_sparse / expected_sparse, "p_value": p_value, "kind": "side"}
    return [Finding("side_bias", name, message, "warning", details)], [row]


def _how_many(count: int) -> str:
    return "no samples" if count == 0 else f"only {count:,} sample{'s' if count > 1 else ''}"


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` of each run of consecutive True values."""
    out, start = [], None
    for i, f in enumerate([*flags.tolist(), False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def holes_1d(lv: AttributeLevels, min_expected: float, alpha: float
              ) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Runs of equal-width bins far below the uniform expectation, flanked on both sides by
    populated bins: a hole inside the range, not a tail thinning out (a bell curve's edges)."""
    if not lv.numeric:
        return [], []
    counts = lv.counts()
    n, n_bins = int(counts.sum()), len(counts)
    expected = n / n_bins
    if expected < min_expected:
        return [], []
    p_bins = sps.binom.cdf(counts, n, 1 / n_bins)
    populated = counts >= SPARSE_RATIO * expected
    sparse = (counts < SPARSE_RATIO * expected) & (p_bins < alpha / n_bins)
    findings, rows = [], []
    for first, last in _runs(sparse):
        if not (populated[:first].any() and populated[last + 1:].any()):
            continue
        count = int(counts[first:last + 1].sum())
        width = last - first + 1
        exp = expected * width
        p_value = float(sps.binom.cdf(count, n, width / n_bins))
        lo, hi = lv.bounds(first, last)
        where = f"{lv.name} in {lv.range_text(first, last)}"
        message = (f"{_how_many(count)} with {where} "
                   f"(expected ~{exp:,.0f} of {n:,} if uniform over "
                   f"[{lv.edges[0]:.4g}, {lv.edges[-1]:.4g}])")
        findings.append(Finding(
            "missing_region", lv.name, message, "alert" if count == 0 else "warning",
            {"lo": lo, "hi": hi, "count": count, "expected": exp, "p_value": p_value,
             "n_used": n}))
        rows.append({"attribute": lv.name, "region": lv.range_text(first, last),
                     "count": count, "expected": exp, "ratio": count / exp,
                     "p_value": p_value, "kind": "empty" if count == 0 else "sparse"})
    return findings, rows


def holes_2d(levels: list[AttributeLevels], min_expected: float, alpha: float,
              notes: list[str]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """2-D cells of numeric attribute pairs far below the independence expectation
    ``n * p(a_bin) * p(b_bin)`` (Bonferroni over every cell tested); the worst few."""
    candidates = []
    n_tested = 0
    for a, b in combinations(levels, 2):
        both = a.present & b.present
        n = int(both.sum())
        if n == 0:
            continue
        nb = len(b.names)
        counts = np.bincount(a.codes[both] * nb + b.codes[both],
                             minlength=len(a.names) * nb).reshape(len(a.names), nb)
        p_cell = np.outer(counts.sum(1), counts.sum(0)) / float(n) ** 2
        expected = n * p_cell
        testable = expected >= min_expected
        n_tested += int(testable.sum())
        sparse = testable & (counts < SPARSE_RATIO * expected)
        for i, j in zip(*np.nonzero(sparse), strict=True):
            p_value = float(sps.binom.cdf(counts[i, j], n, p_cell[i, j]))
            candidates.append((p_value, counts[i, j] / expected[i, j], a, b, int(i), int(j),
                               int(counts[i, j]), float(expected[i, j]), n))
    flagged = sorted((c for c in candidates if c[0] < alpha / max(1, n_tested)),
                     key=lambda c: (c[0], c[1], c[2].name, c[3].name, c[4], c[5]))
    if len(flagged) > MAX_PAIR_FINDINGS:
        notes.append(f"{len(flagged)} improbable 2-D cells; the {MAX_PAIR_FINDINGS} worst "
                     "are reported")
    findings, rows = [], []
    for p_value, ratio, a, b, i, j, count, exp, n in flagged[:MAX_PAIR_FINDINGS]:
        subject = f"{a.name}×{b.name}"
        (a_lo, a_hi), (b_lo, b_hi) = a.bounds(i), b.bounds(j)
        region = f"{a.name} in {a.range_text(i)} and {b.name} in {b.range_text(j)}"
        message = (f"{_how_many(count)} with {region} "
                   f"(expected ~{exp:,.0f} of {n:,} if independent)")
        findings.append(Finding(
            "missing_region", subject, message, "alert" if count == 0 else "warning",
            {"lo": a_lo, "hi": a_hi, "lo_b": b_lo, "hi_b": b_hi,
             "ranges": {a.name: [a_lo, a_hi], b.name: [b_lo, b_hi]}, "count": count,
             "expected": exp, "p_value": p_value, "n_used": n}))
        rows.append({"attribute": subject, "region": f"{a.range_text(i)} × {b.range_text(j)}",
                     "count": count, "expected": exp, "ratio": ratio, "p_value": p_value,
                     "kind": "empty" if count == 0 else "sparse"})
    return findings, rows


@dataclass
class LowDensity(ResultMixin):
    """:func:`low_density`'s answer: the sparse samples and their regions (tables), the
    finding, the distance threshold and which search found the neighbours."""

    samples: pd.DataFrame
    regions: pd.DataFrame
    findings: list[Finding]
    threshold: float
    search: str

    def result_fields(self) -> dict[str, Any]:
        return {"n_sparse": len(self.samples), "n_regions": len(self.regions),
                "threshold": self.threshold, "search": self.search}


def low_density(frame: pd.DataFrame, vectors: Any, k: int, label: str, numeric: list[str],
                random_state: int, neighbors: Any = None) -> LowDensity:
    """Samples whose k-th neighbour is unusually far (robust z-score), grouped into regions:
    sparse samples within the threshold distance of each other share a region."""
    try:
        X = as_float32(vectors, what="vectors")
    except NeighborsError as exc:
        raise AnalysisError(str(exc)) from None
    if X.shape[0] != len(frame):
        raise AnalysisError(f"vectors must be an (n_samples, d) matrix aligned with the "
                            f"frame's {len(frame)} rows, got shape {X.shape}")
    check_scalar(k, "k", max_val=len(frame), closed="left", error=AnalysisError,
                 message=f"{{name}} must be smaller than the number of samples ({len(frame)}), "
                 "got {value!r}")
    if neighbors is not None:
        try:
            kth = knn_graph_columns(neighbors, len(X), k)[0][:, -1]
        except NeighborsError as exc:
            raise AnalysisError(str(exc)) from None
        search = "given"
    else:
        index = "Flat" if len(X) <= EXACT_KNN_MAX else "IVF"
        nn = NeighborIndex(n_neighbors=k, index=index, random_state=random_state).fit(X)
        kth = nn.kneighbors()[0][:, -1]
        search = "exact" if index == "Flat" else f"approximate ({nn.factory_})"
    median = float(np.median(kth))
    # On the log scale: k-th neighbour distances are right-skewed (and scale-free there).
    log_kth = np.log(np.maximum(kth, 1e-9 * max(float(kth.max()), 1e-30)))
    log_median = float(np.median(log_kth))
    mad = 1.4826 * float(np.median(np.abs(log_kth - log_median)))
    threshold = float(np.exp(log_median + LOW_DENSITY_Z * max(mad, 1e-6)))
    rows = np.flatnonzero(kth > threshold)
    region = _regions(X[rows], threshold, random_state)
    order = np.lexsort((-kth[rows], region))
    rows, region = rows[order], region[order]
    samples = pd.DataFrame({
        "sample_id": frame["sample_id"].to_numpy()[rows] if "sample_id" in frame else rows,
        "label": frame[label].to_numpy()[rows],
        **({"source": frame["source"].to_numpy()[rows]} if "source" in frame else {}),
        "knn_distance": kth[rows], "region": region})
    described = []
    for r, part in samples.groupby("region", sort=True):
        counts = part["label"].astype(str).value_counts()
        members = rows[region == r]
        medians = {}
        for a in numeric[:6]:
            values = pd.to_numeric(frame[a].iloc[members], errors="coerce").dropna()
            if len(values):
                medians[a] = float(values.median())
        described.append({
            "region": int(r), "size": len(part),
            "labels": ", ".join(f"{lab} {c}" for lab, c in counts.head(3).items()),
            "attribute_medians": ", ".join(f"{a} {m:.4g}" for a, m in medians.items()),
            "max_knn_distance": float(part["knn_distance"].max())})
    regions = pd.DataFrame(described, columns=["region", "size", "labels",
                                               "attribute_medians", "max_knn_distance"])
    findings = []
    if len(rows):
        top = regions.iloc[0]
        message = (f"{len(rows):,} samples ({len(rows) / len(frame):.1%}) in sparse embedding "
                   f"regions (distance to the {k}th neighbour > {threshold:.3g}, median "
                   f"{median:.3g}); {len(regions)} region(s), the largest of {top['size']} "
                   f"sample{'s' if top['size'] > 1 else ''}: {top['labels']}"
                   + (f"; medians {top['attribute_medians']}" if top["attribute_medians"]
                      else ""))
        findings.append(Finding("low_density", "embedding", message, "info", {
            "n": len(rows), "threshold": threshold, "median_distance": median, "k": k,
            "regions": regions.head(5).to_dict(orient="records")}))
    return LowDensity(samples, regions, findings, threshold, search)


def _regions(X: np.ndarray, radius: float, random_state: int) -> np.ndarray:
    """Region id per row: connected components of the within-``radius`` neighbour graph,
    numbered by size (largest first, ties by first row)."""
    m = len(X)
    if m < 2:
        return np.zeros(m, np.int64)
    k = min(10, m - 1)
    dist, ind = NeighborIndex(n_neighbors=k, random_state=random_state).fit(X).kneighbors()
    near = dist <= radius
    graph = coo_matrix((np.ones(int(near.sum())), (np.repeat(np.arange(m), k)[near.ravel()],
                                                   ind[near])), shape=(m, m))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    first = np.full(len(sizes), m)
    np.minimum.at(first, comp, np.arange(m))
    rank = np.empty(len(sizes), np.int64)
    rank[np.lexsort((first, -sizes))] = np.arange(len(sizes))
    return rank[comp]
