"""Summaries of experiment runs: means with t-intervals, the best mix, the ablation table.

:func:`summarize_runs` and :func:`summarize_ablation` turn per-seed runs into an
:class:`~curator.results.AnalysisResult`; :class:`ExperimentSummary` says what a run wrote.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.experiments.data import ExperimentError
from curator.experiments.plots import plot_ablation, plot_sweep
from curator.results import AnalysisResult, Finding, ResultMixin


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: Student-t interval of the mean (NaN bounds for one value)."""
    from scipy import stats

    v = np.asarray(values, float)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, mean - half, mean + half


def _points_table(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = []
    keys = ["regime", "budget", "point", "kind", "value", "real_only"]
    for key, g in runs.groupby(keys, sort=False):
        mean, lo, hi = t_interval(g[metric])
        rows.append({**dict(zip(keys, key, strict=True)),
                     "n_real": int(round(g["n_real"].mean())),
                     "n_synthetic": int(round(g["n_synthetic"].mean())),
                     "synthetic_share": float((g["n_synthetic"] / (g["n_real"]
                                               + g["n_synthetic"])).mean()),
                     metric: mean, f"{metric}_lo": lo, f"{metric}_hi": hi, "seeds": len(g),
                     **_chosen_weights(g)})
    return pd.DataFrame(rows)


def _chosen_weights(runs: pd.DataFrame) -> dict[str, Any]:
    """The synthetic weight the ``weighted`` regime chose: the median over seeds and every
    seed's choice (nothing for the other regimes, whose runs carry no weight)."""
    if "synthetic_weight" not in runs or runs["synthetic_weight"].isna().all():
        return {}
    w = runs["synthetic_weight"].dropna()
    return {"synthetic_weight": float(w.median()),
            "synthetic_weights": ", ".join(f"{v:g}" for v in w)}


def _weight_sweep_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Validation accuracy (on the real training rows) of each candidate weight, averaged
    over seeds, per budget and point of the ``weighted`` regime."""
    if "weight_sweep" not in runs:
        return pd.DataFrame()
    rows = [{"budget": r.budget, "point": r.point, "weight": float(w), "seed": r.seed,
             "validation_accuracy": acc}
            for r in runs.itertuples() if isinstance(r.weight_sweep, dict)
            for w, acc in r.weight_sweep.items()]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    table = frame.groupby(["budget", "point", "weight"], sort=False).agg(
        validation_accuracy=("validation_accuracy", "mean"),
        seeds=("seed", "count")).reset_index()
    chosen = runs.dropna(subset=["synthetic_weight"]).groupby(
        ["budget", "point", "synthetic_weight"]).size()
    table["chosen_by_seeds"] = [int(chosen.get((b, p, w), 0)) for b, p, w in
                                zip(table["budget"], table["point"], table["weight"],
                                    strict=True)]
    return table


def paired_difference(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Mean difference ``a - b`` over the seeds (the index) both have, with its t-interval."""
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1).dropna()
    return t_interval((joined["a"] - joined["b"]).to_numpy()) if len(joined) else \
        (float("nan"),) * 3


