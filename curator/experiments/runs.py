"""Runs of an experiment: the ratio sweep and the ablation, one row per (point, seed).

Each run trains the proxy on one mix and scores it on the held-out split; completed runs go
to a :class:`RunCache` (one JSON file each under a directory), so a killed sweep resumes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.experiments.data import ExperimentError, SweepData
from curator.experiments.mixes import MixPoint, mix_rows
from curator.experiments.proxy import check_model_regimes, fit_proxy, score
from curator.experiments.weighting import WEIGHT_GRID, check_weights, choose_synthetic_weight
from curator.fileio import atomic_write_json
from curator.validation import check_scalar

#: Bump when the same inputs and seed would give other scores.
EXPERIMENT_VERSION = "1"


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
        atomic_write_json(path, value, indent=None)



def _train_ids_digest(ids: np.ndarray) -> str:
    return hashlib.sha256("\n".join(sorted(ids.tolist())).encode()).hexdigest()[:16]


def _run_one(data: SweepData, rows_real: np.ndarray, rows_syn: np.ndarray, *, model: str,
             regime: str, seed: int, weights: Sequence[float] = WEIGHT_GRID
             ) -> dict[str, Any]:
    train = np.concatenate([rows_real, rows_syn])
    data.check_disjoint(train)
    held = data.holdout.heldout
    parts = (data.X[rows_real], data.labels[rows_real], data.X[rows_syn],
             data.labels[rows_syn])
    chosen: dict[str, Any] = {}
    weight = 1.0
    if regime == "weighted":  # chosen on the mix's own real rows: held-out rows never seen
        weight, sweep = choose_synthetic_weight(model, *parts, weights=weights,
                                                random_state=seed)
        chosen = {"synthetic_weight": weight, "weight_sweep": sweep}
    proxy = fit_proxy(model, *parts, regime=regime, synthetic_weight=weight,
                      random_state=seed)
    overall, per = score(proxy, data.X[held], data.labels[held], data.strata[held])
    return {**overall, "per_stratum": per, "n_real": int(len(rows_real)),
            "n_synthetic": int(len(rows_syn)), "trained_as": proxy.regime, "note": proxy.note,
            "train_digest": _train_ids_digest(data.ids[train]), **chosen}


def run_ratio_sweep(data: SweepData, real: np.ndarray, synthetic: np.ndarray, *,
                    budgets: Sequence[int | None], points: Sequence[MixPoint],
                    regimes: Sequence[str] = ("mixed",), model: str = "logistic",
                    seeds: int = 3, random_state: int = 0, cache: RunCache | None = None,
                    synthetic_weights: Sequence[float] = WEIGHT_GRID,
                    progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per (regime, budget, point, seed): scores on the held-out split.

    ``real`` and ``synthetic`` mark the candidates of each side (held-out and leaking rows
    are dropped from both first). ``budgets`` are real-sample budgets (``None``: every
    trainable real sample), spread evenly over the labels. Seed ``random_state + i`` draws
    the mix and initialises the model of run ``i``. The ``pretrain`` regime skips the
    real-only point (nothing to pretrain on); the ``weighted`` regime skips it and the
    synthetic-only point (nothing to weigh against) and picks each run's synthetic weight
    among ``synthetic_weights`` on the mix's real rows
    (:func:`~curator.experiments.weighting.choose_synthetic_weight`); ``cached`` says which
    runs came from ``cache``.
    """
    check_scalar(seeds, "seeds", min_val=1, error=ExperimentError,
                 message="{name} must be >= 1, got {value!r}")
    check_model_regimes(model, regimes)
    grid = check_weights(synthetic_weights) if "weighted" in regimes else WEIGHT_GRID
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
            if (reg in regimes and not (reg in ("pretrain", "weighted") and p.real_only)
                and not (reg == "weighted" and p.kind == "fraction" and p.value == 0))
            or (reg == "mixed" and p.real_only)]
    out = []
    cache = cache or RunCache(None)
    for i, (regime, budget, point, s) in enumerate(todo):
        if progress:
            progress(i, len(todo))
        per_class = max(1, (budget if budget is not None else int(real.sum())) // n_labels)
        key = json.dumps([regime, budget, point.kind, point.value, random_state + s, model,
                          *([list(grid)] if regime == "weighted" else [])])
        run = cache.get(key)
        cached = run is not None
        if run is None:
            seed = random_state + s
            rows_real, rows_syn = mix_rows(data.X, data.labels, real, syn, point, per_class,
                                           seed)
            run = _run_one(data, rows_real, rows_syn, model=model, regime=regime, seed=seed,
                           weights=grid)
            cache.put(key, run)
        out.append({"regime": regime, "budget": budget if budget is not None else "all",
                    "point": point.name, "kind": point.kind, "value": point.value,
                    "real_only": point.real_only, "seed": random_state + s, **run,
                    "cached": cached})
    if progress:
        progress(len(todo), len(todo))
    return pd.DataFrame(out)



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

