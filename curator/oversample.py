"""SMOTE-style oversampling in feature space on our neighbour engine, with provenance.

imbalanced-learn does the sampling; :class:`curator.neighbors.NeighborIndex` answers its
neighbour queries, and every invented row records its two parents and the interpolation
weight, so a curator can always see which samples are invented and from what.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from imblearn.over_sampling import SMOTE, SMOTENC, BorderlineSMOTE

from curator.hashing import config_hash, text_id
from curator.neighbors import NeighborIndex, as_float32
from curator.results import ResultMixin, jsonable
from curator.stats import AnalysisError, attribute_columns
from curator.store import Workspace

#: Bump when the same inputs and seed would make different rows.
OVERSAMPLE_VERSION = "1"

#: Samplers whose new points are ``x_i + w (x_nn - x_i)`` between two rows of the same class,
#: so both parents can be recorded.
SAMPLERS = ("smote", "borderline", "smote-tomek", "smote-enn")


class _Recorder:
    """Mixin: keep what imblearn's ``_generate_samples`` was asked to interpolate."""

    def _generate_samples(self, X, nn_data, nn_num, rows, cols, steps, y_type=None, y=None):
        self.generated_.append((y_type, np.asarray(rows), np.asarray(nn_num[rows, cols]),
                                np.asarray(steps).ravel()))
        return super()._generate_samples(X, nn_data, nn_num, rows, cols, steps, y_type, y)


class _SMOTE(_Recorder, SMOTE):
    pass


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
        ``"smote"``, ``"borderline"`` (Borderline-SMOTE 1), or SMOTE followed by a cleaner
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
    keys = np.asarray(strata if isinstance(strata, (pd.Series, np.ndarray)) else list(strata),
                      dtype=object)
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
    common = {"sampling_strategy": strategy, "k_neighbors": nn, "random_state": random_state}
    model = _BorderlineSMOTE(kind="borderline-1", m_neighbors=NeighborIndex(11), **common) \
        if sampler == "borderline" else _SMOTE(**common)  # m: imblearn's 10, plus self
    model.generated_ = []
    X_res, y_res = model.fit_resample(X, codes)
    keep_new, removed = _clean(sampler, X_res, y_res, len(X))
    vectors = np.array(X_res[len(X):][keep_new], dtype=np.float32)  # a copy: X_res is freed
    del X_res, y_res
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