def summarize_runs(runs: pd.DataFrame, *, metric: str = "accuracy") -> AnalysisResult:
    """Points with mean and interval, the best mix per budget and regime, and the best mix
    per held-out stratum, each against real-only training at the same budget (paired by
    seed)."""
    if runs.empty:
        raise ExperimentError("no runs to summarize")
    points = _points_table(runs, metric)
    recs, strata_recs, findings = [], [], []
    for (regime, budget), g in points.groupby(["regime", "budget"], sort=False):
        # Real-only training (the mixed regime's reference) competes in every regime.
        ref_point = points[(points["regime"] == "mixed") & points["real_only"]
                           & (points["budget"] == budget)]
        if not g["real_only"].any():
            g = pd.concat([g, ref_point])
        best = g.sort_values([metric, "synthetic_share"], ascending=[False, True]).iloc[0]
        ref_runs = runs[(runs["budget"] == budget) & runs["real_only"]
                        & (runs["regime"] == "mixed")]
        mine = runs[(runs["budget"] == budget) & (runs["regime"] == best["regime"])
                    & (runs["point"] == best["point"])]
        d, lo, hi = paired_difference(mine.set_index("seed")[metric],
                                      ref_runs.set_index("seed")[metric])
        verdict = _verdict(best, d, lo, hi)
        weight = best.get("synthetic_weight", float("nan"))
        weighed = "" if pd.isna(weight) else f" at weight {weight:g}, the seeds' median"
        recs.append({"regime": regime, "budget": budget, "best": best["point"],
                     "n_real": best["n_real"], "n_synthetic": best["n_synthetic"],
                     metric: best[metric], f"{metric}_lo": best[f"{metric}_lo"],
                     f"{metric}_hi": best[f"{metric}_hi"], "vs_real_only": d,
                     "vs_real_only_lo": lo, "vs_real_only_hi": hi, "evidence": verdict,
                     **({"synthetic_weight": weight} if "synthetic_weight" in points
                        else {})})
        findings.append(Finding(
            "best_ratio", f"budget={budget} regime={regime}",
            f"budget {budget}, {regime}: best is {best['point']} ({best['n_real']} real + "
            f"{best['n_synthetic']} synthetic{weighed}), {metric} {best[metric]:.3f}; "
            f"{verdict}",
            "info", {"point": best["point"], metric: float(best[metric]), "vs_real_only": d,
                     "lo": lo, "hi": hi}))
        ref_per = _per_stratum_runs(ref_runs)
        per = _per_stratum_runs(runs[(runs["regime"] == regime) & (runs["budget"] == budget)])
        if regime != "mixed":
            per = pd.concat([per, ref_per], ignore_index=True)
        for stratum, sg in per.groupby("stratum", sort=True):
            means = sg.groupby("point", sort=False)["score"].mean()
            top = means.idxmax()
            top_runs = sg[sg["point"] == top].set_index("seed")["score"]
            ref = ref_per[ref_per["stratum"] == stratum].set_index("seed")["score"]
            d, lo, hi = paired_difference(top_runs, ref)
            strata_recs.append({"regime": regime, "budget": budget, "stratum": stratum,
                                "best": top, metric: float(means[top]), "vs_real_only": d,
                                "vs_real_only_lo": lo, "vs_real_only_hi": hi})
    recommendations = pd.DataFrame(recs)
    summary = {"runs": len(runs), "points": len(points), "metric": metric}
    best_row = recommendations.sort_values(metric, ascending=False).iloc[0]
    summary.update({"best": f"{best_row['best']} ({best_row['regime']}, budget "
                            f"{best_row['budget']})", f"best_{metric}": float(best_row[metric])})
    tables = {"points": points, "recommendations": recommendations,
              "per_stratum": pd.DataFrame(strata_recs)}
    sweep = _weight_sweep_table(runs)
    if not sweep.empty:
        tables["weight_sweep"] = sweep
    return AnalysisResult("Real:synthetic ratio sweep", summary,
                          {**tables, "runs": _runs_table(runs)}, findings, notes=[],
                          plot_fns=[plot_sweep])


