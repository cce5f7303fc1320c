"""Ratio sweeps and ablations over a workspace: load, hold out, run (resumable), save.

The workflow around the pure :mod:`curator.experiments`: it reads the workspace, renders
and augments missing arms (:mod:`generators`, :mod:`curator.workflows.augment`) and writes
the runs. Results live in ``WS/experiments/<kind>-<config>/``: ``experiment.json`` (what
was asked), ``runs/`` (one JSON file per completed run, so a killed experiment resumes) and
``runs.json`` (every run, for the report). The report's ablation section shows them.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.experiments import (
    EXPERIMENT_VERSION,
    FINETUNE_ITER,
    WEIGHT_GRID,
    ExperimentError,
    ExperimentSummary,
    RunCache,
    SweepData,
    check_weights,
    heldout_split,
    mix_points,
    run_ablation,
    run_ratio_sweep,
    summarize_ablation,
    summarize_runs,
)
from curator.fileio import atomic_write_json
from curator.hashing import config_hash
from curator.provenance import ablation_arm, is_main_synthetic, is_real, recipe_renders
from curator.results import AnalysisResult, jsonable
from curator.store import Workspace

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


def frame_mask(frame: pd.DataFrame, filters: Sequence[Sequence[Any]] | None) -> np.ndarray:
    """Rows of ``frame`` matching every ``(column, op, value)`` filter (``--where``)."""
    mask = np.ones(len(frame), bool)
    for col, op, value in filters or []:
        if col not in frame:
            raise ExperimentError(f"unknown column {col!r} in a filter; columns: "
                                  f"{', '.join(map(str, frame.columns))}")
        series = frame[col]
        if op in ("in", "not in"):
            hit = series.isin(list(value)).to_numpy()
            mask &= hit if op == "in" else ~hit
        else:
            mask &= _OPS[op](series, value).fillna(False).to_numpy(bool)
    return mask


def _digest(ids: Any) -> str:
    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()[:16]


def load_sweep_data(ws: Workspace, embedding: str, *, label: str = "label",
                    by: str | None = None, heldout: str | None = "test",
                    heldout_fraction: float = 0.25, dedup_scale: float = 0.2,
                    random_state: int = 0) -> tuple[pd.DataFrame, SweepData]:
    """The labelled rows with a vector in ``embedding``, the held-out split and its guard."""
    from curator.embed.store import load_embedding
    from curator.strata import stratum_keys

    emb = load_embedding(ws, embedding)
    columns = ws.scalar_columns()
    if "parent_ids" in ws.samples.schema().names:
        columns.append("parent_ids")
    frame = ws.to_pandas(columns)
    if label not in frame:
        raise ExperimentError(f"no column {label!r} to predict")
    frame = frame[frame[label].notna() & frame["sample_id"].isin(set(emb.ids.tolist()))]
    frame = frame.sort_values("sample_id", kind="stable").reset_index(drop=True)
    if frame.empty:
        raise ExperimentError(f"no labelled samples with a vector in embedding {embedding!r}")
    X = emb.vectors[emb.positions(frame["sample_id"].tolist())]
    hold = heldout_split(frame, X, split=heldout, fraction=heldout_fraction, label=label,
                         dedup_scale=dedup_scale, random_state=random_state)
    strata = stratum_keys(frame, by).to_numpy() if by else \
        frame[label].astype(str).to_numpy()
    data = SweepData(X, frame[label].astype(str).to_numpy(), frame["sample_id"].to_numpy(),
                     hold, np.asarray(strata).astype(str))
    # The embedding's settings, not its row set: rows added later (oversampled ones) leave
    # the vectors of these rows as they are; the candidates' ids are keyed separately.
    data.embedding_config = emb.info.config_hash  # type: ignore[attr-defined]
    return frame, data


def _directory(ws: Workspace, kind: str, config: dict[str, Any]) -> Path:
    key = {**config, "version": EXPERIMENT_VERSION, "finetune_iter": FINETUNE_ITER}
    return ws.root / "experiments" / f"{kind}-{config_hash(jsonable(key))}"


def _save(directory: Path, kind: str, config: dict[str, Any], runs: pd.DataFrame,
          **described: Any) -> None:
    """``described``: what names the experiment without keying it (e.g. the synthetic
    filter as written, whose selection the config already holds as a digest)."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"kind": kind, "config": config, "version": EXPERIMENT_VERSION, **described}
    atomic_write_json(directory / "experiment.json", jsonable(meta))
    records = runs.drop(columns=["cached"]).to_dict(orient="records")
    atomic_write_json(directory / "runs.json", jsonable(records), indent=None)


def _summary(kind: str, directory: Path, result: AnalysisResult, runs: pd.DataFrame,
             notes: list[str]) -> ExperimentSummary:
    cached = int(runs["cached"].sum())
    result.notes.extend(notes)
    return ExperimentSummary(kind, directory, result, len(runs) - cached, cached, notes)


