"""SMOTE-style oversampling in feature and attribute space, with provenance: imbalanced-learn
style samplers (``fit_resample``) and the :func:`oversample` / :func:`oversample_table` calls.

imbalanced-learn does the sampling (:mod:`curator.oversample_imblearn`);
:class:`curator.neighbors.NeighborIndex` answers its neighbour queries, and every invented row
records its two parents and the interpolation weight, so a curator can always see which
samples are invented and from what. Writing them to a workspace is
:mod:`curator.workflows.oversample`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from curator.neighbors import NeighborIndex, as_float32
from curator.oversample_imblearn import (
    RecordingADASYN,
    RecordingBorderlineSMOTE,
    RecordingSMOTE,
    RecordingSMOTENC,
    danger_rows,
)
from curator.results import ResultMixin
from curator.stats import AnalysisError
from curator.validation import check_scalar

#: Bump when the same inputs and seed would make different rows.
OVERSAMPLE_VERSION = "1"


@dataclass
class Oversampled(ResultMixin):
    """New rows: ``frame`` (``stratum``, ``parent_a``, ``parent_b``, ``weight``) and their
    ``vectors`` (``x_a + weight (x_b - x_a)``), row for row."""

    frame: pd.DataFrame
    vectors: np.ndarray
    #: With a cleaning sampler (smote-tomek, smote-enn): the input rows (ids) the cleaner
    #: would drop. Reported, never deleted: the curator decides.
    removed: np.ndarray = field(default_factory=lambda: np.zeros(0, object))

    def __len__(self) -> int:
        return len(self.frame)

    def result_title(self) -> str:
        removed = f", {len(self.removed)} input row(s) a cleaner would drop" \
            if len(self.removed) else ""
        return f"oversampled: {len(self)} new row(s){removed}"

    def to_frame(self) -> pd.DataFrame:
        """One row per new sample: its stratum, parents and weight (the vectors left out)."""
        return self.frame

    def to_html(self, max_rows: int = 20) -> str:
        shown = f" (first {max_rows})" if len(self) > max_rows else ""
        return (f"<h4>{html.escape(self.result_title())}{shown}</h4>"
                + self.frame.head(max_rows).to_html(escape=True, index=False))


class _Oversampler(BaseEstimator):
    """Feature-space sampler over ``(n, d)`` vectors and one stratum key per row.

    :meth:`fit` makes the new rows and records them (``oversampled_``, ``parents_``,
    ``weights_``); :meth:`fit_resample` returns imbalanced-learn's ``(X_resampled,
    y_resampled)``: the input, then the new rows. Input rows a cleaner would drop are
    reported (``removed_``), never deleted: the curator decides.

    Parameters
    ----------
    sampling_strategy
        As imbalanced-learn's: ``"auto"``, a float ratio, ``{stratum: target_count}``, or
        :class:`AtLeast` (every stratum below a count raised to it).
    k_neighbors
        Neighbours per minority sample, searched by :class:`NeighborIndex` (exact).
    random_state
        Seeds imbalanced-learn's draws: same seed, same rows as its own sampler (but for
        neighbours tied in distance: faiss orders them by row, scikit-learn its own way).
    """

    #: Key of :data:`OVERSAMPLERS` (and ``--sampler``): names the cleaner, if any.
    sampler = "smote"

    def __init__(self, *, sampling_strategy: str | float | Mapping[Any, int] = "auto",
                 k_neighbors: int = 5, random_state: int = 0) -> None:
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.random_state = random_state

    def _imblearn_sampler(self, nn: NeighborIndex, common: dict[str, Any]) -> Any:
        return RecordingSMOTE(k_neighbors=nn, **common)

    def _new_rows(self, model: Any, X: np.ndarray, codes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        return model.fit_resample(X, codes)

    def _bases(self, model: Any, X: np.ndarray, codes: np.ndarray, code: int,
               members: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return members[rows]

    def fit(self, X: Any, y: Sequence[Any], *, ids: Sequence[str] | None = None
            ) -> _Oversampler:
        """Make the new rows for ``X`` (``(n, d)``) with stratum keys ``y``; ``ids`` name
        the parents (default: row positions as text)."""
        k_neighbors = check_scalar(self.k_neighbors, "k_neighbors", min_val=1,
                                   error=AnalysisError)
        random_state = self.random_state
        X = as_float32(X, allow_empty=False)
        keys = _keys(y)
        if len(keys) != len(X):
            raise AnalysisError(f"strata has {len(keys)} keys for {len(X)} rows")
        if ids is not None and len(ids) != len(X):
            raise AnalysisError(f"ids has {len(ids)} entries for {len(X)} rows")
        codes, names, strategy = _coded_strategy(keys, self.sampling_strategy, k_neighbors)
        self.n_features_in_ = X.shape[1]
        self.sampling_strategy_ = {}
        if strategy is None:
            return self._fitted(_empty(X.shape[1]))
        nn = NeighborIndex(k_neighbors + 1, random_state=random_state)
        model = self._imblearn_sampler(nn, {"sampling_strategy": strategy,
                                            "random_state": random_state})
        model.generated_, model.names_ = [], names
        X_new, y_new = self._new_rows(model, X, codes)
        self.sampling_strategy_ = {names[c]: int(v) for c, v in model.sampling_strategy_.items()}
        keep_new, removed = _clean(self.sampler, X, codes, X_new, y_new)
        vectors = X_new if keep_new.all() else X_new[keep_new]
        del X_new, y_new
        parts = []
        for code, rows, partners, steps in model.generated_:
            members = np.flatnonzero(codes == code)
            parts.append((names[code], self._bases(model, X, codes, code, members, rows),
                          members[partners], steps))
        if not parts:
            return self._fitted(_empty(X.shape[1]))
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
        return self._fitted(Oversampled(frame, vectors, id_of(removed)),
                            np.column_stack([base, partner]), removed)

    def _fitted(self, made: Oversampled, parents: np.ndarray | None = None,
                removed: np.ndarray | None = None) -> _Oversampler:
        self.oversampled_ = made
        self.parents_ = np.zeros((0, 2), np.int64) if parents is None else parents
        self.weights_ = made.frame["weight"].to_numpy(np.float64)
        self.removed_ = np.zeros(0, np.int64) if removed is None else removed
        return self

    def fit_resample(self, X: Any, y: Sequence[Any], *, ids: Sequence[str] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """``(X_resampled, y_resampled)``: the input rows as given (a float ``X`` keeps its
        dtype, as in imbalanced-learn), then the new ones (:meth:`fit`) in that dtype."""
        given = np.asarray(X)
        X, keys = as_float32(X, allow_empty=False), _keys(y)
        made = self.fit(X, keys, ids=ids).oversampled_
        new_keys = made.frame["stratum"].to_numpy()
        dtype = given.dtype if given.dtype.kind == "f" else np.float32
        return (np.vstack([given.astype(dtype, copy=False), made.vectors.astype(dtype)]),
                np.concatenate([keys, new_keys.astype(keys.dtype, copy=False)]))


class SMOTEOversampler(_Oversampler):
    """SMOTE with provenance: imbalanced-learn's ``SMOTE`` rows, each with its two parents."""


