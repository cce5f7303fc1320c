"""Parameter-space oversampling: SMOTE between the generator parameters of minority samples,
and perturbations around an exemplar, rendered as new samples with exact labels and parents.

A workflow above the core and the generator stage: it reads a workspace, calls the
neighbour engine and the renderer (:func:`generators.run.generate_many`), and writes rows.

The pure functions (:func:`interpolate_parameters`, :func:`perturb_parameters`) turn recorded
sample parameters into new parameter rows; :func:`render_parameter_rows` pins each row's
values as one-point recipe ranges and renders it, recording ``parent_ids`` and the weight.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from curator.hashing import config_hash
from curator.neighbors import NeighborIndex
from curator.oversample import stratum_deficits, with_label
from curator.provenance import is_main_synthetic
from curator.stats import AnalysisError
from curator.store import Workspace
from curator.strata import stratum_keys
from curator.validation import check_scalar
from curator.workflows.oversample import OversampleSummary
from generators.errors import RecipeError
from generators.recipe import RANDOMIZERS, Param, load_recipe, merge_overrides
from generators.requests import COLUMN_PARAMS
from generators.run import RunSpec, generate_many

#: Sample columns a render reproduces exactly when their parameter is pinned. Left out:
#: ``mat_hue`` (recorded from the rendered colour, which saturation also moves) and
#: ``bg_kind`` (a category, not a number to interpolate).
PARAM_COLUMNS: tuple[str, ...] = tuple(
    c for c, (group, name) in COLUMN_PARAMS.items()
    if c != "mat_hue" and RANDOMIZERS[group][name].kind in ("float", "int"))

#: Columns of a parameter-row frame besides the parameter columns themselves.
ROW_COLUMNS = ("parent_a", "parent_b", "weight", "label", "recipe")

#: Default perturbation standard deviations, by column (others: see :func:`default_scale`).
DEFAULT_SCALES: dict[str, float] = {"color_temp_k": 300.0}


def _param(column: str) -> Param:
    group, name = COLUMN_PARAMS[column]
    return RANDOMIZERS[group][name]


def _is_circular(column: str) -> bool:
    """Angles whose hard bounds are the whole circle: interpolated on the shortest arc."""
    p = _param(column)
    return column.endswith("_deg") and p.lo == -180 and p.hi == 180


def _wrap_deg(values: np.ndarray) -> np.ndarray:
    """Bring angles back into [-180, 180] by whole turns (values inside are left as they are)."""
    return np.where(values > 180, values - 360, np.where(values < -180, values + 360, values))


def default_scale(column: str) -> float:
    """Perturbation std of ``column``: 5 deg for angles, 300 K for colour temperature, else
    5% of the parameter's default range (at least 1 for whole-number parameters; 0 where the
    default range is a single value, e.g. ``sensor_jpeg_quality``)."""
    if column in DEFAULT_SCALES:
        return DEFAULT_SCALES[column]
    if column.endswith("_deg"):
        return 5.0
    p = _param(column)
    lo, hi = p.default if isinstance(p.default, tuple) else (p.lo, p.hi)
    width = float(hi) - float(lo)
    if width <= 0:
        return 0.0
    return max(1.0, 0.05 * width) if p.kind == "int" else 0.05 * width


# -- input checks -----------------------------------------------------------------------------
def _check_columns(frame: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        cols = [c for c in PARAM_COLUMNS if c in frame and frame[c].notna().all()]
        if not cols:
            raise RecipeError(f"the frame has none of the generator parameter columns "
                              f"({', '.join(PARAM_COLUMNS[:6])}, ...); select them with the "
                              "samples (they are recorded on every generated row)")
        return cols
    cols = list(columns)
    for c in cols:
        if c not in PARAM_COLUMNS:
            match = difflib.get_close_matches(c, PARAM_COLUMNS, n=1)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
            raise RecipeError(f"column {c!r} is not a generator parameter that a render "
                              f"reproduces{hint}; choose from {', '.join(PARAM_COLUMNS)}")
        if c not in frame:
            raise RecipeError(f"column {c!r} is not in the frame; include it when selecting "
                              "the samples")
        bad = frame.index[frame[c].isna()]
        if len(bad):
            raise AnalysisError(f"column {c!r} is missing for sample "
                                f"{frame.loc[bad[0], 'sample_id']!r} (and {len(bad) - 1} more); "
                                "only generated samples carry their parameters")
    if not cols:
        raise RecipeError("columns is empty: name at least one parameter column")
    return cols


def _check_frame(frame: Any, columns: Sequence[str] | None) -> tuple[str, Any, list[str]]:
    """The frame's one recipe, one label (or None) and the parameter columns to use."""
    if not isinstance(frame, pd.DataFrame):
        raise AnalysisError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    for needed in ("sample_id", "gen_recipe"):
        if needed not in frame:
            raise AnalysisError(f"frame has no {needed!r} column; parameter oversampling "
                                "needs generated samples (select sample_id, label, gen_recipe "
                                "and the parameter columns)")
    if len(frame) == 0:
        raise AnalysisError("frame is empty: no samples to oversample from")
    recipes = frame["gen_recipe"].dropna().unique()
    if len(recipes) != 1 or frame["gen_recipe"].isna().any():
        raise RecipeError(f"frame mixes recipes {sorted(map(str, recipes))} (or has real "
                          "samples without one); oversample one recipe at a time, e.g. "
                          "frame[frame.gen_recipe == 'digits3d']")
    label = None
    if "label" in frame:
        labels = frame["label"].dropna().unique()
        if len(labels) > 1:
            raise AnalysisError(f"frame mixes labels {sorted(map(str, labels))[:10]}; "
                                "interpolate within one stratum (one label) at a time")
        label = str(labels[0]) if len(labels) else None
    return str(recipes[0]), label, _check_columns(frame, columns)


