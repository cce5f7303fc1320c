"""SMOTE-style oversampling in feature space on our neighbour engine, with provenance.

imbalanced-learn does the sampling; :class:`curator.neighbors.NeighborIndex` answers its
neighbour queries, and every invented row records its two parents and the interpolation
weight, so a curator can always see which samples are invented and from what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from imblearn.over_sampling import ADASYN, SMOTE, SMOTENC, BorderlineSMOTE
from sklearn.utils import check_random_state

from curator.neighbors import NeighborIndex, as_float32
from curator.stats import AnalysisError

#: Bump when the same inputs and seed would make different rows.
OVERSAMPLE_VERSION = "1"

#: Samplers whose new points are ``x_i + w (x_nn - x_i)`` between two rows of the same class,
#: so both parents can be recorded.
SAMPLERS = ("smote", "borderline", "adasyn", "smote-tomek", "smote-enn")


class _Recorder:
    """Mixin: keep what imblearn's ``_generate_samples`` was asked to interpolate."""

    def _generate_samples(self, X, nn_data, nn_num, rows, cols, steps, y_type=None, y=None):
        self.generated_.append((y_type, np.asarray(rows), np.asarray(nn_num[rows, cols]),
                                np.asarray(steps).ravel()))
        return super()._generate_samples(X, nn_data, nn_num, rows, cols, steps, y_type, y)


class _SMOTE(_Recorder, SMOTE):
    """SMOTE whose ``fit_resample`` returns only the new rows.

    imbalanced-learn's ``SMOTE._fit_resample`` (0.14), less its copy of ``X`` and the stack
    of the whole resampled set: the same draws in the same order, without two extra copies
    of the input in memory.
    """

    def _fit_resample(self, X, y):
        self._validate_estimator()
        new_X, new_y = [np.zeros((0, X.shape[1]), X.dtype)], [np.zeros(0, y.dtype)]
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            X_class = X[np.flatnonzero(y == class_sample)]
            self.nn_k_.fit(X_class)
            nns = self.nn_k_.kneighbors(X_class, return_distance=False)[:, 1:]
            X_new, y_new = self._make_samples(X_class, y.dtype, class_sample, X_class, nns,
                                              n_samples, 1.0)
            new_X.append(X_new)
            new_y.append(y_new)
        return np.vstack(new_X), np.hstack(new_y)


class _ADASYN(ADASYN):
    """ADASYN that records each new row's parents and returns only the new rows.

    imbalanced-learn's ``ADASYN._fit_resample`` (0.14) has no hook between drawing and
    interpolating, so its steps are repeated here draw for draw (the tests hold the output
    equal to imbalanced-learn's own).
    """

    def _fit_resample(self, X, y):
        self._validate_estimator()
        random_state = check_random_state(self.random_state)
        new_X, new_y = [np.zeros((0, X.shape[1]), X.dtype)], [np.zeros(0, y.dtype)]
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            X_class = X[np.flatnonzero(y == class_sample)]
            self.nn_.fit(X)
            nns = self.nn_.kneighbors(X_class, return_distance=False)[:, 1:]
            n_neighbors = self.nn_.n_neighbors - 1
            # Hardness: the share of each sample's neighbours from other strata.
            ratio_nn = np.sum(y[nns] != class_sample, axis=1) / n_neighbors
            if not np.sum(ratio_nn):
                raise AnalysisError(
                    f"adasyn: no sample of stratum {self.names_[class_sample]!r} has a "
                    "neighbour from another stratum, so ADASYN has no hardness to weigh by; "
                    "use --sampler smote")
            ratio_nn /= np.sum(ratio_nn)
            n_samples_generate = np.rint(ratio_nn * n_samples).astype(int)
            n_samples = int(np.sum(n_samples_generate))  # rounding may change the count
            if not n_samples:
                continue
            self.nn_.fit(X_class)
            nns = self.nn_.kneighbors(X_class, return_distance=False)[:, 1:]
            rows = np.repeat(np.arange(len(X_class)), n_samples_generate)
            cols = random_state.choice(n_neighbors, size=n_samples)
            diffs = X_class[nns[rows, cols]] - X_class[rows]
            steps = random_state.uniform(size=(n_samples, 1))
            new_X.append((X_class[rows] + steps * diffs).astype(X.dtype))
            new_y.append(np.full(n_samples, fill_value=class_sample, dtype=y.dtype))
            self.generated_.append((class_sample, rows, nns[rows, cols], steps.ravel()))
        return np.vstack(new_X), np.hstack(new_y)


class _BorderlineSMOTE(_Recorder, BorderlineSMOTE):
    pass


class _SMOTENC(_Recorder, SMOTENC):
    pass


