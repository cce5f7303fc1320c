"""Balance report: how samples spread over labels, sources, splits and attribute ranges.

Owns :func:`balance_report` and its minority-class finding; the region searches behind its
other findings are in :mod:`curator.balance.regions`, the figures in :mod:`.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from curator.balance.levels import (
    AttributeLevels,
    attribute_levels,
    count_table,
    resolve_attributes,
    value_levels,
)
from curator.balance.plots import flagged_attributes, plot_flagged_attributes, plot_labels
from curator.balance.regions import LOW_DENSITY_Z, holes_1d, holes_2d, low_density, side_bias
from curator.results import AnalysisResult, Finding
from curator.stats import AnalysisError, check_frame
from curator.validation import check_scalar

#: A label below this share of the median label count is a minority class.
MINORITY_RATIO = 0.5
#: Pairwise (2-D) hole search runs over at most this many numeric attributes.
MAX_PAIR_ATTRIBUTES = 12


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
    check_scalar(n_bins, "n_bins", min_val=2, error=AnalysisError)
    check_scalar(k, "k", min_val=1, error=AnalysisError)
    check_scalar(min_expected, "min_expected", Real, min_val=0, closed="neither",
                 error=AnalysisError)
    check_scalar(alpha, "alpha", Real, min_val=0, max_val=1, closed="neither",
                 error=AnalysisError)
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
        found, rows = side_bias(frame[name], alpha)
        findings += found
        regions += rows
    for name in numeric:
        found, rows = holes_1d(levels[name], min_expected, alpha)
        findings += found
        regions += rows
    binned = [name for name in numeric if levels[name].numeric]
    pair_attrs = binned[:MAX_PAIR_ATTRIBUTES]
    if len(binned) > MAX_PAIR_ATTRIBUTES:
        notes.append(f"2-D holes searched among the first {MAX_PAIR_ATTRIBUTES} of "
                     f"{len(binned)} numeric attributes")
    found, rows = holes_2d([levels[a] for a in pair_attrs], min_expected, alpha, notes)
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
        density = low_density(frame, vectors, k, label, numeric, random_state, neighbors)
        tables["low_density"] = density.samples
        tables["low_density_regions"] = density.regions
        findings += density.findings
        summary["n_low_density"] = len(density.samples)
        summary["knn_threshold"] = density.threshold
        notes.append(f"low density: distance to the {k}th neighbour above exp(median + "
                     f"{LOW_DENSITY_Z:g} x scaled MAD) of its log ({density.threshold:.4g}); "
                     f"{density.search} search")

    plot_fns = [plot_labels]
    if flagged_attributes(findings):
        plot_fns.append(plot_flagged_attributes)
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