def _finish(values: np.ndarray, columns: list[str], *, clip: bool) -> np.ndarray:
    """Wrap full-circle angles, optionally clip to hard bounds, round whole-number params."""
    out = values.copy()
    for j, c in enumerate(columns):
        p = _param(c)
        if _is_circular(c):
            out[:, j] = _wrap_deg(out[:, j])
        elif clip and p.lo is not None:
            out[:, j] = np.clip(out[:, j], p.lo, p.hi)
        if p.kind == "int":
            out[:, j] = np.rint(out[:, j])
    return out


def _rows_frame(parent_a, parent_b, weight, label, recipe, values, columns) -> pd.DataFrame:
    out = pd.DataFrame({"parent_a": np.asarray(parent_a, dtype=object),
                        "parent_b": np.asarray(parent_b, dtype=object),
                        "weight": np.asarray(weight, dtype=float),
                        "label": label, "recipe": recipe})
    for j, c in enumerate(columns):
        out[c] = values[:, j].astype(int) if _param(c).kind == "int" else values[:, j]
    return out


# -- pure: new parameter rows -----------------------------------------------------------------
def interpolate_parameters(frame: pd.DataFrame, n: int, *, columns: Sequence[str] | None = None,
                           k_neighbors: int = 5, random_state: int = 0) -> pd.DataFrame:
    """``n`` new parameter rows, each between a sample and one of its k nearest neighbours.

    As SMOTE: a base row ``a`` and one of its ``k_neighbors`` nearest rows ``b`` (Euclidean
    on the z-scored columns, self excluded) are drawn uniformly, with ``w ~ U(0, 1)``; each
    column becomes ``a + w (b - a)``. Full-circle angles (bounds [-180, 180]) take the
    shortest arc, so 170 and -170 meet at 180, not 0; whole-number parameters are rounded.

    Parameters
    ----------
    frame
        Generated samples of one recipe (``gen_recipe``) and one stratum: ``sample_id``,
        ``label`` and the parameter columns (:data:`PARAM_COLUMNS`).
    columns
        Parameters to interpolate (default: every one in ``frame`` without missing values).

    Returns
    -------
    DataFrame
        ``parent_a``, ``parent_b`` (sample ids), ``weight``, ``label``, ``recipe`` and the
        interpolated columns, one row per new sample.
    """
    recipe, label, cols = _check_frame(frame, columns)
    n = check_scalar(n, "n", min_val=0, error=AnalysisError)
    k = check_scalar(k_neighbors, "k_neighbors", min_val=1, error=AnalysisError)
    if len(frame) < k + 1:
        raise AnalysisError(f"the stratum has {len(frame)} samples; interpolation needs at "
                            f"least k_neighbors + 1 = {k + 1}: lower k_neighbors or widen the "
                            "stratum")
    X = frame[cols].to_numpy(dtype=float)
    std = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    neighbors = NeighborIndex(k, random_state=random_state).fit(Z).kneighbors(
        return_distance=False)
    rng = np.random.default_rng(random_state)
    base = rng.integers(len(frame), size=n)
    partner = neighbors[base, rng.integers(k, size=n)]
    weight = rng.uniform(size=n)
    a, b = X[base], X[partner]
    diff = b - a
    circular = np.array([_is_circular(c) for c in cols])
    diff[:, circular] = (diff[:, circular] + 180.0) % 360.0 - 180.0
    values = _finish(a + weight[:, None] * diff, cols, clip=False)
    ids = frame["sample_id"].to_numpy(dtype=object)
    return _rows_frame(ids[base], ids[partner], weight, label, recipe, values, cols)