@dataclass
class Oversampled:
    """New rows: ``frame`` (``stratum``, ``parent_a``, ``parent_b``, ``weight``) and their
    ``vectors`` (``x_a + weight (x_b - x_a)``), row for row."""

    frame: pd.DataFrame
    vectors: np.ndarray
    #: With a cleaning sampler (smote-tomek, smote-enn): the input rows (ids) the cleaner
    #: would drop. Reported, never deleted: the curator decides.
    removed: np.ndarray = field(default_factory=lambda: np.zeros(0, object))

    def __len__(self) -> int:
        return len(self.frame)


def oversample(X: Any, strata: Sequence[Any], *, ids: Sequence[str] | None = None,
               sampler: str = "smote", k_neighbors: int = 5,
               sampling_strategy: str | float | Mapping[Any, int] = "auto",
               random_state: int = 0) -> Oversampled:
    """New rows for under-represented strata, one per invented sample, with provenance.

    Parameters
    ----------
    X
        ``(n, d)`` vectors (an embedding or encoded attributes).
    strata
        One key per row: a label, or a stratum such as ``label=3|pose_yaw_deg=[30,60)``
        (:func:`curator.strata.stratum_keys`); imbalanced-learn balances these keys.
    ids
        Sample ids for the parent columns (default: row positions as text).
    sampler
        ``"smote"``, ``"borderline"`` (Borderline-SMOTE 1), ``"adasyn"`` (more rows near
        the hard samples, those with neighbours from other strata; after imbalanced-learn's
        rounding a stratum's count can miss its target by a few), or SMOTE followed by a cleaner
        over the result as imbalanced-learn's ``SMOTETomek`` / ``SMOTEENN`` do
        (``"smote-tomek"``, ``"smote-enn"``): new rows the cleaner drops are not returned,
        input rows it would drop are listed in ``removed``.
    k_neighbors
        Neighbours per minority sample, searched by :class:`NeighborIndex` (exact).
    sampling_strategy
        As imbalanced-learn's: ``"auto"``, a float ratio, ``{stratum: target_count}``, or
        :class:`AtLeast` (every stratum below a count raised to it).

    Returns
    -------
    Oversampled
        In imbalanced-learn's order: its own ``fit_resample`` output, rows beyond the
        input, equals ``vectors`` for the same ``random_state``.
    """
    X = as_float32(X, allow_empty=False)
    keys = _keys(strata)
    if len(keys) != len(X):
        raise AnalysisError(f"strata has {len(keys)} keys for {len(X)} rows")
    if ids is not None and len(ids) != len(X):
        raise AnalysisError(f"ids has {len(ids)} entries for {len(X)} rows")
    if sampler not in SAMPLERS:
        raise AnalysisError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    codes, names, strategy = _coded_strategy(keys, sampling_strategy, k_neighbors)
    if strategy is None:
        return _empty(X.shape[1])
    nn = NeighborIndex(k_neighbors + 1, random_state=random_state)
    common = {"sampling_strategy": strategy, "random_state": random_state}
    if sampler == "borderline":  # m: imblearn's 10, plus self
        model = _BorderlineSMOTE(kind="borderline-1", m_neighbors=NeighborIndex(11),
                                 k_neighbors=nn, **common)
    elif sampler == "adasyn":
        model = _ADASYN(n_neighbors=nn, **common)
    else:
        model = _SMOTE(k_neighbors=nn, **common)
    model.generated_, model.names_ = [], names
    X_new, y_new = model.fit_resample(X, codes)
    if sampler == "borderline":  # imblearn's own _fit_resample: the input comes first
        X_new, y_new = X_new[len(X):], y_new[len(X):]
    keep_new, removed = _clean(sampler, X, codes, X_new, y_new)
    vectors = X_new if keep_new.all() else X_new[keep_new]
    del X_new, y_new
    parts = []
    for code, rows, partners, steps in model.generated_:
        members = np.flatnonzero(codes == code)
        if sampler == "borderline":  # Borderline-SMOTE interpolates from the danger rows
            base = members[_danger_rows(model, X, codes, code)][rows]
        else:
            base = members[rows]
        parts.append((names[code], base, members[partners], steps))
    if not parts:
        return _empty(X.shape[1])
    base = np.concatenate([p[1] for p in parts])
    partner = np.concatenate([p[2] for p in parts])
    sid = np.asarray(ids, dtype=object) if ids is not None else None

    def id_of(rows: np.ndarray) -> np.ndarray:  # ids of the rows used (not all n as text)
        return sid[rows] if sid is not None else rows.astype(str).astype(object)

    base, partner = base[keep_new], partner[keep_new]
    frame = pd.DataFrame({
        "stratum": np.concatenate([np.full(len(p[1]), p[0], dtype=object)
                                   for p in parts])[keep_new],
        "parent_a": id_of(base), "parent_b": id_of(partner),
        "weight": np.concatenate([p[3] for p in parts])[keep_new]})
    return Oversampled(frame, vectors, id_of(removed))


