"""Plots of experiment results: held-out score per mix, and change per ablation arm.

Each takes the :class:`~curator.results.AnalysisResult` it draws and returns a Figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from curator.results import AnalysisResult, new_figure


def plot_sweep(result: AnalysisResult) -> Any:
    """Held-out score against the synthetic share of the mix, one line per budget and
    regime, with the seeds' interval."""
    points = result.tables["points"]
    metric = result.summary["metric"]
    fig, ax = new_figure(6.0, 3.4)
    for (regime, budget), g in points.groupby(["regime", "budget"], sort=False):
        g = g.sort_values("synthetic_share")
        est = g[metric].to_numpy(float)
        err = np.vstack([np.nan_to_num(est - g[f"{metric}_lo"].to_numpy(float)),
                         np.nan_to_num(g[f"{metric}_hi"].to_numpy(float) - est)])
        ax.errorbar(g["synthetic_share"], est, yerr=np.clip(err, 0, None), marker="o",
                    capsize=3, label=f"{budget} real, {regime}",
                    linestyle={"mixed": "-", "weighted": ":"}.get(regime, "--"))
    ax.set_xlabel("synthetic share of the training mix")
    ax.set_ylabel(f"real held-out {metric}")
    ax.set_title("Which ratio: real held-out score per mix (mean, 95% t-interval)")
    ax.legend(fontsize=7)
    return fig



def plot_ablation(result: AnalysisResult) -> Any:
    """Change of the held-out score per arm against its reference, with intervals."""
    table = result.tables["ablation"].dropna(subset=["change"])
    fig, ax = new_figure(max(4.5, 0.9 * len(table) + 2), 3.2)
    est = table["change"].to_numpy(float)
    err = np.vstack([np.nan_to_num(est - table["change_lo"].to_numpy(float)),
                     np.nan_to_num(table["change_hi"].to_numpy(float) - est)])
    ax.bar(np.arange(len(table)), est, yerr=np.clip(err, 0, None), capsize=3,
           color=["#c44e52" if v < 0 else "#4c72b0" for v in est])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(table)), [f"{a}\nvs {b}" for a, b in
                                          zip(table["arm"], table["against"], strict=True)],
                  fontsize=7)
    ax.set_ylabel(f"change in held-out {result.summary['metric']}")
    ax.set_title("Ablation: below 0 = the held randomizer mattered")
    return fig



def plot_synthetic_helps(result: AnalysisResult) -> Any:
    """Held-out score against the real budget: real only and each synthetic set's best mix,
    with the seeds' interval."""
    table = result.tables["curve"]
    metric = result.summary["metric"]
    fig, ax = new_figure(6.0, 3.4)
    for name, g in table.groupby("synthetic", sort=False):
        g = g.sort_values("n_real")
        est = g[metric].to_numpy(float)
        err = np.vstack([np.nan_to_num(est - g[f"{metric}_lo"].to_numpy(float)),
                         np.nan_to_num(g[f"{metric}_hi"].to_numpy(float) - est)])
        ax.errorbar(g["n_real"], est, yerr=np.clip(err, 0, None), marker="o", capsize=3,
                    label=name, linestyle="-" if name == "real only" else "--")
    ax.set_xscale("log")  # budgets double: equal steps
    budgets = sorted(table["n_real"].unique())
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel("real training samples")
    ax.set_ylabel(f"real held-out {metric}")
    ax.set_title("Does synthetic help? Best mix per real budget (mean, 95% t-interval)")
    ax.legend(fontsize=7)
    return fig