def perturb_parameters(frame: pd.DataFrame, n_per_sample: int, *,
                       columns: Sequence[str] | None = None,
                       scales: Mapping[str, float] | None = None,
                       random_state: int = 0) -> pd.DataFrame:
    """``n_per_sample`` variations of each exemplar: its recorded parameters plus Gaussian noise.

    Each column gets noise of std ``scales[column]`` (default :func:`default_scale`; 0 keeps
    the exemplar's value), then values are clipped to the parameter's hard bounds (full-circle
    angles wrap instead) and whole-number parameters rounded. ``parent_a == parent_b`` is the
    exemplar and ``weight`` is NaN. Columns as :func:`interpolate_parameters`.
    """
    recipe, label, cols = _check_frame(frame, columns)
    m = check_scalar(n_per_sample, "n_per_sample", min_val=0, error=AnalysisError)
    scales = dict(scales or {})
    for c, s in scales.items():
        if c not in cols:
            raise RecipeError(f"scales names {c!r}, which is not among the columns perturbed "
                              f"({', '.join(cols)})")
        check_scalar(s, f"scales[{c!r}]", Real, min_val=0, error=AnalysisError,
                     message="{name} must be a standard deviation >= 0, got {value!r}")
    sd = np.array([float(scales.get(c, default_scale(c))) for c in cols])
    X = frame[cols].to_numpy(dtype=float)
    base = np.repeat(np.arange(len(frame)), m)
    rng = np.random.default_rng(random_state)
    values = _finish(X[base] + rng.normal(size=(len(base), len(cols))) * sd, cols, clip=True)
    ids = frame["sample_id"].to_numpy(dtype=object)[base]
    return _rows_frame(ids, ids, np.full(len(base), np.nan), label, recipe, values, cols)


# -- rendering --------------------------------------------------------------------------------
def pin_overrides(row: Mapping[str, Any], columns: Sequence[str],
                  enabled: Sequence[str]) -> dict[str, Any]:
    """Recipe overrides that make a render reproduce ``row``'s parameter values exactly.

    A parameter of an enabled randomizer gets the one-point range ``[v, v]`` (drawn as exactly
    ``v``); one of a held randomizer gets ``held: v`` and stays held, so pinning never turns a
    randomizer on. Values are clipped to the hard bounds; whole-number ones stay ints. The
    row's label, if any, becomes ``scene.objects.query.labels``.
    """
    randomizers: dict[str, dict[str, Any]] = {}
    for c in columns:
        group, name = COLUMN_PARAMS[c]
        p = _param(c)
        v = float(row[c])
        if p.lo is not None:
            v = min(max(v, float(p.lo)), float(p.hi))
        value: float | int = int(round(v)) if p.kind == "int" else v
        block = randomizers.setdefault(group, {})
        if group in enabled:
            block[name] = [value, value]
        else:
            block["enabled"] = False
            block.setdefault("held", {})[name] = value
    overrides: dict[str, Any] = {"randomizers": randomizers} if randomizers else {}
    label = row.get("label")
    if label is not None and not (isinstance(label, float) and math.isnan(label)):
        overrides["scene"] = {"objects": {"query": {"labels": [str(label)]}}}
    return overrides


def _row_seed(seed: int, row: Mapping[str, Any], columns: Sequence[str]) -> int:
    """A run seed that is a function of the row only: re-running the same rows resumes."""
    key = config_hash({"seed": int(seed), "parents": [str(row["parent_a"]), str(row["parent_b"])],
                       "weight": repr(float(row["weight"])),
                       "values": {c: repr(float(row[c])) for c in columns}})
    return int(key, 16) >> 1  # 63 bits: a non-negative int64