def _clean(sampler: str, X: np.ndarray, y: np.ndarray, X_new: np.ndarray, y_new: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """``(kept new rows mask, dropped input rows)`` of the cleaning step, if any (as
    imbalanced-learn's SMOTETomek / SMOTEENN clean: every class, after SMOTE)."""
    if sampler not in ("smote-tomek", "smote-enn"):
        return np.ones(len(X_new), bool), np.zeros(0, np.int64)
    from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks

    n = len(X)
    cleaner = TomekLinks(sampling_strategy="all") if sampler == "smote-tomek" else \
        EditedNearestNeighbours(sampling_strategy="all", n_neighbors=NeighborIndex(4))
    cleaner.fit_resample(np.vstack([X, X_new]), np.concatenate([y, y_new]))
    kept = np.asarray(cleaner.sample_indices_)
    keep_new = np.zeros(len(X_new), bool)
    keep_new[kept[kept >= n] - n] = True
    return keep_new, np.setdiff1d(np.arange(n), kept[kept < n])


def _keys(strata: Any) -> np.ndarray:
    """One key per row, as an array (numbers stay numbers: no Python object per row)."""
    if isinstance(strata, pd.Series):
        strata = strata.to_numpy()
    if isinstance(strata, np.ndarray) and strata.ndim == 1:
        return strata
    return np.asarray(list(strata), dtype=object)


def _coded_strategy(keys: np.ndarray, sampling_strategy: Any, k_neighbors: int
                    ) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(codes, names, strategy over codes)``; strategy ``None`` when nothing is to be made.

    imbalanced-learn sees integer codes in sorted key order: the classes are processed in
    the order it would use for the keys themselves, without sorting n Python objects.
    """
    codes, names = pd.factorize(keys, sort=True)
    counts = pd.Series(np.bincount(codes, minlength=len(names)), index=list(names))
    if isinstance(sampling_strategy, AtLeast):
        sampling_strategy = {k: int(sampling_strategy) for k, c in counts.items()
                             if c < sampling_strategy}
        if not sampling_strategy:
            return codes, names, None
    short = [f"{k} ({counts[k]})" for k in _targets(counts, sampling_strategy)
             if counts[k] < k_neighbors + 1]
    if short:
        raise AnalysisError(
            f"strata with fewer than k_neighbors + 1 = {k_neighbors + 1} samples cannot be "
            f"interpolated: {', '.join(map(str, short[:10]))}; lower k_neighbors, merge "
            "those strata (fewer bins), or leave them out of sampling_strategy")
    code_of = {k: i for i, k in enumerate(names)}
    strategy = {code_of[k]: v for k, v in sampling_strategy.items()} \
        if isinstance(sampling_strategy, Mapping) else sampling_strategy
    return codes, names, strategy


def _empty(dim: int) -> Oversampled:
    return Oversampled(pd.DataFrame({"stratum": pd.Series([], dtype=object),
                                     "parent_a": pd.Series([], dtype=object),
                                     "parent_b": pd.Series([], dtype=object),
                                     "weight": pd.Series([], dtype=np.float64)}),
                       np.zeros((0, dim), np.float32))


def oversample_table(frame: pd.DataFrame, strata: Sequence[Any], *,
                     categorical: Sequence[str] | None = None,
                     ids: Sequence[str] | None = None, k_neighbors: int = 5,
                     sampling_strategy: str | float | Mapping[Any, int] = "auto",
                     random_state: int = 0) -> pd.DataFrame:
    """SMOTE-NC on an attribute table with numeric and categorical columns, with provenance
    (plain SMOTE when every column is numeric).

    Numeric columns are z-scored first (so yaw in degrees and temperature in kelvin weigh
    alike in the neighbour search), interpolated as ``a + weight (b - a)`` and scaled back;
    a categorical column takes the most frequent value among the base row's neighbours
    (imbalanced-learn's SMOTE-NC). ``categorical`` defaults to the non-numeric columns.

    Returns one row per new sample: ``stratum``, ``parent_a``, ``parent_b``, ``weight`` and
    the attribute columns.
    """
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise AnalysisError("oversample_table needs a non-empty DataFrame of attributes")
    cats = list(categorical) if categorical is not None else [
        c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
        or pd.api.types.is_bool_dtype(frame[c])]
    unknown = [c for c in cats if c not in frame.columns]
    if unknown:
        raise AnalysisError(f"unknown categorical column(s) {unknown}; columns: "
                            f"{list(frame.columns)}")
    nums = [c for c in frame.columns if c not in cats]
    if not nums:
        raise AnalysisError(f"no numeric column among {list(frame.columns)}: with categories "
                            "only there is nothing to interpolate")
    if frame[nums].isna().any().any() or frame[cats].isna().any().any():
        raise AnalysisError("attribute table has missing values; fill or drop those rows")
    mean, std = frame[nums].mean(), frame[nums].std(ddof=0).replace(0, 1)
    table = pd.concat([(frame[nums] - mean) / std, frame[cats].astype(str)], axis=1)
    codes, names, strategy = _coded_strategy(_keys(strata), sampling_strategy, k_neighbors)
    if strategy is None:
        return pd.DataFrame(columns=["stratum", "parent_a", "parent_b", "weight", *nums,
                                     *cats])
    common = {"k_neighbors": NeighborIndex(k_neighbors + 1, random_state=random_state),
              "sampling_strategy": strategy, "random_state": random_state}
    if cats:
        model = _SMOTENC(categorical_features=list(range(len(nums), len(nums) + len(cats))),
                         **common)
    else:  # numbers only: plain SMOTE (its fit_resample returns the new rows only)
        model = _SMOTE(**common)
    model.generated_ = []
    X_res, _ = model.fit_resample(table, codes)
    new = X_res.iloc[len(frame) if cats else 0:].reset_index(drop=True)
    new[nums] = new[nums].astype(np.float64) * std + mean
    for c in cats:  # the categories' own values back (SMOTE-NC compared them as text)
        new[c] = new[c].map(dict(zip(frame[c].astype(str), frame[c], strict=True)))
    sid = np.asarray(ids, dtype=object) if ids is not None else \
        np.arange(len(frame)).astype(str).astype(object)
    parents = []
    for code, rows, partners, steps in model.generated_:
        members = np.flatnonzero(codes == code)
        parents.append(pd.DataFrame({"stratum": names[code], "parent_a": sid[members[rows]],
                                     "parent_b": sid[members[partners]], "weight": steps}))
    lineage = pd.concat(parents, ignore_index=True) if parents else pd.DataFrame(
        columns=["stratum", "parent_a", "parent_b", "weight"])
    return pd.concat([lineage, new[nums + cats]], axis=1)


class AtLeast(int):
    """A target count: every stratum below it is raised to it (larger ones are left)."""


def strategy_for(target: Any) -> Any:
    """``"auto"``, a fraction, or :class:`AtLeast` from a whole-number target."""
    return AtLeast(target) if isinstance(target, int) and not isinstance(target, bool) \
        else target


def with_label(by: str | None) -> str:
    """The stratum spec with ``label`` in it: an oversampled row never mixes two labels."""
    from curator.strata import parse_by

    if "label" in [n for n, _ in parse_by(by)]:
        return str(by)
    return ",".join(["label", by]) if by else "label"


def stratum_deficits(counts: pd.Series, target: Any) -> dict[Any, int]:
    """Samples each stratum lacks: ``"auto"`` up to the largest stratum, :class:`AtLeast`
    (N) up to N, a fraction r up to r x the largest (imbalanced-learn's meanings)."""
    if isinstance(target, AtLeast):
        goal = pd.Series(int(target), index=counts.index)
    elif isinstance(target, float):
        goal = pd.Series(int(target * counts.max()), index=counts.index)
    elif target == "auto":
        goal = pd.Series(int(counts.max()), index=counts.index)
    else:
        raise AnalysisError(f"target must be 'auto', a fraction or AtLeast(n), got {target!r}")
    lack = (goal - counts).clip(lower=0)
    return {k: int(v) for k, v in lack.items() if v > 0}


def _targets(counts: pd.Series, strategy: Any) -> list[Any]:
    """Strata that will receive new samples (for the up-front size check)."""
    if isinstance(strategy, Mapping):
        unknown = [k for k in strategy if k not in counts.index]
        if unknown:
            raise AnalysisError(f"sampling_strategy names unknown strata {unknown[:5]}; "
                                f"known: {list(counts.index[:10])}")
        return [k for k, v in strategy.items() if v > counts[k]]
    if isinstance(strategy, float):
        return list(counts.index[counts < strategy * counts.max()])
    return list(counts.index[counts < counts.max()])


def _danger_rows(model: Any, X: np.ndarray, codes: np.ndarray, code: int) -> np.ndarray:
    """Rows of class ``code`` that Borderline-SMOTE calls "in danger" (its own rule)."""
    members = np.flatnonzero(codes == code)
    return np.asarray(model._in_danger_noise(model.nn_m_, X[members], code, codes,
                                             kind="danger"))
