"""``curator tune``: black-box search (Optuna) over a recipe's randomizer ranges for the renders
closest to the workspace's real samples, with the study kept in the workspace and resumable.

Each trial renders ``n_per_trial`` samples with its ranges into a scratch workspace that is
removed afterwards (trial renders never join the samples), embeds them with the chosen
embedding's fitted embedder, and scores :func:`curator.tuning.gap_objective` against the real
selection. The study lives in ``WS/tune/<recipe>-<config hash>/``: Optuna's append-only
journal (``journal.log``), ``summary.json`` after every trial, the tuned recipe and the result.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.embed import EmbeddingStore, load_embedding
from curator.embed.engine import embed_rows, fitted_embedder, state_digest
from curator.errors import CuratorError
from curator.fileio import atomic_write_bytes, atomic_write_json, file_lock
from curator.hashing import config_hash
from curator.results import ResultMixin, jsonable
from curator.select import EVAL_SPLITS
from curator.store import Workspace, init_workspace
from curator.tuning import POOLED, GapScore, ObjectiveConfig, gap_objective
from curator.validation import check_scalar
from generators.recipe import load_recipe
from generators.search_space import (
    SearchSpace,
    recipe_yaml,
    search_space,
    tuned_recipe,
    tuned_recipe_data,
)

Progress = Callable[[int, int | None], None]
Filter = tuple[str, str, Any]

#: The real samples a recipe is tuned against unless ``--to`` says otherwise.
DEFAULT_TO: tuple[Filter, ...] = (("source", "==", "real"), ("split", "==", "train"))
SAMPLERS = ("tpe", "cmaes")
JOURNAL = "journal.log"
SUMMARY = "summary.json"
RESULT = "result.json"
#: Trials before parameter importances are computed (fANOVA on fewer says nothing).
MIN_TRIALS_FOR_IMPORTANCE = 4


class TuneError(CuratorError):
    """A tuning run cannot start as asked (selection, embedding, options)."""


@dataclass(frozen=True)
class TuneConfig:
    """What a study is: everything here is hashed into its folder name.

    Parameters
    ----------
    recipe
        A built-in recipe name or a YAML/JSON file: where the search starts (trial 0).
    embedding
        The workspace embedding whose fitted embedder scores the renders.
    to
        Filters choosing the real samples to match; never an evaluation split.
    params
        Which ranges are tuned (``randomizer.param`` or ``randomizer``); ``None``: every
        numeric range of an enabled randomizer (see :func:`generators.search_space.search_space`).
    n_per_trial
        Samples each trial renders.
    seed
        Seeds the sampler and the renders: the same config gives the same study.
    sampler
        ``tpe`` (Optuna's TPESampler) or ``cmaes`` (CmaEsSampler).
    widen
        How far (in range widths) a range may move beyond either end.
    objective
        How a trial is scored (:class:`curator.tuning.ObjectiveConfig`).
    """

    recipe: str
    embedding: str = "pixels"
    to: tuple[Filter, ...] = DEFAULT_TO
    params: tuple[str, ...] | None = None
    n_per_trial: int = 200
    seed: int = 0
    sampler: str = "tpe"
    widen: float = 1.0
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)

    def __post_init__(self) -> None:
        check_scalar(self.n_per_trial, "n_per_trial", min_val=4, error=TuneError)
        check_scalar(self.seed, "seed", min_val=0, error=TuneError)
        if self.sampler not in SAMPLERS:
            raise TuneError(f"sampler must be one of {', '.join(SAMPLERS)}, got "
                            f"{self.sampler!r}")


@dataclass
class TuneResult(ResultMixin):
    """What a tuning run found: the best ranges, the gap before and after, importances."""

    recipe: str
    study_dir: str
    config_hash: str
    n_trials: int
    best_index: int
    baseline_objective: float
    best_objective: float
    tuned_recipe: str
    changed: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    importances: dict[str, float] = field(default_factory=dict)
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    stopped: str = "trials"
    seconds: float = 0.0

    def result_title(self) -> str:
        return f"tune {self.recipe}"

    def result_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "trials"}

    def __str__(self) -> str:
        def gap(d: dict[str, Any]) -> str:
            return (f"objective {d['objective']:.4f}; C2ST AUC {d['auc']:.3f} "
                    f"[{d['auc_lo']:.3f}, {d['auc_hi']:.3f}]; KID {d['kid']:.4g} "
                    f"[{d['kid_lo']:.4g}, {d['kid_hi']:.4g}]")
        lines = [f"tuned {self.recipe}: {self.n_trials} trial(s) (stopped by {self.stopped}, "
                 f"{self.seconds:.0f}s); best trial {self.best_index}: objective "
                 f"{self.best_objective:.4f} (start: {self.baseline_objective:.4f})",
                 f"  before (recipe as given): {gap(self.before)}",
                 f"  after (best ranges):      {gap(self.after)}",
                 f"  tuned recipe: {self.tuned_recipe}", f"  study: {self.study_dir}"]
        for key, value in (self.changed.get("randomizers") or {}).items():
            lines.append(f"  {key}: " + ", ".join(f"{p} = {v}" for p, v in value.items()))
        if self.importances:
            top = list(self.importances.items())[:8]
            lines.append("  importance: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
        return "\n".join(lines)


# -- inputs ------------------------------------------------------------------------------------
def real_selection(ws: Workspace, to: Sequence[Filter]) -> pd.DataFrame:
    """``sample_id``, ``label`` and ``split`` of the real rows ``to`` selects; refuses
    evaluation splits (tuning on them would leak into every later held-out score)."""
    frame = ws.to_table(["sample_id", "label", "split", "source"],
                        filters=[tuple(f) for f in to] or None).to_pandas()
    where = " and ".join(f"{c} {op} {v!r}" for c, op, v in to) or "(everything)"
    if frame.empty:
        raise TuneError(f"--to {where} selects no samples in {ws.root}")
    held = frame[frame["split"].isin(EVAL_SPLITS)]
    if len(held):
        counts = held["split"].value_counts().to_dict()
        raise TuneError(f"--to {where} selects {len(held)} held-out row(s) ({counts}); tuning "
                        "never reads an evaluation split: restrict it, e.g. --to "
                        "\"source == 'real'\" --to \"split == 'train'\"")
    fake = frame[frame["source"] != "real"]
    if len(fake):
        raise TuneError(f"--to {where} selects {len(fake)} row(s) that are not real "
                        f"(source {sorted(fake['source'].unique())}); add --to \"source == "
                        "'real'\"")
    return frame.sort_values("sample_id", ignore_index=True)


def trial_seed(seed: int, index: int) -> int:
    """The sampler and render seed of the ``index``-th finished trial (``-1``: evaluation)."""
    return int(config_hash(["tune", seed, index]), 16) % (2**31)


def make_sampler(kind: str, seed: int) -> Any:
    import optuna

    if kind == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.TPESampler(seed=seed)


@dataclass
class _Context:
    """What every trial of a run shares."""

    ws: Workspace
    config: TuneConfig
    space: SearchSpace
    real: np.ndarray
    labels: np.ndarray
    embedder: Any
    study_dir: Path
    workers: int | None
    executor: str | None


def render_and_score(ctx: _Context, overrides: dict[str, Any], seed: int) -> GapScore:
    """Render ``n_per_trial`` samples of the recipe with ``overrides`` into a scratch
    workspace (removed afterwards), embed them and score them against the real selection."""
    from generators.run import generate
    from generators.workspace_assets import load_catalog

    recipe = tuned_recipe(ctx.config.recipe, overrides)
    with tempfile.TemporaryDirectory(dir=ctx.study_dir, prefix="scratch-") as tmp:
        scratch = init_workspace(tmp)
        generate(scratch, recipe, ctx.config.n_per_trial, seed=seed, workers=ctx.workers,
                 executor=ctx.executor, catalog=load_catalog(ctx.ws), asset_root=ctx.ws.root)
        ids, vectors = embed_rows(scratch, ctx.embedder)
        table = scratch.to_table(["sample_id", "label"]).to_pandas().set_index("sample_id")
        labels = table.loc[ids, "label"].to_numpy()
    return gap_objective(ctx.real, vectors, ctx.labels, labels, ctx.config.objective)


def _context(ws: Workspace, config: TuneConfig, workers: int | None,
             executor: str | None) -> tuple[_Context, str]:
    recipe = load_recipe(config.recipe)
    space = search_space(recipe, config.params, widen=config.widen)
    rows = real_selection(ws, config.to)
    store = EmbeddingStore(ws, config.embedding)
    info = store.info()
    real = load_embedding(ws, config.embedding, rows["sample_id"].tolist()).vectors
    key = config_hash({"space": space.config(), "to": [list(f) for f in config.to],
                       "real": config_hash(rows["sample_id"].tolist()),
                       "embedding": [info.config_hash, state_digest(store.state())],
                       "n_per_trial": config.n_per_trial, "seed": config.seed,
                       "sampler": config.sampler, "objective": config.objective.to_dict()})
    study_dir = ws.root / "tune" / f"{recipe.name}-{key}"
    study_dir.mkdir(parents=True, exist_ok=True)
    return _Context(ws, config, space, real, rows["label"].astype(str).to_numpy(),
                    fitted_embedder(ws, config.embedding), study_dir, workers, executor), key


# -- the study -------------------------------------------------------------------------------
def _open_study(ctx: _Context, key: str) -> Any:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(ctx.study_dir / JOURNAL)))
    study = optuna.create_study(study_name=key, storage=storage, direction="minimize",
                                load_if_exists=True,
                                sampler=make_sampler(ctx.config.sampler, ctx.config.seed))
    # We hold the study's lock, so a trial still running was left by a killed run: fail it.
    # Samplers only learn from finished trials, so the next trial asks what it asked.
    for trial in study.get_trials(deepcopy=False,
                                  states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return study


def _complete(study: Any) -> list[Any]:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def _run_trial(ctx: _Context, study: Any, index: int) -> None:
    import optuna

    seed = trial_seed(ctx.config.seed, index)
    # A fresh sampler per trial, seeded by the trial's position: a resumed study draws what
    # an uninterrupted one draws (a sampler's own random state does not survive a restart).
    study.sampler = make_sampler(ctx.config.sampler, seed)
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    if index == 0 and not waiting:
        study.enqueue_trial(ctx.space.start_params())  # trial 0: the recipe as given
    trial = study.ask()
    start = time.perf_counter()
    values = ctx.space.suggest(trial)
    overrides = ctx.space.overrides(values)
    score = render_and_score(ctx, overrides, seed)
    pooled = score.pooled
    trial.set_user_attr("index", index)
    trial.set_user_attr("seed", seed)
    trial.set_user_attr("ranges", jsonable(ctx.space.to_frame_row(values)))
    trial.set_user_attr("overrides", jsonable(overrides))
    trial.set_user_attr("metrics", jsonable({k: pooled[k] for k in ("auc", "auc_lo", "auc_hi",
                                                                     "kid", "kid_lo", "kid_hi")}))
    trial.set_user_attr("per_label", jsonable(score.scores.to_dict(orient="records")))
    trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
    study.tell(trial, score.objective)


def trials_frame(study: Any) -> pd.DataFrame:
    """One row per finished trial, in order: index, objective, seed, metrics, ranges."""
    rows = []
    for t in sorted(_complete(study), key=lambda t: t.user_attrs.get("index", t.number)):
        a = t.user_attrs
        rows.append({"index": a.get("index"), "number": t.number, "objective": t.value,
                     "seed": a.get("seed"), **a.get("metrics", {}), "seconds": a.get("seconds"),
                     **a.get("ranges", {})})
    return pd.DataFrame(rows)


def _write_json(path: Path, data: Any) -> None:
    atomic_write_json(path, jsonable(data))


def importances(study: Any, seed: int) -> dict[str, float]:
    """fANOVA importance of each tuned parameter (its centre and width summed), largest
    first; empty with fewer than :data:`MIN_TRIALS_FOR_IMPORTANCE` trials or no spread."""
    import optuna

    if len(_complete(study)) < MIN_TRIALS_FOR_IMPORTANCE:
        return {}
    try:
        raw = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}
    out: dict[str, float] = {}
    for name, value in raw.items():
        key = name.removesuffix(".centre").removesuffix(".width")
        out[key] = out.get(key, 0.0) + float(value)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _gap_row(score: GapScore) -> dict[str, Any]:
    return {"objective": score.objective, **{k: v for k, v in score.pooled.items()
                                             if k != "label"}}


def tune_recipe(ws: Workspace, config: TuneConfig, *, trials: int = 20,
                budget_seconds: float | None = None, workers: int | None = None,
                executor: str | None = None, out: str | Path | None = None,
                progress: Progress | None = None) -> TuneResult:
    """Tune ``config.recipe`` against the real samples ``config.to`` selects.

    Runs trials until the study has ``trials`` finished ones (a re-run continues it) or
    ``budget_seconds`` have passed, then writes the best recipe (``<recipe>-tuned.yaml`` in
    the study folder, and ``out`` when given) and re-scores the recipe as given and the best
    ranges on a fresh render seed (the best trial's own score is picked as the lowest of many,
    so it flatters): the before and after gap, with intervals.
    """
    check_scalar(trials, "trials", min_val=1, error=TuneError)
    check_scalar(budget_seconds, "budget_seconds", Real, min_val=0, error=TuneError,
                 allow_none=True)
    start = time.perf_counter()
    ctx, key = _context(ws, config, workers, executor)
    with file_lock(ctx.study_dir / ".lock", what=f"tuning study {ctx.study_dir.name}"):
        for stale in ctx.study_dir.glob("scratch-*"):  # renders of a killed trial
            shutil.rmtree(stale, ignore_errors=True)
        study = _open_study(ctx, key)
        stopped = "trials"
        while (done := len(_complete(study))) < trials:
            if progress:
                progress(done, trials)
            if budget_seconds is not None and time.perf_counter() - start >= budget_seconds:
                stopped = "budget"
                break
            _run_trial(ctx, study, done)
            _write_json(ctx.study_dir / SUMMARY, {
                "config": config, "config_hash": key,
                "trials": trials_frame(study).to_dict(orient="records")})
        if progress:
            progress(len(_complete(study)), trials)
        return _finish(ctx, study, key, stopped, out, time.perf_counter() - start)


def _finish(ctx: _Context, study: Any, key: str, stopped: str, out: str | Path | None,
            seconds: float) -> TuneResult:
    frame = trials_frame(study)
    if frame.empty:
        raise TuneError(f"the study in {ctx.study_dir} has no finished trial yet; raise "
                        "--budget-seconds")
    best = study.best_trial
    changed = best.user_attrs["overrides"]
    recipe = load_recipe(ctx.config.recipe)
    header = (f"Tuned by `curator tune {ctx.config.recipe}` against {ctx.ws.root} "
              f"(embedding {ctx.config.embedding}); study {ctx.study_dir.name}, best trial "
              f"{best.user_attrs['index']} of {len(frame)}, objective {best.value:.4f}.")
    text = recipe_yaml(tuned_recipe_data(ctx.config.recipe, changed), header)
    path = ctx.study_dir / f"{recipe.name}-tuned.yaml"
    atomic_write_bytes(path, text.encode())
    if out is not None:
        atomic_write_bytes(Path(out).absolute(), text.encode())
    eval_seed = trial_seed(ctx.config.seed, -1)
    before = render_and_score(ctx, {}, eval_seed)
    after = before if not changed else render_and_score(ctx, changed, eval_seed)
    baseline = frame.loc[frame["index"] == 0, "objective"]
    result = TuneResult(
        recipe=recipe.name, study_dir=str(ctx.study_dir), config_hash=key, n_trials=len(frame),
        best_index=int(best.user_attrs["index"]),
        baseline_objective=float(baseline.iloc[0]) if len(baseline) else float("nan"),
        best_objective=float(best.value), tuned_recipe=str(Path(out).absolute() if out else path),
        changed=changed, before=_gap_row(before), after=_gap_row(after),
        importances=importances(study, ctx.config.seed), trials=frame, stopped=stopped,
        seconds=seconds)
    result.save(ctx.study_dir / RESULT)
    return result


__all__ = ["DEFAULT_TO", "POOLED", "SAMPLERS", "TuneConfig", "TuneError", "TuneResult",
           "real_selection", "render_and_score", "trial_seed", "trials_frame", "tune_recipe"]