def render_parameter_rows(ws: Any, rows: pd.DataFrame, *, seed: int = 0,
                          recipe: str | Path | None = None,
                          overrides: Mapping[str, Any] | None = None,
                          split: str = "train", catalog: Any = None,
                          workers: int | None = None, executor: str | None = None,
                          progress: Any = None) -> pd.DataFrame:
    """Render one sample per parameter row into ``ws``, with its parents and weight.

    Each row is rendered with its recipe (``rows.recipe``, or ``recipe`` when the samples
    came from a recipe file) plus ``overrides`` (e.g. ``{"size": 32}``, as the parents were
    made) plus :func:`pin_overrides`. Parameters not in ``rows`` (asset, material colour,
    background, sensor unless given) are drawn from the row's own seed. Written rows have
    ``source=synthetic``, ``parent_ids`` = [parent_a, parent_b] (one id for a perturbation),
    ``interp_weight`` (null for perturbations) and ``oversample_kind``. Seeds depend only
    on ``seed`` and the row, so re-rendering the same rows writes nothing new.

    The rows render as one :func:`~generators.run.generate_many` call: packed into tasks of
    up to 32 on ``executor`` (local pool by default, or Ray) with ``workers`` processes
    (default: all cores). Same rows and seed, same bytes on either.

    Returns ``rows`` with the rendered ``sample_id`` and ``written`` (False: already there).
    """
    if not isinstance(rows, pd.DataFrame):
        raise AnalysisError(f"rows must be a DataFrame from interpolate_parameters or "
                            f"perturb_parameters, got {type(rows).__name__}")
    missing = [c for c in ROW_COLUMNS if c not in rows]
    if missing:
        raise AnalysisError(f"rows lack {missing}; make them with interpolate_parameters or "
                            "perturb_parameters")
    columns = [c for c in rows.columns if c in COLUMN_PARAMS]
    unknown = [c for c in columns if c not in PARAM_COLUMNS]
    if unknown:
        raise RecipeError(f"rows pin {unknown}, which a render does not reproduce; drop them")
    overrides = dict(overrides or {})
    recipes: dict[str, Any] = {}
    runs: list[RunSpec] = []
    for row in rows.to_dict("records"):
        spec = recipe if recipe is not None else row["recipe"]
        if str(spec) not in recipes:
            recipes[str(spec)] = load_recipe(spec, overrides)
        enabled = recipes[str(spec)].enabled
        pinned = load_recipe(spec, merge_overrides(overrides, pin_overrides(row, columns, enabled)))
        parents = list(dict.fromkeys([str(row["parent_a"]), str(row["parent_b"])]))
        weight = None if math.isnan(float(row["weight"])) else float(row["weight"])
        kind = "perturb" if weight is None else "interpolate"
        runs.append(RunSpec(pinned, 1, _row_seed(seed, row, columns),
                            {"parent_ids": parents, "interp_weight": weight,
                             "oversample_kind": kind}))
    # One call: the rows' one-sample runs are packed into tasks on the executor.
    summaries = generate_many(ws, runs, workers=workers, executor=executor, catalog=catalog,
                              split=split, progress=progress)
    ids: dict[tuple[str, int], str] = {}
    if summaries:
        found = ws.to_table(columns=["sample_id", "config_hash", "gen_seed"],
                            filters=pc.field("config_hash").isin(
                                sorted({s.config_hash for s in summaries})))
        ids = {(h, int(g)): sid for sid, h, g in zip(*(found[c].to_pylist() for c in
                                                      found.column_names), strict=True)}
    out = rows.copy()
    out["sample_id"] = [ids.get((s.config_hash, s.seed)) for s in summaries]
    out["written"] = [s.written > 0 for s in summaries]
    return out


