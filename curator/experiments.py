"""Experiments that answer "which ratio, which randomizations", scored on real held-out data.

A fast proxy model (scikit-learn, on embedding vectors) is trained on mixes of real and
synthetic samples and scored on a fixed real held-out split that never sees synthetic,
augmented or oversampled data and shares no near-duplicate or lineage with any training
mix. Every point runs under several seeds; the tables give the mean and a t-interval, and
the recommendations say which mix is best per budget and per held-out stratum, with the
paired difference to real-only training behind each one.

Pure functions over arrays (:func:`heldout_split`, :func:`mix_rows`, :func:`fit_proxy`,
:func:`run_ratio_sweep`, :func:`run_ablation`, :func:`summarize_runs`); the workspace
wrappers live in :mod:`curator.experiment_runs`.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.errors import CuratorError
from curator.fileio import atomic_write_bytes
from curator.neighbors import NeighborIndex, as_float32
from curator.results import AnalysisResult, Finding, new_figure

#: Bump when the same inputs and seed would give other scores.
EXPERIMENT_VERSION = "1"
PROXIES = ("logistic", "mlp", "hgb")
#: Models whose warm start continues from the pretrained weights. (Gradient boosting's warm
#: start re-bins the features on the new data, so its old trees would read wrong bins.)
PRETRAINABLE = ("logistic", "mlp")
REGIMES = ("mixed", "pretrain")
#: Optimiser iterations of the fine-tuning step of the ``pretrain`` regime.
FINETUNE_ITER = 50


class ExperimentError(CuratorError, ValueError):
    """An experiment cannot run as asked (no held-out data, empty mixes, bad parameters)."""


# -- the held-out split ---------------------------------------------------------------------
@dataclass
class Holdout:
    """A fixed real held-out split and the training candidates it rules out.

    ``heldout``: rows scored on (real, never augmented or oversampled). ``excluded``:
    candidate rows that may not train because they derive from a held-out sample (lineage)
    or lie within ``threshold`` of one (near-duplicates); ``leakage`` lists them with why.
    """

    heldout: np.ndarray
    excluded: np.ndarray
    leakage: pd.DataFrame
    threshold: float
    how: str

    @property
    def trainable(self) -> np.ndarray:
        return ~self.heldout & ~self.excluded


def heldout_split(frame: pd.DataFrame, X: Any, *, split: str | None = "test",
                  fraction: float = 0.25, label: str = "label", dedup_scale: float = 0.2,
                  random_state: int = 0) -> Holdout:
    """The real held-out rows of ``frame`` (row-aligned with ``X``) and the leakage guard.

    Held-out rows are the real samples of ``split`` when there are any, else a seeded
    ``fraction`` of the real samples, stratified by ``label``. A candidate is excluded when
    its ``parent_ids`` name a held-out sample (augmented copies, oversampled rows) or its
    nearest held-out sample is within ``dedup_scale`` x the median nearest-neighbour distance
    of the real samples (:func:`curator.select.select_deduplicated`'s near-duplicate rule).
    """
    from curator.select import median_nn_distance

    X = as_float32(X, allow_empty=False)
    if len(frame) != len(X):
        raise ExperimentError(f"frame has {len(frame)} rows for {len(X)} vectors")
    if not 0 < fraction < 1:
        raise ExperimentError(f"held-out fraction must be in (0, 1), got {fraction!r}")
    real = (frame["source"] == "real").to_numpy() & frame[label].notna().to_numpy()
    if real.sum() < 4:
        raise ExperimentError(f"need real labelled samples to hold out; found {real.sum()}")
    in_split = real & (frame["split"] == split).to_numpy() if split else np.zeros(len(X), bool)
    if in_split.any() and in_split.sum() < real.sum():
        heldout, how = in_split, f"the real samples of split {split!r}"
    else:
        from sklearn.model_selection import train_test_split

        rows = np.flatnonzero(real)
        labels = frame[label].to_numpy()[rows].astype(str)
        counts = pd.Series(labels).value_counts()
        n_test = math.ceil(fraction * len(rows))
        strat = labels if counts.min() >= 2 and len(counts) <= min(n_test, len(rows) - n_test) \
            else None
        _, test = train_test_split(rows, test_size=fraction, stratify=strat,
                                   random_state=random_state)
        heldout = np.zeros(len(X), bool)
        heldout[test] = True
        how = (f"{fraction:.0%} of the real samples" + (", stratified by label" if strat
                                                       is not None else "")
               + f" (seed {random_state})")
    ids = frame["sample_id"].to_numpy()
    held_ids = set(ids[heldout].tolist())
    candidates = np.flatnonzero(~heldout)
    excluded = np.zeros(len(X), bool)
    rows: list[dict[str, Any]] = []
    if "parent_ids" in frame:  # one (row, parent) pair per line, no Python loop over rows
        pairs = pd.Series(frame["parent_ids"].to_numpy()[candidates], index=candidates,
                          dtype=object).explode()  # indexed by row position
        hits = pairs[pairs.isin(held_ids)]
        first = hits[~hits.index.duplicated()]
        excluded[first.index.to_numpy()] = True
        rows.extend({"sample_id": ids[i], "heldout_id": p, "distance": np.nan,
                     "reason": "derived from a held-out sample"}
                    for i, p in zip(first.index, first, strict=True))
    threshold = dedup_scale * median_nn_distance(X[real])
    if len(candidates):
        d, j = NeighborIndex(1).fit(X[heldout]).kneighbors(X[candidates], 1)
        held_pos = np.flatnonzero(heldout)
        near = (d[:, 0] <= threshold) & ~excluded[candidates]
        for i, dist, h in zip(candidates[near], d[near, 0], j[near, 0], strict=True):
            excluded[i] = True
            rows.append({"sample_id": ids[i], "heldout_id": ids[held_pos[h]],
                         "distance": float(dist), "reason": "near-duplicate of a held-out "
                         f"sample (d <= {threshold:.4g})"})
    leakage = pd.DataFrame(rows, columns=["sample_id", "heldout_id", "distance", "reason"])
    return Holdout(heldout, excluded, leakage, float(threshold), how)


# -- mixes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MixPoint:
    """One training mix per real budget: ``kind="fraction"`` (``value`` = share of real
    samples in a mix the size of the real budget: 1 real only, 0 synthetic only) or
    ``kind="per_real"`` (``value`` synthetic samples added per real sample)."""

    kind: str
    value: float

    @property
    def name(self) -> str:
        return f"real share {self.value:g}" if self.kind == "fraction" else \
            f"+{self.value:g} synthetic per real"

    @property
    def real_only(self) -> bool:
        return (self.kind == "fraction" and self.value == 1) or (
            self.kind == "per_real" and self.value == 0)


def mix_points(real_fractions: Sequence[float] = (), synthetic_per_real: Sequence[float] = ()
               ) -> list[MixPoint]:
    """Checked, de-duplicated points (real-only first, as the reference)."""
    points = []
    for f in real_fractions:
        if not 0 <= f <= 1:
            raise ExperimentError(f"real fractions must be in [0, 1], got {f!r}")
        points.append(MixPoint("fraction", float(f)))
    for s in synthetic_per_real:
        if not (s >= 0 and math.isfinite(s)):
            raise ExperimentError(f"synthetic per real must be >= 0, got {s!r}")
        # +0 synthetic per real is the real-only mix: one reference point, not two.
        points.append(MixPoint("per_real", float(s)) if s else MixPoint("fraction", 1.0))
    if not points:
        raise ExperimentError("give real fractions and/or synthetic-per-real values")
    unique = list(dict.fromkeys(points))
    return sorted(unique, key=lambda p: (not p.real_only, p.kind, -p.value
                                         if p.kind == "fraction" else p.value))


def mix_rows(X: np.ndarray, labels: np.ndarray, real: np.ndarray, synthetic: np.ndarray,
             point: MixPoint, per_class: int, random_state: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(real rows, synthetic rows)`` of one mix, built by the ``mix`` selector per label.

    Real rows are a seeded draw of ``per_class`` per label (fewer where a label has fewer);
    synthetic rows are the ones closest to them (:func:`curator.select.select_mix`). A
    real-share-0 mix keeps only the synthetic part of the real-share-1 draw's neighbours.
    """
    from curator.select import select_mix

    pool = real | synthetic
    rows = np.flatnonzero(pool)
    ids = rows.astype(str)
    if point.kind == "fraction" and point.value > 0:
        kw = {"n_total": per_class, "synthetic_per_real": (1 - point.value) / point.value}
    else:
        kw = {"n_real": per_class, "synthetic_per_real": point.value
              if point.kind == "per_real" else 1.0}
    # keep_ratio=False: a label short of synthetic keeps its real part (never dropped).
    sel = select_mix(X[rows], ids=ids, is_real=real[rows], is_synthetic=synthetic[rows],
                     strata=labels[rows].astype(str), keep_ratio=False,
                     random_state=random_state, **kw)
    chosen = sel.frame["sample_id"].astype(int).to_numpy()
    kinds = sel.frame["kind"].to_numpy()
    real_rows = np.sort(chosen[kinds == "real"])
    syn_rows = np.sort(chosen[kinds == "synthetic"])
    if point.kind == "fraction" and point.value == 0:
        real_rows = real_rows[:0]
    return real_rows, syn_rows


# -- the proxy model ------------------------------------------------------------------------
def make_proxy(name: str, random_state: int) -> Any:
    """A fast scikit-learn classifier on embedding vectors."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if name == "logistic":
        return LogisticRegression(max_iter=1000, random_state=random_state)
    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=random_state)
    if name == "hgb":
        return HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                              random_state=random_state)
    raise ExperimentError(f"model must be one of {', '.join(PROXIES)}, got {name!r}")


def check_model_regimes(model: str, regimes: Sequence[str]) -> None:
    """A known proxy, known regimes, and ``pretrain`` only for a model that can continue."""
    if model not in PROXIES:
        raise ExperimentError(f"model must be one of {', '.join(PROXIES)}, got {model!r}")
    for regime in regimes:
        if regime not in REGIMES:
            raise ExperimentError(f"regime must be one of {', '.join(REGIMES)}, got "
                                  f"{regime!r}")
    if "pretrain" in regimes and model not in PRETRAINABLE:
        raise ExperimentError(f"the pretrain regime needs a model that continues training "
                              f"from its weights ({', '.join(PRETRAINABLE)}), not {model!r}")


@dataclass
class Proxy:
    """A fitted proxy: the scaler and the classifier, and how it was trained."""

    scaler: Any
    model: Any
    regime: str
    note: str = ""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(self.scaler.transform(X))


def fit_proxy(model: str, X_real: np.ndarray, y_real: np.ndarray, X_syn: np.ndarray,
              y_syn: np.ndarray, *, regime: str = "mixed", random_state: int = 0) -> Proxy:
    """Train the proxy on one mix.

    ``mixed``: one fit on real and synthetic together. ``pretrain`` (logistic, mlp): fit on
    the synthetic part, then continue from those weights on the real part (warm start, at
    most :data:`FINETUNE_ITER` more iterations). Either part empty, or a
    real part lacking some of the synthetic labels, trains as ``mixed`` (noted).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    check_model_regimes(model, [regime])
    X_all = np.concatenate([X_real, X_syn])
    y_all = np.concatenate([y_real, y_syn])
    if len(X_all) == 0 or len(set(y_all.tolist())) < 2:
        raise ExperimentError("a training mix needs samples of at least two labels")
    scaler = StandardScaler().fit(X_all)
    clf = make_proxy(model, random_state)
    note = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if regime == "pretrain" and len(X_real) and len(X_syn) \
                and set(y_real.tolist()) == set(y_syn.tolist()):
            clf.fit(scaler.transform(X_syn), y_syn)
            clf.set_params(warm_start=True, max_iter=FINETUNE_ITER)
            clf.fit(scaler.transform(X_real), y_real)
        else:
            if regime == "pretrain":
                note = "trained as mixed (a part is empty or lacks labels)"
                regime = "mixed"
            clf.fit(scaler.transform(X_all), y_all)
    return Proxy(scaler, clf, regime, note)


# -- runs -----------------------------------------------------------------------------------
@dataclass
class RunCache:
    """Completed runs as one JSON file each (atomic), so a killed sweep resumes."""

    directory: Path | None

    def path(self, key: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        if path is None or not path.is_file():
            return None
        return json.loads(path.read_text())

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self.path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, (json.dumps(value, sort_keys=True) + "\n").encode())


def score(proxy: Proxy, X: np.ndarray, y: np.ndarray, strata: np.ndarray
          ) -> tuple[dict[str, float], dict[str, float]]:
    """Accuracy and balanced accuracy overall, and accuracy per held-out stratum."""
    from sklearn.metrics import balanced_accuracy_score

    pred = proxy.predict(X)
    hit = pred == y
    per = pd.Series(hit).groupby(strata).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # labels the mix lacks: balanced accuracy warns
        bal = balanced_accuracy_score(y, pred)
    return ({"accuracy": float(hit.mean()), "balanced_accuracy": float(bal)},
            {str(k): float(v) for k, v in per.items()})


def _train_ids_digest(ids: np.ndarray) -> str:
    return hashlib.sha256("\n".join(sorted(ids.tolist())).encode()).hexdigest()[:16]


@dataclass
class SweepData:
    """Row-aligned inputs of an experiment: vectors, labels, ids, held-out strata."""

    X: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    holdout: Holdout
    strata: np.ndarray  # held-out stratum key per row (the label unless --by says more)

    def __post_init__(self) -> None:
        self.X = as_float32(self.X, allow_empty=False)
        self.labels = np.asarray(self.labels).astype(str)
        n = len(self.X)
        for name in ("labels", "ids", "strata"):
            if len(getattr(self, name)) != n:
                raise ExperimentError(f"{name} has {len(getattr(self, name))} entries for "
                                      f"{n} rows")
        if not self.holdout.heldout.any():
            raise ExperimentError("the held-out split is empty")

    def scored_labels(self) -> np.ndarray:
        """Rows whose label occurs in the held-out split (only those can be scored, so only
        those train: a synthetic-only class would be noise to the proxy)."""
        return np.isin(self.labels, np.unique(self.labels[self.holdout.heldout]))

    def check_disjoint(self, rows: np.ndarray) -> None:
        """A training mix never holds a held-out or excluded (leaking) row."""
        bad = rows[~self.holdout.trainable[rows]]
        if len(bad):
            raise ExperimentError(f"training mix holds held-out or leaking sample(s) "
                                  f"{self.ids[bad[:3]].tolist()}: refusing to score")


def _run_one(data: SweepData, rows_real: np.ndarray, rows_syn: np.ndarray, *, model: str,
             regime: str, seed: int) -> dict[str, Any]:
    train = np.concatenate([rows_real, rows_syn])
    data.check_disjoint(train)
    held = data.holdout.heldout
    proxy = fit_proxy(model, data.X[rows_real], data.labels[rows_real], data.X[rows_syn],
                      data.labels[rows_syn], regime=regime, random_state=seed)
    overall, per = score(proxy, data.X[held], data.labels[held], data.strata[held])
    return {**overall, "per_stratum": per, "n_real": int(len(rows_real)),
            "n_synthetic": int(len(rows_syn)), "trained_as": proxy.regime, "note": proxy.note,
            "train_digest": _train_ids_digest(data.ids[train])}


def run_ratio_sweep(data: SweepData, real: np.ndarray, synthetic: np.ndarray, *,
                    budgets: Sequence[int | None], points: Sequence[MixPoint],
                    regimes: Sequence[str] = ("mixed",), model: str = "logistic",
                    seeds: int = 3, random_state: int = 0, cache: RunCache | None = None,
                    progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per (regime, budget, point, seed): scores on the held-out split.

    ``real`` and ``synthetic`` mark the candidates of each side (held-out and leaking rows
    are dropped from both first). ``budgets`` are real-sample budgets (``None``: every
    trainable real sample), spread evenly over the labels. Seed ``random_state + i`` draws
    the mix and initialises the model of run ``i``. The ``pretrain`` regime skips the
    real-only point (nothing to pretrain on); ``cached`` says which runs came from ``cache``.
    """
    if seeds < 1:
        raise ExperimentError(f"seeds must be >= 1, got {seeds!r}")
    check_model_regimes(model, regimes)
    # The real-only mix is every recommendation's reference: always run, in the mixed regime.
    points = list(points)
    if not any(p.real_only for p in points):
        points.insert(0, MixPoint("fraction", 1.0))
    scored = data.scored_labels()
    syn = data.holdout.trainable & np.asarray(synthetic, bool) & scored
    real = data.holdout.trainable & np.asarray(real, bool) & ~syn & scored
    n_labels = len(set(data.labels[real | syn].tolist()))
    if not real.any() and not syn.any():
        raise ExperimentError("no trainable samples left after holding out")
    todo = [(reg, b, p, s) for reg in dict.fromkeys(["mixed", *regimes]) for b in budgets
            for p in points for s in range(seeds)
            if (reg in regimes and not (reg == "pretrain" and p.real_only))
            or (reg == "mixed" and p.real_only)]
    out = []
    cache = cache or RunCache(None)
    for i, (regime, budget, point, s) in enumerate(todo):
        if progress:
            progress(i, len(todo))
        per_class = max(1, (budget if budget is not None else int(real.sum())) // n_labels)
        key = json.dumps([regime, budget, point.kind, point.value, random_state + s, model])
        run = cache.get(key)
        cached = run is not None
        if run is None:
            seed = random_state + s
            rows_real, rows_syn = mix_rows(data.X, data.labels, real, syn, point, per_class,
                                           seed)
            run = _run_one(data, rows_real, rows_syn, model=model, regime=regime, seed=seed)
            cache.put(key, run)
        out.append({"regime": regime, "budget": budget if budget is not None else "all",
                    "point": point.name, "kind": point.kind, "value": point.value,
                    "real_only": point.real_only, "seed": random_state + s, **run,
                    "cached": cached})
    if progress:
        progress(len(todo), len(todo))
    return pd.DataFrame(out)


# -- aggregation ----------------------------------------------------------------------------
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
                     metric: mean, f"{metric}_lo": lo, f"{metric}_hi": hi, "seeds": len(g)})
    return pd.DataFrame(rows)


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Mean difference ``a - b`` over seeds, with its t-interval."""
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
        d, lo, hi = _paired(mine.set_index("seed")[metric], ref_runs.set_index("seed")[metric])
        verdict = _verdict(best, d, lo, hi)
        recs.append({"regime": regime, "budget": budget, "best": best["point"],
                     "n_real": best["n_real"], "n_synthetic": best["n_synthetic"],
                     metric: best[metric], f"{metric}_lo": best[f"{metric}_lo"],
                     f"{metric}_hi": best[f"{metric}_hi"], "vs_real_only": d,
                     "vs_real_only_lo": lo, "vs_real_only_hi": hi, "evidence": verdict})
        findings.append(Finding(
            "best_ratio", f"budget={budget} regime={regime}",
            f"budget {budget}, {regime}: best is {best['point']} ({best['n_real']} real + "
            f"{best['n_synthetic']} synthetic), {metric} {best[metric]:.3f}; {verdict}",
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
            d, lo, hi = _paired(top_runs, ref)
            strata_recs.append({"regime": regime, "budget": budget, "stratum": stratum,
                                "best": top, metric: float(means[top]), "vs_real_only": d,
                                "vs_real_only_lo": lo, "vs_real_only_hi": hi})
    recommendations = pd.DataFrame(recs)
    summary = {"runs": len(runs), "points": len(points), "metric": metric}
    best_row = recommendations.sort_values(metric, ascending=False).iloc[0]
    summary.update({"best": f"{best_row['best']} ({best_row['regime']}, budget "
                            f"{best_row['budget']})", f"best_{metric}": float(best_row[metric])})
    return AnalysisResult(
        "Real:synthetic ratio sweep", summary,
        {"points": points, "recommendations": recommendations,
         "per_stratum": pd.DataFrame(strata_recs), "runs": _runs_table(runs)},
        findings, notes=[], plot_fns=[plot_sweep])


def _runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-seed runs as shown (not whether they came from the cache: same bytes on resume)."""
    return runs.drop(columns=[c for c in ("per_stratum", "cached") if c in runs])


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
                    linestyle="-" if regime == "mixed" else "--")
    ax.set_xlabel("synthetic share of the training mix")
    ax.set_ylabel(f"real held-out {metric}")
    ax.set_title("Which ratio: real held-out score per mix (mean, 95% t-interval)")
    ax.legend(fontsize=7)
    return fig


# -- ablation -------------------------------------------------------------------------------
def run_ablation(data: SweepData, real: np.ndarray, arms: Mapping[str, np.ndarray], *,
                 budget: int | None, synthetic_per_real: float = 1.0,
                 augmented_of: Mapping[int, np.ndarray] | None = None,
                 model: str = "logistic", seeds: int = 3, random_state: int = 0,
                 cache: RunCache | None = None,
                 progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per (arm, seed): real budget + synthetic drawn from each arm's rows.

    ``arms`` maps a name (``"none"`` for the full recipe, a randomizer name for the variant
    with it held) to its synthetic candidate rows; every arm gets the same count per label
    (``synthetic_per_real`` x the real draw, capped by the smallest arm), drawn at random
    with the run's seed, so arms differ only in what generated them. ``"real only"`` is
    always run; with ``augmented_of`` (real row -> its augmented copies' rows) an
    ``"augmented"`` arm trains on the real draw plus its affine copies.
    """
    trainable = data.holdout.trainable & data.scored_labels()
    real = real & trainable
    arms = {k: np.asarray(v, bool) & trainable for k, v in arms.items()}
    labels = data.labels
    names = sorted(set(labels[real].tolist()))
    if not names:
        raise ExperimentError("no trainable real samples for the ablation")
    per_class = max(1, (budget if budget is not None else int(real.sum())) // len(names))
    # Per label, every arm gets the same count: the target, capped by the arm with fewest.
    target = int(round(synthetic_per_real * per_class))
    counts = {arm: pd.Series(labels[m]).value_counts() for arm, m in arms.items()}
    n_syn = {c: min([target, *(int(cnt.get(c, 0)) for cnt in counts.values())])
             for c in names}
    short = [f"{arm} (label {c})" for arm, cnt in counts.items() for c in names
             if int(cnt.get(c, 0)) < target]
    if target > 0 and not sum(n_syn.values()):
        raise ExperimentError(f"ablation arms lack synthetic samples of every label: "
                              f"{', '.join(short[:6])}; render more with --generate")
    todo = [(arm, s) for arm in ["real only", *arms, *(["augmented"] if augmented_of
                                                        else [])] for s in range(seeds)]
    cache = cache or RunCache(None)
    out = []
    for i, (arm, s) in enumerate(todo):
        if progress:
            progress(i, len(todo))
        key = json.dumps(["ablation", arm, budget, n_syn, random_state + s, model],
                         sort_keys=True)
        run = cache.get(key)
        cached = run is not None
        if run is None:
            seed = random_state + s
            rng = np.random.default_rng(seed)
            rows_real = np.sort(np.concatenate([
                rng.choice(np.flatnonzero(real & (labels == c)),
                           min(per_class, int((real & (labels == c)).sum())), replace=False)
                for c in names]))
            if arm == "augmented":
                extra = [augmented_of.get(int(r), np.zeros(0, np.int64)) for r in rows_real]
                rows_syn = np.sort(np.concatenate(extra)).astype(np.int64)
                rows_syn = rows_syn[trainable[rows_syn]]
            elif arm == "real only":
                rows_syn = np.zeros(0, np.int64)
            else:
                arm_rows = arms[arm]
                rows_syn = np.sort(np.concatenate([
                    rng.choice(np.flatnonzero(arm_rows & (labels == c)), n_syn[c],
                               replace=False)
                    for c in names]))
            run = _run_one(data, rows_real, rows_syn, model=model, regime="mixed", seed=seed)
            cache.put(key, run)
        out.append({"arm": arm, "seed": random_state + s, **run, "cached": cached})
    if progress:
        progress(len(todo), len(todo))
    frame = pd.DataFrame(out)
    frame.attrs["short"] = short  # arms below the target for a label (all arms get less)
    return frame


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
        d, dlo, dhi = _paired(g.set_index("seed")[metric], base) if arm != "real only" \
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


@dataclass
class ExperimentSummary:
    """What a workspace experiment wrote: where, how many runs were new, the result."""

    kind: str
    directory: Path
    result: AnalysisResult
    new_runs: int
    cached_runs: int
    notes: list[str] = field(default_factory=list)
