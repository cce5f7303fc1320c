"""Balance report: how samples spread over labels, sources, splits and attribute ranges.

Owns the minority-class, side-bias, missing-region and low-density findings, and the
input checks and attribute binning the report analyses share (:func:`attribute_levels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curator.neighbors import NeighborIndex, NeighborsError, as_float32, knn_graph_columns
from curator.results import AnalysisResult, Finding, new_figure
from curator.stats import (
    AnalysisError,
    attribute_columns,
    bin_index,
    bin_labels,
    check_frame,
    check_param,
    equal_width_edges,
    is_int,
    label_codes,
)

#: A bin (or cell) holding less than this share of its expected count is "far fewer".
SPARSE_RATIO = 0.5
#: A label below this share of the median label count is a minority class.
MINORITY_RATIO = 0.5
#: Side bias: the sparse side's density is below this share of the dense side's.
SIDE_DENSITY_RATIO = 0.5
#: Pairwise (2-D) hole search runs over at most this many numeric attributes.
MAX_PAIR_ATTRIBUTES = 12
#: At most this many 2-D holes become findings (the worst by p-value).
MAX_PAIR_FINDINGS = 5
#: Above this many vectors the low-density search uses an approximate (IVF) index.
EXACT_KNN_MAX = 50_000
#: Robust z-score (median + z * scaled MAD of the log distance) above which a sample's k-th
#: neighbour distance marks it as sparse.
LOW_DENSITY_Z = 3.0
#: Histogram panels drawn for flagged attributes, and labels shown in the count chart.
MAX_PANELS = 6
MAX_BARS = 30


# -- attribute resolution and binning shared by the report analyses ------------------------
def resolve_attributes(frame: pd.DataFrame, label: str, attributes: Sequence[str] | str | None,
                       notes: list[str]) -> tuple[list[str], list[str]]:
    """``(numeric, categorical)`` attributes to analyse: the given ones (checked), or every
    attribute column of ``frame`` (:func:`curator.stats.attribute_columns`)."""
    if attributes is None:
        return attribute_columns(frame, exclude=(label,))
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    check_frame(frame, names)
    if label in names:
        raise AnalysisError(f"attribute {label!r} is the label column; pass the other "
                            "attributes only")
    numeric: list[str] = []
    categorical: list[str] = []
    for name in names:
        col = frame[name]
        if col.notna().sum() == 0:
            notes.append(f"{name}: no values, skipped")
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            numeric.append(name)
        else:
            categorical.append(name)
    return numeric, categorical


@dataclass(frozen=True)
class AttributeLevels:
    """One attribute's rows as level codes: equal-width bins for numbers, sorted values for
    the rest; ``codes`` is ``-1`` where the attribute is missing."""

    name: str
    numeric: bool
    codes: np.ndarray
    names: list[str]
    edges: np.ndarray | None = None
    discrete: bool = False  # a number with few distinct values, levelled by value

    @property
    def kind(self) -> str:
        return "numeric" if self.numeric else "discrete" if self.discrete else "categorical"

    @property
    def present(self) -> np.ndarray:
        return self.codes >= 0

    def counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        c = self.codes if rows is None else self.codes[rows]
        return np.bincount(c[c >= 0], minlength=len(self.names))

    def bounds(self, first: int, last: int | None = None) -> tuple[float, float]:
        """``(lo, hi)`` of bins ``first..last`` (numeric attributes only)."""
        assert self.edges is not None
        return float(self.edges[first]), float(self.edges[(first if last is None else last)
                                                          + 1])

    def range_text(self, first: int, last: int | None = None) -> str:
        """``"[20,40)"`` for bins ``first..last`` (closed on the right for the last bin)."""
        if self.edges is None:
            return self.names[first]
        lo, hi = self.bounds(first, last)
        closing = "]" if (first if last is None else last) == len(self.names) - 1 else ")"
        return f"[{lo:.4g},{hi:.4g}{closing}"


def attribute_levels(col: pd.Series, n_bins: int, numeric: bool | None = None
                     ) -> AttributeLevels:
    """Level codes of ``col``: numbers in ``n_bins`` equal-width bins over their observed
    range, anything else by value."""
    if numeric is None:
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric:
        v = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
        edges = equal_width_edges(v, n_bins)
        return AttributeLevels(str(col.name), True, bin_index(v, edges), bin_labels(edges),
                               edges)
    codes, names = label_codes(col)
    return AttributeLevels(str(col.name), False, codes, names)


def value_levels(col: pd.Series) -> AttributeLevels:
    """A numeric column levelled by its distinct values (in numeric order)."""
    v = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
    finite = np.isfinite(v)
    values, found = np.unique(v[finite], return_inverse=True)
    codes = np.full(len(v), -1, np.int64)
    codes[finite] = found
    return AttributeLevels(str(col.name), False, codes, [f"{x:.4g}" for x in values],
                           discrete=True)


def count_table(col: pd.Series, name: str) -> pd.DataFrame:
    """``name, count, share`` per value of ``col`` (most frequent first, ties by value)."""
    counts = col.dropna().astype(str).value_counts()
    table = pd.DataFrame({name: counts.index.astype(str), "count": counts.to_numpy(np.int64)})
    table = table.sort_values(["count", name], ascending=[False, True], ignore_index=True)
    table["share"] = table["count"] / max(1, int(table["count"].sum()))
    return table


# -- the report -----------------------------------------------------------------------------
def balance_report(frame: pd.DataFrame, *, label: str = "label",
                   attributes: Sequence[str] | None = None, n_bins: int = 6,
                   vectors: np.ndarray | None = None, k: int = 10, min_expected: float = 5.0,
                   alpha: float = 1e-3, random_state: int = 0,
                   neighbors: Any = None) -> AnalysisResult:
    """Counts and shares per label, source, split and attribute bin, with findings.

    Parameters
    ----------
    frame
        One row per sample: ``label``, optionally ``source``/``split``, attribute columns
        (NaN where a sample lacks one; each attribute is analysed over the rows that have it).
    attributes
        Attribute columns to analyse (default: every attribute column of ``frame``).
    n_bins
        Equal-width bins per numeric attribute.
    vectors
        Optional embedding (n x d, aligned with ``frame``) for the low-density search.
    neighbors
        Optional precomputed self-excluded k-NN graph ``(dist, ind)`` of ``vectors`` with at
        least ``k`` columns (shared with other analyses so the search runs once).
    k
        Neighbour whose distance measures local density.
    min_expected
        A bin or 2-D cell is tested only when its expected count is at least this.
    alpha
        Significance of the side-bias and missing-region tests (Bonferroni-corrected over
        the bins or cells tested).

    Returns
    -------
    AnalysisResult
        Findings ``minority_class`` (subject: label), ``side_bias`` and ``missing_region``
        (subject: attribute or ``"a×b"``), ``low_density`` (subject: ``"embedding"``).
    """
    check_frame(frame, [label])
    check_param("n_bins", n_bins, is_int(n_bins) and n_bins >= 2, "an integer >= 2")
    check_param("k", k, is_int(k) and k >= 1, "a positive integer")
    check_param("min_expected", min_expected, min_expected > 0, "> 0")
    check_param("alpha", alpha, 0 < alpha < 1, "in (0, 1)")
    notes: list[str] = []
    numeric, categorical = resolve_attributes(frame, label, attributes, notes)
    findings: list[Finding] = []
    tables: dict[str, pd.DataFrame] = {}

    labels = count_table(frame[label], "label")
    if labels.empty:
        raise AnalysisError(f"label column {label!r} has no values")
    tables["labels"] = labels
    for col, name in (("source", "sources"), ("split", "splits")):
        if col in frame.columns:
            tables[name] = count_table(frame[col], col)
    if "source" in frame.columns:
        cross = pd.crosstab(frame[label].astype("string"), frame["source"].astype("string"))
        tables["label_by_source"] = cross.rename_axis(index="label", columns=None).reset_index()
    minority = _minority_findings(labels)
    findings += minority
    if frame[label].isna().any():
        notes.append(f"{int(frame[label].isna().sum())} row(s) without a {label} are left out "
                     "of the label counts")

    # A number with at most n_bins distinct values (a count, a step setting) is levelled by
    # value: equal-width bins would leave empty bins between its values, not holes.
    levels = {name: value_levels(frame[name]) if frame[name].nunique() <= n_bins
              else attribute_levels(frame[name], n_bins, numeric=True) for name in numeric}
    levels.update({name: attribute_levels(frame[name], n_bins, numeric=False)
                   for name in categorical})
    tables["attribute_bins"] = _attribute_bins(levels)
    regions: list[dict[str, Any]] = []
    for name in numeric:
        found, rows = _side_bias(frame[name], alpha)
        findings += found
        regions += rows
    for name in numeric:
        found, rows = _holes_1d(levels[name], min_expected, alpha)
        findings += found
        regions += rows
    binned = [name for name in numeric if levels[name].numeric]
    pair_attrs = binned[:MAX_PAIR_ATTRIBUTES]
    if len(binned) > MAX_PAIR_ATTRIBUTES:
        notes.append(f"2-D holes searched among the first {MAX_PAIR_ATTRIBUTES} of "
                     f"{len(binned)} numeric attributes")
    found, rows = _holes_2d([levels[a] for a in pair_attrs], min_expected, alpha, notes)
    findings += found
    regions += rows
    tables["minority_regions"] = pd.DataFrame(
        regions, columns=["attribute", "region", "count", "expected", "ratio", "p_value",
                          "kind"])

    summary: dict[str, Any] = {
        "n_samples": len(frame),
        "n_labels": len(labels),
        "imbalance_ratio": float(labels["count"].max() / labels["count"].min()),
        "minority_labels": [f.subject for f in minority],
        "n_attributes": len(levels),
        "n_side_biased": sum(f.kind == "side_bias" for f in findings),
        "n_missing_regions": sum(f.kind == "missing_region" for f in findings),
    }
    if vectors is not None:
        density = _low_density(frame, vectors, k, label, numeric, random_state, neighbors)
        tables["low_density"] = density.samples
        tables["low_density_regions"] = density.regions
        findings += density.findings
        summary["n_low_density"] = len(density.samples)
        summary["knn_threshold"] = density.threshold
        notes.append(f"low density: distance to the {k}th neighbour above exp(median + "
                     f"{LOW_DENSITY_Z:g} x scaled MAD) of its log ({density.threshold:.4g}); "
                     f"{density.search} search")

    flagged = list(dict.fromkeys(
        part for f in findings if f.kind in ("side_bias", "missing_region")
        for part in f.subject.split("×")))
    plot_fns = [_plot_labels]
    if flagged:
        plot_fns.append(lambda result: _plot_attribute_bins(result, flagged))
    return AnalysisResult(
        title="Balance", summary=summary, tables=tables, findings=findings,
        params={"label": label, "attributes": list(levels), "n_bins": n_bins, "k": k,
                "min_expected": min_expected, "alpha": alpha, "random_state": random_state,
                "vectors": None if vectors is None else list(np.shape(vectors))},
        notes=notes, plot_fns=plot_fns)


def _minority_findings(labels: pd.DataFrame) -> list[Finding]:
    median = float(labels["count"].median())
    out = []
    for row in labels.itertuples(index=False):
        ratio = row.count / median
        if ratio < MINORITY_RATIO:
            out.append(Finding(
                "minority_class", str(row.label),
                f"label {row.label!r}: {row.count:,} samples ({row.share:.1%}), "
                f"{ratio:.2g}x the median label count ({median:,.0f})",
                "alert" if ratio < MINORITY_RATIO / 5 else "warning",
                {"count": int(row.count), "share": float(row.share), "median_count": median,
                 "ratio": float(ratio)}))
    return out


def _attribute_bins(levels: dict[str, AttributeLevels]) -> pd.DataFrame:
    parts = []
    for name, lv in levels.items():
        counts = lv.counts()
        n_used = int(counts.sum())
        part = pd.DataFrame({
            "attribute": name, "kind": lv.kind,
            "bin": lv.names,
            "lo": lv.edges[:-1] if lv.edges is not None else np.nan,
            "hi": lv.edges[1:] if lv.edges is not None else np.nan,
            "count": counts, "share": counts / max(1, n_used),
            "expected_count": n_used / len(lv.names), "n_used": n_used})
        if lv.kind == "categorical":
            part = part.sort_values(["count", "bin"], ascending=[False, True])
        parts.append(part)
    columns = ["attribute", "kind", "bin", "lo", "hi", "count", "share", "expected_count",
               "n_used"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _side_bias(col: pd.Series, alpha: float) -> tuple[list[Finding], list[dict[str, Any]]]:
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


def _holes_1d(lv: AttributeLevels, min_expected: float, alpha: float
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


def _holes_2d(levels: list[AttributeLevels], min_expected: float, alpha: float,
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
class _Density:
    samples: pd.DataFrame
    regions: pd.DataFrame
    findings: list[Finding]
    threshold: float
    search: str


def _low_density(frame: pd.DataFrame, vectors: Any, k: int, label: str, numeric: list[str],
                 random_state: int, neighbors: Any = None) -> _Density:
    """Samples whose k-th neighbour is unusually far (robust z-score), grouped into regions:
    sparse samples within the threshold distance of each other share a region."""
    try:
        X = as_float32(vectors, what="vectors")
    except NeighborsError as exc:
        raise AnalysisError(str(exc)) from None
    if X.shape[0] != len(frame):
        raise AnalysisError(f"vectors must be an (n_samples, d) matrix aligned with the "
                            f"frame's {len(frame)} rows, got shape {X.shape}")
    check_param("k", k, k < len(frame), f"smaller than the number of samples ({len(frame)})")
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
    return _Density(samples, regions, findings, threshold, search)


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


# -- figures --------------------------------------------------------------------------------
def _plot_labels(result: AnalysisResult):
    labels = result.tables["labels"].head(MAX_BARS)
    fig, ax = new_figure(5.0, 2.4)
    x = np.arange(len(labels))
    ax.bar(x, labels["count"], color="#4c72b0")
    ax.set_xticks(x, labels["label"].astype(str), rotation=90 if len(labels) > 8 else 0,
                  fontsize=7)
    ax.set_ylabel("samples", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.locator_params(axis="y", nbins=4)
    more = len(result.tables["labels"]) - len(labels)
    ax.set_title("samples per label" + (f" (first {len(labels)}, {more} more)" if more
                                        else ""), fontsize=9)
    return fig


def _plot_attribute_bins(result: AnalysisResult, attributes: list[str]):
    bins = result.tables["attribute_bins"]
    shown = [a for a in attributes if a in set(bins["attribute"])][:MAX_PANELS]
    fig, ax = new_figure(2.0 * max(1, len(shown)), 1.9)
    ax.remove()
    axes = np.atleast_1d(fig.subplots(1, max(1, len(shown)), squeeze=False)[0])
    for ax, name in zip(axes, shown, strict=False):
        part = bins[bins["attribute"] == name]
        x = np.arange(len(part))
        ax.bar(x, part["count"], color="#dd8452", width=0.9)
        ax.axhline(float(part["expected_count"].iloc[0]), color="k", lw=0.8, ls="--")
        ends = [str(part["bin"].iloc[0]), str(part["bin"].iloc[-1])] \
            if part["lo"].isna().all() else [f"{part['lo'].iloc[0]:.3g}",
                                             f"{part['hi'].iloc[-1]:.3g}"]
        ax.set_xticks([0, len(part) - 1], ends, fontsize=6)
        ax.tick_params(axis="y", labelsize=6)
        ax.locator_params(axis="y", nbins=3)
        ax.set_title(name, fontsize=7)
    fig.suptitle("flagged attributes (dashed: uniform expectation)", fontsize=8)
    return fig