def oversample_render_workspace(ws: Workspace, *, by: str = "label", target: Any = "auto",
                                k_neighbors: int = 5, filters: Any = None,
                                random_state: int = 0, workers: int | None = None,
                                executor: str | None = None, progress: Any = None
                                ) -> OversampleSummary:
    """Render new samples for the strata of ``ws``'s generated data short of ``target``:
    SMOTE between the recorded generator parameters of a stratum's samples, each new sample
    rendered with perfect labels (``source=synthetic``, ``parent_ids``, ``interp_weight``).

    Parents are the main rendered samples of one recipe (not ablation variants); strata are
    counted per recipe. A stratum with fewer than ``k_neighbors + 1`` samples is skipped and
    named in the summary. Re-running renders nothing twice.
    """
    by = with_label(by)
    flat = ws.scalar_columns()
    frame = ws.to_pandas(flat, filters)
    # Parents: the main synthetic set (no ablation variants, no renders of earlier runs).
    keep = is_main_synthetic(frame) & frame["label"].notna().to_numpy()
    if "gen_recipe" in frame:
        keep &= frame["gen_recipe"].notna().to_numpy()
    frame = frame[keep].reset_index(drop=True)
    if frame.empty or "gen_recipe" not in frame:
        raise AnalysisError("no rendered samples with recorded generator parameters to "
                            "interpolate" + (f" matching {filters}" if filters else ""))
    strata = stratum_keys(frame, by)
    created = written = 0
    per_stratum: dict[str, int] = {}
    skipped: list[str] = []
    planned: list[pd.DataFrame] = []
    for recipe, group in frame.groupby("gen_recipe", sort=True):
        keys = strata[group.index]
        for key, lack in sorted(stratum_deficits(keys.value_counts(), target).items()):
            members = group[(keys == key).to_numpy()]
            if len(members) < k_neighbors + 1:
                skipped.append(f"{recipe} {key} ({len(members)})")
                continue
            columns = [c for c in PARAM_COLUMNS if c in members and members[c].notna().all()]
            seed = int(config_hash({"seed": random_state, "stratum": str(key)}), 16) % 2**31
            rows = interpolate_parameters(members, lack, columns=columns,
                                          k_neighbors=k_neighbors, random_state=seed)
            planned.append(rows.assign(_stratum=f"{recipe} {key}"))
    if planned:  # every stratum's rows in one run on the executor
        rows = pd.concat(planned, ignore_index=True)
        done = render_parameter_rows(ws, rows.drop(columns="_stratum"), seed=random_state,
                                     workers=workers, executor=executor, progress=progress)
        created, written = len(done), int(done["written"].sum())
        per_stratum = {k: int(v) for k, v in rows["_stratum"].value_counts(sort=False).items()}
    chash = config_hash({"by": by, "target": repr(target), "k": k_neighbors,
                         "filters": repr(filters), "random_state": random_state})
    return OversampleSummary("generator parameters", by, "render", chash, created, written,
                             per_stratum, skipped)


def variations_workspace(ws: Workspace, sample_ids: Sequence[str], n_per_sample: int, *,
                         scales: Mapping[str, float] | None = None,
                         random_state: int = 0, workers: int | None = None,
                         executor: str | None = None, progress: Any = None
                         ) -> OversampleSummary:
    """"More like this one": ``n_per_sample`` renders around each exemplar's recorded
    parameters (:func:`perturb_parameters`), each with the exemplar as its parent."""
    ids = [str(s) for s in sample_ids]
    if not ids:
        raise AnalysisError("variations need at least one exemplar: a rendered sample's id")
    flat = ws.scalar_columns()
    frame = ws.to_pandas(flat, [("sample_id", "in", ids)])
    missing = sorted(set(ids) - set(frame["sample_id"]))
    if missing:
        raise AnalysisError(f"no sample(s) {missing[:5]} in {ws.root}")
    recipes = frame["gen_recipe"] if "gen_recipe" in frame else pd.Series(None, frame.index)
    if recipes.isna().any():
        bad = frame.loc[recipes.isna(), "sample_id"].tolist()[:5]
        raise AnalysisError("variations need rendered exemplars with recorded generator "
                            f"parameters; not rendered: {bad}")
    planned = []
    for _, group in frame.groupby("gen_recipe", sort=True):
        columns = [c for c in PARAM_COLUMNS if c in group and group[c].notna().all()]
        planned.append(perturb_parameters(group, n_per_sample, columns=columns, scales=scales,
                                          random_state=random_state))
    created = written = 0
    per: dict[str, int] = {}
    if planned:
        done = render_parameter_rows(ws, pd.concat(planned, ignore_index=True),
                                     seed=random_state, workers=workers, executor=executor,
                                     progress=progress)
        created, written = len(done), int(done["written"].sum())
        per = {f"like {sid}": int(c) for sid, c in
               done["parent_a"].astype(str).value_counts(sort=False).items()}
    chash = config_hash({"like": sorted(ids), "n": n_per_sample, "scales": dict(scales or {}),
                         "random_state": random_state})
    return OversampleSummary("generator parameters", "exemplar", "perturb", chash, created,
                             written, per)