def _runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-seed runs as shown (not whether they came from the cache: same bytes on resume)."""
    return runs.drop(columns=[c for c in ("per_stratum", "cached", "weight_sweep")
                              if c in runs])


def _verdict(best: pd.Series, d: float, lo: float, hi: float) -> str:
    if best["real_only"]:
        return "real only is best: adding synthetic did not help at this budget"
    if math.isnan(lo):
        return f"{d:+.3f} vs real only (one seed: no interval)"
    sign = "helps" if lo > 0 else ("hurts" if hi < 0 else "is within noise of real only")
    return f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}] vs real only: synthetic {sign}"


def _per_stratum_runs(runs: pd.DataFrame) -> pd.DataFrame:
    rows = [{"point": r.point, "seed": r.seed, "stratum": k, "score": v}
            for r in runs.itertuples() for k, v in r.per_stratum.items()]
    return pd.DataFrame(rows, columns=["point", "seed", "stratum", "score"])




def summarize_ablation(runs: pd.DataFrame, *, metric: str = "accuracy",
                       reference: str = "none") -> AnalysisResult:
    """Each arm's held-out score and its paired change against the full recipe
    (``reference``): a randomizer whose removal lowers the score matters."""
    ref = runs[runs["arm"] == reference].set_index("seed")[metric]
    real_only = runs[runs["arm"] == "real only"].set_index("seed")[metric]
    rows, findings = [], []
    for arm, g in runs.groupby("arm", sort=False):
        mean, lo, hi = t_interval(g[metric])
        base = real_only if arm in ("augmented", reference) else ref
        d, dlo, dhi = paired_difference(g.set_index("seed")[metric], base) if arm != "real only" \
            else (float("nan"),) * 3
        against = "real only" if arm in ("augmented", reference) else reference
        rows.append({"arm": arm, "n_real": int(round(g["n_real"].mean())),
                     "n_synthetic": int(round(g["n_synthetic"].mean())), metric: mean,
                     f"{metric}_lo": lo, f"{metric}_hi": hi, "against": against,
                     "change": d, "change_lo": dlo, "change_hi": dhi})
        if arm not in ("real only", "augmented", reference) and not math.isnan(dhi):
            if dhi < 0:
                findings.append(Finding(
                    "randomizer_matters", arm,
                    f"holding {arm} lowers real held-out {metric} by {-d:.3f} "
                    f"[{-dhi:.3f}, {-dlo:.3f}]: the {arm} randomization matters", "warning",
                    {"change": d, "lo": dlo, "hi": dhi}))
            elif dlo > 0:
                findings.append(Finding(
                    "randomizer_hurts", arm,
                    f"holding {arm} raises real held-out {metric} by {d:.3f}: that "
                    "randomization moves synthetic away from the real data", "info",
                    {"change": d, "lo": dlo, "hi": dhi}))
    table = pd.DataFrame(rows)
    order = {"real only": 0, reference: 1, "augmented": 3}
    table = table.assign(_o=table["arm"].map(order).fillna(2)).sort_values(
        ["_o", "change"], na_position="last").drop(columns="_o").reset_index(drop=True)
    matters = [f.subject for f in findings if f.kind == "randomizer_matters"]
    summary = {"runs": len(runs), "metric": metric, "reference": reference,
               "matters": ", ".join(matters) or "none within the intervals"}
    return AnalysisResult("Ablation on real held-out data", summary,
                          {"ablation": table, "runs": _runs_table(runs)},
                          findings, plot_fns=[plot_ablation])


@dataclass
class ExperimentSummary(ResultMixin):
    """What a workspace experiment wrote: where, how many runs were new, the result."""

    kind: str
    directory: Path
    result: AnalysisResult
    new_runs: int
    cached_runs: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able and complete: the result keeps every table row and names its plots."""
        return {"kind": self.kind, "directory": str(self.directory),
                "result": self.result.to_dict(max_rows=None), "new_runs": self.new_runs,
                "cached_runs": self.cached_runs, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentSummary:
        return cls(kind=data["kind"], directory=Path(data["directory"]),
                   result=AnalysisResult.from_dict(data["result"]),
                   new_runs=int(data["new_runs"]), cached_runs=int(data["cached_runs"]),
                   notes=list(data.get("notes", [])))

    def result_title(self) -> str:
        return f"{self.kind} experiment"

    def result_fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "directory": str(self.directory),
                "result": self.result.title, "new_runs": self.new_runs,
                "cached_runs": self.cached_runs, "notes": "; ".join(self.notes)}

    def to_frame(self) -> pd.DataFrame:
        """The result's main table (the points of a sweep, the arms of an ablation)."""
        return self.result.to_frame()
