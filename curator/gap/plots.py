"""Figures of a gap report: KID, two-sample classifier AUC and PRDC per stratum, each with
its interval, drawn from the result's ``gap`` (or ``ablation_gap``) table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from curator.gap.metrics import PRDC_METRICS
from curator.results import AnalysisResult, new_figure


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