def ratio_experiment(ws: Workspace, embedding: str = "pixels", *,
                     real_counts: Sequence[int | None] = (None,),
                     real_fractions: Sequence[float] = (0, 0.1, 0.25, 0.5, 1),
                     synthetic_per_real: Sequence[float] = (),
                     regimes: Sequence[str] = ("mixed",), model: str = "logistic",
                     seeds: int = 3, synthetic: Sequence[Sequence[Any]] | None = None,
                     by: str | None = None, heldout: str | None = "test",
                     random_state: int = 0, synthetic_weights: Sequence[float] = WEIGHT_GRID,
                     progress: Callable[[int, int], None] | None = None
                     ) -> ExperimentSummary:
    """The real:synthetic ratio sweep on ``embedding``, scored on the real held-out split.

    ``synthetic`` filters the synthetic candidates (default: the main synthetic set, rendered
    samples of the full recipes, :func:`curator.provenance.is_main_synthetic`); real
    candidates are the real samples outside the held-out split and its leakage guard.
    In the ``weighted`` regime each run picks the weight of its synthetic rows among
    ``synthetic_weights`` by cross-validation on its own real rows.
    Completed runs are cached, so re-running (or a run after an interruption) only trains
    what is missing.
    """
    frame, data = load_sweep_data(ws, embedding, by=by, heldout=heldout,
                                  random_state=random_state)
    syn = is_main_synthetic(frame) & frame_mask(frame, synthetic)
    real = is_real(frame)
    if not (syn & data.holdout.trainable).any():
        raise ExperimentError("no synthetic candidates to mix in"
                              + (f" matching {synthetic}" if synthetic else ""))
    points = mix_points(real_fractions, synthetic_per_real)
    config = {"embedding": embedding, "embedding_config": data.embedding_config,
              "heldout": _digest(data.ids[data.holdout.heldout]),
              "real": _digest(data.ids[real & data.holdout.trainable]),
              "synthetic": _digest(data.ids[syn & data.holdout.trainable]),
              "model": model, "by": by, "random_state": random_state,
              "real_counts": list(real_counts), "points": [p.name for p in points],
              "regimes": list(regimes), "seeds": seeds}
    notes = [f"held out: {data.holdout.how} ({int(data.holdout.heldout.sum())} samples); "
             f"{int(data.holdout.excluded.sum())} candidate(s) excluded as near-duplicates "
             "of or derived from held-out samples"]
    if "weighted" in regimes:  # keyed only then: other sweeps keep their directories
        config["synthetic_weights"] = list(check_weights(synthetic_weights))
        notes.append("weighted: each run weighs its synthetic rows by the weight among "
                     f"{', '.join(f'{w:g}' for w in config['synthetic_weights'])} with the "
                     "best cross-validated accuracy on its own real rows (never the "
                     "held-out split), then refits on the whole mix")
    directory = _directory(ws, "ratio", config)
    runs = run_ratio_sweep(data, real, syn, budgets=list(real_counts), points=points,
                           regimes=regimes, model=model, seeds=seeds,
                           random_state=random_state, cache=RunCache(directory / "runs"),
                           synthetic_weights=synthetic_weights, progress=progress)
    _save(directory, "ratio", config, runs,
          **({"synthetic_where": [list(f) for f in synthetic]} if synthetic else {}))
    return _summary("ratio", directory, summarize_runs(runs), runs, notes)


def _refresh_embedding(ws: Workspace, embedding: str) -> None:
    """Give newly generated rows their vectors in ``embedding`` (same embedder, same state)."""
    from curator.embed import embed_workspace, make_embedder
    from curator.embed.store import EmbeddingStore

    info = EmbeddingStore(ws, embedding).info()
    embed_workspace(ws, make_embedder(info.backend, **info.params), name=embedding,
                    filters=info.filters)


