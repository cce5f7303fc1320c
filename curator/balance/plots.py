"""Figures of the balance report: samples per label, and the bins of the attributes its
findings flag (side bias, missing regions) against the uniform expectation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from curator.results import AnalysisResult, Finding, new_figure

#: Histogram panels drawn for flagged attributes, and labels shown in the count chart.
MAX_PANELS = 6
MAX_BARS = 30


def plot_labels(result: AnalysisResult) -> Any:
    """Samples per label (the first :data:`MAX_BARS` labels of the ``labels`` table)."""
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


def flagged_attributes(findings: Sequence[Finding]) -> list[str]:
    """The attributes named by side-bias and missing-region findings, in order, once each
    (a 2-D finding ``"a×b"`` names both)."""
    return list(dict.fromkeys(
        part for f in findings if f.kind in ("side_bias", "missing_region")
        for part in f.subject.split("×")))


def plot_flagged_attributes(result: AnalysisResult) -> Any:
    """Bins of the attributes the result's findings flag (:func:`flagged_attributes`)."""
    return plot_attribute_bins(result, flagged_attributes(result.findings))


def plot_attribute_bins(result: AnalysisResult, attributes: list[str]) -> Any:
    """Bin counts of ``attributes`` (at most :data:`MAX_PANELS`) against the uniform
    expectation, from the result's ``attribute_bins`` table."""
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
