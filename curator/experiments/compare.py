"""Does synthetic help? Ratio sweeps over different synthetic sets, side by side.

:func:`compare_synthetic_sets` lines up saved ratio sweeps that share their real data (same
held-out split, real candidates, embedding and proxy) but mix in different synthetic sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from curator.experiments.plots import plot_synthetic_helps
from curator.experiments.summary import paired_difference, t_interval
from curator.results import AnalysisResult, Finding

#: What two sweeps must share to be compared: the same real data, scored the same way.
SHARED_KEYS = ("heldout", "real", "embedding_config", "model", "random_state")


def _same_real(result: AnalysisResult) -> tuple:
    return tuple(repr(result.params.get(k)) for k in SHARED_KEYS)


def synthetic_name(result: AnalysisResult) -> str:
    """How a sweep's synthetic set is named: its ``--synthetic-where`` filter when saved,
    else the start of the candidates' digest."""
    where = result.params.get("synthetic_where")
    if where:
        return " and ".join(" ".join(str(v) for v in f) if not isinstance(f, str) else f
                            for f in where)
    return f"synthetic {str(result.params.get('synthetic', '?'))[:8]}"


def _verdict(d: float, lo: float, hi: float) -> str:
    if math.isnan(lo):
        return "one seed: no interval"
    return "helps" if lo > 0 else ("hurts" if hi < 0 else "within noise")


def compare_synthetic_sets(results: Sequence[AnalysisResult], *,
                           metric: str = "accuracy") -> AnalysisResult | None:
    """Held-out score per real budget: real only, and for each synthetic set its best mix
    (any regime, any point with synthetic rows), with the paired difference to real-only
    training (same seeds, same real draws) and a verdict.

    ``results`` are ratio sweeps (:func:`~curator.experiments.summary.summarize_runs` with
    their experiment config as ``params``). Sweeps are grouped by their real data; the
    largest group with two or more synthetic sets is compared, with each set's sweep that
    has the most runs. ``None`` when there is none.
    The best mix is chosen on the held-out mean, as the sweep's own recommendation is: its
    interval is the seeds' spread, not a correction for that choice.
    """
    groups: dict[tuple, dict[str, AnalysisResult]] = {}
    for r in results:
        if "runs" not in r.tables or "synthetic" not in r.params:
            continue
        sets = groups.setdefault(_same_real(r), {})
        key = str(r.params["synthetic"])
        # Two sweeps over one synthetic set: the one with more runs (budgets, regimes).
        if key not in sets or len(r.tables["runs"]) > len(sets[key].tables["runs"]):
            sets[key] = r
    candidates = [g for g in groups.values() if len(g) >= 2]
    if not candidates:
        return None
    group = max(candidates, key=len)
    rows, findings = [], []
    reference: dict[object, pd.Series] = {}
    for res in group.values():
        runs = res.tables["runs"]
        name = synthetic_name(res)
        for budget, b in runs.groupby("budget", sort=True):
            ref = b[b["real_only"].astype(bool) & (b["regime"] == "mixed")]
            ref_scores = ref.set_index("seed")[metric]
            if budget not in reference and len(ref):
                reference[budget] = ref_scores
                mean, lo, hi = t_interval(ref_scores)
                rows.append({"budget": budget, "n_real": int(round(ref["n_real"].mean())),
                             "synthetic": "real only", "regime": "mixed",
                             "point": "real only", metric: mean, f"{metric}_lo": lo,
                             f"{metric}_hi": hi, "vs_real_only": float("nan"),
                             "vs_real_only_lo": float("nan"),
                             "vs_real_only_hi": float("nan"), "verdict": ""})
            mixes = b[~b["real_only"].astype(bool)]
            if mixes.empty or not len(ref):
                continue
            means = mixes.groupby(["regime", "point"], sort=False)[metric].mean()
            regime, point = means.idxmax()
            best = mixes[(mixes["regime"] == regime) & (mixes["point"] == point)]
            mean, lo, hi = t_interval(best[metric])
            d, dlo, dhi = paired_difference(best.set_index("seed")[metric], ref_scores)
            verdict = _verdict(d, dlo, dhi)
            rows.append({"budget": budget, "n_real": int(round(best["n_real"].mean())),
                         "synthetic": name, "regime": regime, "point": point,
                         metric: mean, f"{metric}_lo": lo, f"{metric}_hi": hi,
                         "vs_real_only": d, "vs_real_only_lo": dlo, "vs_real_only_hi": dhi,
                         "verdict": verdict})
            findings.append(Finding(
                "synthetic_helps", f"budget={budget} synthetic={name}",
                f"{name}: {100 * d:+.1f} points [{100 * dlo:+.1f}, {100 * dhi:+.1f}] at "
                f"{budget} real ({point}, {regime}): {verdict}",
                "info" if verdict != "hurts" else "warning",
                {"vs_real_only": d, "lo": dlo, "hi": dhi}))
    table = pd.DataFrame(rows).sort_values(["budget"], kind="stable").reset_index(drop=True)
    summary = {"metric": metric, "synthetic_sets": len(group),
               "helps": ", ".join(f.subject for f in findings
                                  if f.message.endswith(": helps")) or "none"}
    return AnalysisResult("Does synthetic help?", summary, {"curve": table}, findings,
                          notes=["Each synthetic set's best mix per budget over every regime "
                                 "and point it was run with, against real-only training "
                                 "(paired by seed, 95% t-interval)."],
                          plot_fns=[plot_synthetic_helps])