def ablation_experiment(ws: Workspace, recipe: str, embedding: str = "pixels", *,
                        real_count: int | None = 100, synthetic_per_real: float = 1.0,
                        generate: int = 0, augment: int = 0,
                        augment_ranges: dict[str, Any] | None = None, model: str = "logistic",
                        seeds: int = 3, heldout: str | None = "test", random_state: int = 0,
                        progress: Callable[[int, int], None] | None = None
                        ) -> ExperimentSummary:
    """Which randomizations matter: the recipe's full output against each variant with one
    randomizer held at its default, every arm the same size, scored on real held-out data.

    Variants are the workspace's ablation series of ``recipe`` (``gen_ablated``); with
    ``generate`` > 0, a missing variant is rendered (``generate`` samples, then embedded).
    With ``augment`` = N > 0, the real training draw with its xN affine copies (made with
    ``augment_ranges``, and embedded, where missing) is an arm too.
    """
    from generators.recipe import load_recipe

    notes: list[str] = []
    changed = False
    spec = load_recipe(recipe)
    frame = ws.to_pandas(["gen_recipe", "gen_ablated", "source"])
    rendered = frame[(frame["source"] == "synthetic") & (frame["gen_recipe"] == spec.name)]
    if rendered.empty:
        raise ExperimentError(f"no rendered samples of recipe {spec.name!r} in the workspace; "
                              f"run curator generate {spec.name} first")
    have = set(rendered["gen_ablated"].fillna("none"))
    missing = [r for r in spec.enabled if r not in have]
    if missing and generate:
        from generators.run import generate as run_generate

        for name in missing:
            run_generate(ws, spec.ablate(name), generate, seed=random_state)
        notes.append(f"rendered {generate} sample(s) for each missing variant: "
                     f"{', '.join(missing)}")
        changed = True
    elif missing:
        notes.append(f"no variant with {', '.join(missing)} held (pass --generate N to "
                     "render them)")
    aug_hash = None
    if augment:  # resumable: only real samples without these variants are augmented
        from curator.workflows.augment import augment as run_augment

        made = run_augment(ws, augment, seed=random_state, ranges=augment_ranges,
                           where="source == 'real'")
        aug_hash = made.config_hash
        notes.append(f"augmentation arm: x{augment} affine copies of the real training "
                     f"samples (augment config {aug_hash}, seed {random_state}"
                     + (f"; {made.written} made now" if made.written else "") + ")")
        changed = changed or made.written > 0
    if changed:
        _refresh_embedding(ws, embedding)
    frame, data = load_sweep_data(ws, embedding, heldout=heldout, random_state=random_state)
    ours = recipe_renders(frame) & (frame["gen_recipe"] == spec.name).to_numpy()
    ablated = ablation_arm(frame)
    arms = {name: ours & (ablated == name) for name in ["none", *spec.enabled]
            if (ours & (ablated == name)).any()}
    if "none" not in arms:
        raise ExperimentError(f"no samples of the full recipe {spec.name!r} (gen_ablated "
                              "'none') to compare the variants with")
    real = is_real(frame)
    augmented_of = None
    if augment:
        position = {sid: i for i, sid in enumerate(frame["sample_id"])}
        groups: dict[int, list[int]] = {}
        mine = (frame["source"] == "augmented").to_numpy() & (
            frame["config_hash"] == aug_hash).to_numpy() & (
            frame["aug_seed"] == random_state).to_numpy()
        for i in np.flatnonzero(mine):
            parents = frame["parent_ids"].iat[i]
            if parents is not None and len(parents) and parents[0] in position:
                groups.setdefault(position[parents[0]], []).append(int(i))
        augmented_of = {k: np.asarray(v, np.int64) for k, v in groups.items()}
    config = {"recipe": spec.name, "embedding": embedding,
              "embedding_config": data.embedding_config,
              "heldout": _digest(data.ids[data.holdout.heldout]),
              "real": _digest(data.ids[real & data.holdout.trainable]),
              "arms": {k: _digest(data.ids[v]) for k, v in arms.items()},
              "augment": augment, "augment_config": aug_hash, "model": model,
              "random_state": random_state, "real_count": real_count,
              "synthetic_per_real": synthetic_per_real, "seeds": seeds}
    directory = _directory(ws, "ablation", config)
    runs = run_ablation(data, real, arms, budget=real_count,
                        synthetic_per_real=synthetic_per_real, augmented_of=augmented_of,
                        model=model, seeds=seeds, random_state=random_state,
                        cache=RunCache(directory / "runs"), progress=progress)
    if runs.attrs.get("short"):
        notes.append("every arm gets the same synthetic count per label, capped by the "
                     f"smallest arm: short are {', '.join(runs.attrs['short'][:6])}"
                     + (" and more" if len(runs.attrs["short"]) > 6 else ""))
    _save(directory, "ablation", config, runs)
    return _summary("ablation", directory, summarize_ablation(runs), runs, notes)


def saved_experiments(root: Path) -> list[AnalysisResult]:
    """The experiments saved under ``root`` (``WS/experiments``), summarized again from
    their runs: ratio sweeps first, then ablations, each in name order."""
    out = []
    if not root.is_dir():
        return out
    for kind in ("ratio", "ablation"):
        for directory in sorted(root.glob(f"{kind}-*")):
            runs_file = directory / "runs.json"
            if not runs_file.is_file():
                continue
            runs = pd.DataFrame(json.loads(runs_file.read_text()))
            if runs.empty:
                continue
            meta = json.loads((directory / "experiment.json").read_text())
            result = summarize_runs(runs) if kind == "ratio" else summarize_ablation(runs)
            result.params = {**meta.get("config", {}),
                             **({"synthetic_where": meta["synthetic_where"]}
                                if meta.get("synthetic_where") else {})}
            out.append(result)
    return out