class BorderlineSMOTEOversampler(_Oversampler):
    """Borderline-SMOTE 1: new rows only from the minority rows "in danger" (neighbours
    mostly of other strata), as imbalanced-learn's ``BorderlineSMOTE(kind="borderline-1")``."""

    sampler = "borderline"

    def _imblearn_sampler(self, nn: NeighborIndex, common: dict[str, Any]) -> Any:
        # m: imblearn's 10, plus self
        return RecordingBorderlineSMOTE(kind="borderline-1", m_neighbors=NeighborIndex(11),
                                        k_neighbors=nn, **common)

    def _new_rows(self, model: Any, X: np.ndarray, codes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        X_new, y_new = model.fit_resample(X, codes)
        return X_new[len(X):], y_new[len(X):]  # imblearn's own _fit_resample: input first

    def _bases(self, model: Any, X: np.ndarray, codes: np.ndarray, code: int,
               members: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return members[danger_rows(model, X, codes, code)][rows]  # interpolates from those


class ADASYNOversampler(_Oversampler):
    """ADASYN: more rows near the hard samples (those with neighbours from other strata);
    after imbalanced-learn's rounding a stratum's count can miss its target by a few."""

    sampler = "adasyn"

    def _imblearn_sampler(self, nn: NeighborIndex, common: dict[str, Any]) -> Any:
        return RecordingADASYN(n_neighbors=nn, **common)


class SMOTETomekOversampler(_Oversampler):
    """SMOTE, then Tomek links over the result (imbalanced-learn's ``SMOTETomek``): new rows
    the cleaner drops are not made, input rows it would drop are in ``removed_``."""

    sampler = "smote-tomek"


class SMOTEENNOversampler(_Oversampler):
    """SMOTE, then edited nearest neighbours over the result (imbalanced-learn's
    ``SMOTEENN``): new rows the cleaner drops are not made, input rows in ``removed_``."""

    sampler = "smote-enn"


#: The feature-space samplers by ``--sampler`` name.
OVERSAMPLERS: dict[str, type[_Oversampler]] = {
    cls.sampler: cls for cls in (SMOTEOversampler, BorderlineSMOTEOversampler,
                                 ADASYNOversampler, SMOTETomekOversampler, SMOTEENNOversampler)}
#: Samplers whose new points are ``x_i + w (x_nn - x_i)`` between two rows of the same class,
#: so both parents can be recorded.
SAMPLERS = tuple(OVERSAMPLERS)


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
        input rows it would drop are listed in ``removed``. The estimators behind these
        names are :data:`OVERSAMPLERS`.
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
    if sampler not in SAMPLERS:
        raise AnalysisError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    model = OVERSAMPLERS[sampler](sampling_strategy=sampling_strategy, k_neighbors=k_neighbors,
                                  random_state=random_state)
    return model.fit(X, strata, ids=ids).oversampled_


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


class SMOTENCOversampler(BaseEstimator):
    """SMOTE-NC on an attribute table with numeric and categorical columns, with provenance
    (plain SMOTE when every column is numeric).

    Numeric columns are z-scored first (so yaw in degrees and temperature in kelvin weigh
    alike in the neighbour search), interpolated as ``a + weight (b - a)`` and scaled back;
    a categorical column takes the most frequent value among the base row's neighbours
    (imbalanced-learn's SMOTE-NC). :meth:`fit` records the new rows in ``oversampled_`` (a
    DataFrame: ``stratum``, ``parent_a``, ``parent_b``, ``weight`` and the attribute
    columns), their parents' positions in ``parents_`` and weights in ``weights_``.

    Parameters
    ----------
    categorical
        Categorical columns (default: the non-numeric and boolean ones).
    sampling_strategy, k_neighbors, random_state
        As :class:`SMOTEOversampler`'s.
    """

    def __init__(self, categorical: Sequence[str] | None = None, *,
                 sampling_strategy: str | float | Mapping[Any, int] = "auto",
                 k_neighbors: int = 5, random_state: int = 0) -> None:
        self.categorical = categorical
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Sequence[Any], *, ids: Sequence[str] | None = None
            ) -> SMOTENCOversampler:
        """Make the new rows for attribute table ``X`` with stratum keys ``y``."""
        frame, categorical = X, self.categorical
        k_neighbors = check_scalar(self.k_neighbors, "k_neighbors", min_val=1,
                                   error=AnalysisError)
        random_state = self.random_state
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
            raise AnalysisError(f"no numeric column among {list(frame.columns)}: with "
                                "categories only there is nothing to interpolate")
        if frame[nums].isna().any().any() or frame[cats].isna().any().any():
            raise AnalysisError("attribute table has missing values; fill or drop those rows")
        mean, std = frame[nums].mean(), frame[nums].std(ddof=0).replace(0, 1)
        table = pd.concat([(frame[nums] - mean) / std, frame[cats].astype(str)], axis=1)
        codes, names, strategy = _coded_strategy(_keys(y), self.sampling_strategy, k_neighbors)
        self.n_features_in_, self.sampling_strategy_ = frame.shape[1], {}
        self.parents_, self.weights_ = np.zeros((0, 2), np.int64), np.zeros(0)
        if strategy is None:
            self.oversampled_ = pd.DataFrame(columns=["stratum", "parent_a", "parent_b",
                                                      "weight", *nums, *cats])
            return self
        common = {"k_neighbors": NeighborIndex(k_neighbors + 1, random_state=random_state),
                  "sampling_strategy": strategy, "random_state": random_state}
        if cats:
            model = RecordingSMOTENC(
                categorical_features=list(range(len(nums), len(nums) + len(cats))), **common)
        else:  # numbers only: plain SMOTE (its fit_resample returns the new rows only)
            model = RecordingSMOTE(**common)
        model.generated_ = []
        X_res, _ = model.fit_resample(table, codes)
        self.sampling_strategy_ = {names[c]: int(v) for c, v in model.sampling_strategy_.items()}
        new = X_res.iloc[len(frame) if cats else 0:].reset_index(drop=True)
        new[nums] = new[nums].astype(np.float64) * std + mean
        for c in cats:  # the categories' own values back (SMOTE-NC compared them as text)
            new[c] = new[c].map(dict(zip(frame[c].astype(str), frame[c], strict=True)))
        sid = np.asarray(ids, dtype=object) if ids is not None else \
            np.arange(len(frame)).astype(str).astype(object)
        parents, positions = [], []
        for code, rows, partners, steps in model.generated_:
            members = np.flatnonzero(codes == code)
            positions.append(np.column_stack([members[rows], members[partners]]))
            parents.append(pd.DataFrame({"stratum": names[code],
                                         "parent_a": sid[members[rows]],
                                         "parent_b": sid[members[partners]], "weight": steps}))
        lineage = pd.concat(parents, ignore_index=True) if parents else pd.DataFrame(
            columns=["stratum", "parent_a", "parent_b", "weight"])
        self.oversampled_ = pd.concat([lineage, new[nums + cats]], axis=1)
        if positions:
            self.parents_ = np.concatenate(positions)
            self.weights_ = lineage["weight"].to_numpy(np.float64)
        return self

    def fit_resample(self, X: pd.DataFrame, y: Sequence[Any], *,
                     ids: Sequence[str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """``(X_resampled, y_resampled)``: the input rows, then the new ones (:meth:`fit`)."""
        keys = _keys(y)
        new = self.fit(X, keys, ids=ids).oversampled_
        return (pd.concat([X, new[list(X.columns)]], ignore_index=True),
                np.concatenate([keys, new["stratum"].to_numpy().astype(keys.dtype,
                                                                          copy=False)]))


def oversample_table(frame: pd.DataFrame, strata: Sequence[Any], *,
                     categorical: Sequence[str] | None = None,
                     ids: Sequence[str] | None = None, k_neighbors: int = 5,
                     sampling_strategy: str | float | Mapping[Any, int] = "auto",
                     random_state: int = 0) -> pd.DataFrame:
    """SMOTE-NC on an attribute table, with provenance: :class:`SMOTENCOversampler`'s rows.

    Returns one row per new sample: ``stratum``, ``parent_a``, ``parent_b``, ``weight`` and
    the attribute columns.
    """
    model = SMOTENCOversampler(categorical, sampling_strategy=sampling_strategy,
                               k_neighbors=k_neighbors, random_state=random_state)
    return model.fit(frame, strata, ids=ids).oversampled_


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