def _clean(sampler: str, X_res: np.ndarray, y_res: np.ndarray, n: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """``(kept new rows mask, dropped input rows)`` of the cleaning step, if any (as
    imbalanced-learn's SMOTETomek / SMOTEENN clean: every class, after SMOTE)."""
    if sampler not in ("smote-tomek", "smote-enn"):
        return np.ones(len(X_res) - n, bool), np.zeros(0, np.int64)
    from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks

    cleaner = TomekLinks(sampling_strategy="all") if sampler == "smote-tomek" else \
        EditedNearestNeighbours(sampling_strategy="all", n_neighbors=NeighborIndex(4))
    cleaner.fit_resample(X_res, y_res)
    kept = np.asarray(cleaner.sample_indices_)
    keep_new = np.zeros(len(X_res) - n, bool)
    keep_new[kept[kept >= n] - n] = True
    return keep_new, np.setdiff1d(np.arange(n), kept[kept < n])


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
    """SMOTE-NC on an attribute table with numeric and categorical columns, with provenance.

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
    if not cats or not nums:
        raise AnalysisError("SMOTE-NC needs numeric and categorical columns; for numbers "
                            "only use oversample(), for categories only there is nothing to "
                            "interpolate")
    if frame[nums].isna().any().any() or frame[cats].isna().any().any():
        raise AnalysisError("attribute table has missing values; fill or drop those rows")
    mean, std = frame[nums].mean(), frame[nums].std(ddof=0).replace(0, 1)
    table = pd.concat([(frame[nums] - mean) / std, frame[cats].astype(str)], axis=1)
    codes, names, strategy = _coded_strategy(np.asarray(list(strata), dtype=object),
                                             sampling_strategy, k_neighbors)
    if strategy is None:
        return pd.DataFrame(columns=["stratum", "parent_a", "parent_b", "weight", *nums,
                                     *cats])
    model = _SMOTENC(categorical_features=list(range(len(nums), len(nums) + len(cats))),
                     k_neighbors=NeighborIndex(k_neighbors + 1, random_state=random_state),
                     sampling_strategy=strategy, random_state=random_state)
    model.generated_ = []
    X_res, _ = model.fit_resample(table, codes)
    new = X_res.iloc[len(frame):].reset_index(drop=True)
    new[nums] = new[nums].astype(np.float64) * std + mean
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


# -- into the workspace ---------------------------------------------------------------------
@dataclass
class OversampleSummary(ResultMixin):
    """What :func:`oversample_workspace` added (``written`` is 0 when re-run)."""

    embedding: str
    by: str
    sampler: str
    config_hash: str
    created: int
    written: int
    per_stratum: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # strata too small to draw from
    cleaned: list[str] = field(default_factory=list)  # ids a Tomek/ENN cleaner would drop

    def result_title(self) -> str:
        return f"oversample {self.sampler} on {self.embedding}"

    def __str__(self) -> str:
        top = ", ".join(f"{k}: +{v}" for k, v in list(self.per_stratum.items())[:6])
        more = f" (+{len(self.per_stratum) - 6} more strata)" if len(self.per_stratum) > 6 \
            else ""
        skipped = f"; skipped (too few samples): {', '.join(self.skipped[:5])}" \
            if self.skipped else ""
        cleaned = (f"; the cleaner would drop {len(self.cleaned)} existing sample(s) "
                   f"(not deleted), e.g. {', '.join(self.cleaned[:3])}") if self.cleaned else ""
        return (f"oversample {self.sampler} on {self.embedding} by {self.by} (config "
                f"{self.config_hash}): {self.created} row(s) made, {self.written} new in the "
                f"workspace; {top}{more}{skipped}{cleaned}")


def _interpolated(frame: pd.DataFrame, a: np.ndarray, b: np.ndarray, w: np.ndarray,
                  columns: list[str]) -> dict[str, np.ndarray]:
    """Numeric attributes of the new rows: the parents' values, interpolated like the vector
    (NaN where a parent lacks the attribute)."""
    out = {}
    for col in columns:
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(np.float64)
        out[col] = v[a] + w * (v[b] - v[a])
    return out


def oversample_workspace(ws: Workspace, embedding: str, *, by: str = "label",
                         filters: Any = None, sampler: str = "smote", k_neighbors: int = 5,
                         sampling_strategy: str | float | Mapping[Any, int] = "auto",
                         random_state: int = 0) -> OversampleSummary:
    """Oversample the rows of ``embedding`` per stratum and append the new rows.

    New rows are ``source=oversampled``, ``split=train``, with no image; their vector goes
    into ``embedding`` itself, their ``parent_ids`` are the two parents, ``os_weight`` the
    interpolation weight and ``os_stratum`` the stratum, and numeric attributes are the
    parents' interpolated alike. The label is always part of the stratum, so a new row never
    mixes two labels. Ids are content-addressed by the configuration, so a re-run adds
    nothing. Rows already ``oversampled`` are never parents.
    """
    from curator.embed.store import EmbeddingStore, load_embedding, vectors_table
    from curator.strata import stratum_keys

    by = with_label(by)
    emb = load_embedding(ws, embedding)
    columns = ws.scalar_columns()
    frame = ws.to_pandas(columns, filters)
    frame = frame[(frame["source"] != "oversampled") & frame["label"].notna()]
    frame = frame[frame["sample_id"].isin(set(emb.ids.tolist()))].reset_index(drop=True)
    if frame.empty:
        raise AnalysisError(f"no labelled samples of embedding {embedding!r} to oversample"
                            + (f" matching {filters}" if filters else ""))
    vectors = emb.vectors[emb.positions(frame["sample_id"].tolist())]
    strata = stratum_keys(frame, by)
    # Keyed by the parents (not the embedding's fingerprint, which the new rows change), so
    # a re-run over the same rows makes the same ids and adds nothing.
    parents = hashlib.sha256("\n".join(frame["sample_id"]).encode()).hexdigest()
    chash = config_hash({"embedding": embedding, "embedding_config": emb.info.config_hash,
                         "parents": parents, "by": by,
                         "filters": jsonable(filters), "sampler": sampler,
                         "k_neighbors": k_neighbors,
                         "sampling_strategy": jsonable(sampling_strategy),
                         "random_state": random_state, "version": OVERSAMPLE_VERSION})
    made = oversample(vectors, strata.to_numpy(), ids=frame["sample_id"].to_numpy(),
                      sampler=sampler, k_neighbors=k_neighbors,
                      sampling_strategy=sampling_strategy, random_state=random_state)
    out = made.frame
    position = pd.Series(np.arange(len(frame)), index=frame["sample_id"].to_numpy())
    a = position[out["parent_a"]].to_numpy()
    b = position[out["parent_b"]].to_numpy()
    w = out["weight"].to_numpy(np.float64)
    ids = [text_id("oversample", chash, str(i)) for i in range(len(out))]
    # Float attributes only (seeds, indices and counts are not interpolated).
    types = ws.attribute_types()
    numeric = [c for c in attribute_columns(frame)[0]
               if c in types and pa.types.is_floating(types[c])]
    n = len(out)
    table = pa.table({
        "sample_id": ids, "source": ["oversampled"] * n,
        "label": frame["label"].to_numpy()[a].astype(str).tolist(), "split": ["train"] * n,
        "generator": [f"curator.oversample.{sampler}"] * n,
        "generator_version": [OVERSAMPLE_VERSION] * n, "config_hash": [chash] * n,
        "seed": pa.array([random_state] * n, pa.int64()),
        "parent_ids": [[pa_, pb] for pa_, pb in zip(out["parent_a"], out["parent_b"],
                                                     strict=True)],
        "os_weight": w, "os_stratum": out["stratum"].astype(str).tolist(),
        **_interpolated(frame, a, b, w, numeric),
    })
    written = ws.append_samples(table) if n else 0
    store = EmbeddingStore(ws, embedding)
    done = store.done_ids() if n else set()
    missing = [i for i, sid in enumerate(ids) if sid not in done]
    if missing:  # the vectors travel with the rows (they have no image to embed)
        store.vectors.write_shard(vectors_table([ids[i] for i in missing],
                                                made.vectors[missing]))
    counts = out["stratum"].astype(str).value_counts()
    return OversampleSummary(embedding, by, sampler, chash, n, written,
                             {str(k): int(v) for k, v in counts.items()},
                             cleaned=[str(i) for i in made.removed])
