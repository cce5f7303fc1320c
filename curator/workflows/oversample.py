"""Oversampling a workspace: read the rows of a stratum, invent more, append them with lineage.

Feature space (SMOTE on an embedding), attribute space (SMOTE-NC on attribute columns) and
image space (PCA + Gaussian mixture) over the pure samplers of :mod:`curator.oversample` and
:mod:`curator.generative`; parameter space is :mod:`curator.workflows.param_oversample`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from curator.embed.store import EmbeddingStore, load_embedding, vectors_table
from curator.generative import PcaGmmImageModel, oversampled_rows
from curator.hashing import config_hash, text_id
from curator.images import decode_bytes
from curator.oversample import (
    OVERSAMPLE_VERSION,
    oversample,
    oversample_table,
    stratum_deficits,
    with_label,
)
from curator.results import ResultMixin, jsonable
from curator.stats import AnalysisError, attribute_columns
from curator.store import Workspace
from curator.strata import stratum_keys

__all__ = ["OversampleSummary", "oversample_images_workspace", "oversample_table_workspace",
           "oversample_workspace"]


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


def _oversampled_rows(labels: np.ndarray, out: pd.DataFrame, sampler: str, chash: str,
                      random_state: int, attributes: Mapping[str, Any]) -> pa.Table:
    """Workspace rows for new samples ``out`` (``stratum``, ``parent_a``, ``parent_b``,
    ``weight``): ``source=oversampled``, ``split=train``, lineage, and ``attributes``. Ids
    are content-addressed by the configuration ``chash`` and the row's position."""
    n = len(out)
    return pa.table({
        "sample_id": [text_id("oversample", chash, str(i)) for i in range(n)],
        "source": ["oversampled"] * n,
        "label": np.asarray(labels).astype(str).tolist(), "split": ["train"] * n,
        "generator": [f"curator.oversample.{sampler}"] * n,
        "generator_version": [OVERSAMPLE_VERSION] * n, "config_hash": [chash] * n,
        "seed": pa.array([random_state] * n, pa.int64()),
        "parent_ids": [[a, b] for a, b in zip(out["parent_a"], out["parent_b"], strict=True)],
        "os_weight": out["weight"].to_numpy(np.float64),
        "os_stratum": out["stratum"].astype(str).tolist(),
        **attributes,
    })


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
    # Float attributes only (seeds, indices and counts are not interpolated).
    types = ws.attribute_types()
    numeric = [c for c in attribute_columns(frame)[0]
               if c in types and pa.types.is_floating(types[c])]
    n = len(out)
    table = _oversampled_rows(frame["label"].to_numpy()[a], out, sampler, chash,
                              random_state, _interpolated(frame, a, b, w, numeric))
    ids = table["sample_id"].to_pylist()
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


def oversample_table_workspace(ws: Workspace, columns: Sequence[str], *, by: str = "label",
                               filters: Any = None, k_neighbors: int = 5,
                               sampling_strategy: str | float | Mapping[Any, int] = "auto",
                               random_state: int = 0) -> OversampleSummary:
    """SMOTE-NC over attribute ``columns`` of the workspace; append the new rows.

    Float columns are interpolated between the two parents; text, boolean and integer
    columns (kinds, flags, counts) take the value most common among the base row's
    neighbours. The new rows are ``source=oversampled`` with the chosen attributes, parents,
    weight and stratum, and neither image nor vector. Only rows with every column set take
    part; re-running adds nothing.
    """
    columns = list(dict.fromkeys(columns))
    types = ws.attribute_types()
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise AnalysisError(f"unknown attribute column(s) {unknown}; attributes: "
                            f"{', '.join(types)}")
    cats = [c for c in columns if not pa.types.is_floating(types[c])]
    by = with_label(by)
    frame = ws.to_pandas(ws.scalar_columns(), filters)
    frame = frame[(frame["source"] != "oversampled") & frame["label"].notna()
                  & frame[columns].notna().all(axis=1)].reset_index(drop=True)
    if frame.empty:
        raise AnalysisError(f"no labelled samples with all of {columns} set"
                            + (f" matching {filters}" if filters else ""))
    parents = hashlib.sha256("\n".join(frame["sample_id"]).encode()).hexdigest()
    chash = config_hash({"columns": columns, "parents": parents, "by": by,
                         "filters": jsonable(filters), "sampler": "smote-nc",
                         "k_neighbors": k_neighbors,
                         "sampling_strategy": jsonable(sampling_strategy),
                         "random_state": random_state, "version": OVERSAMPLE_VERSION})
    out = oversample_table(frame[columns], stratum_keys(frame, by).to_numpy(),
                           categorical=cats, ids=frame["sample_id"].to_numpy(),
                           k_neighbors=k_neighbors, sampling_strategy=sampling_strategy,
                           random_state=random_state)
    n = len(out)
    label = frame.set_index("sample_id")["label"]
    table = _oversampled_rows(label[out["parent_a"]].to_numpy(), out, "smote-nc", chash,
                              random_state,
                              {c: pa.array(out[c].tolist(), types[c]) for c in columns})
    written = ws.append_samples(table) if n else 0
    counts = out["stratum"].astype(str).value_counts()
    return OversampleSummary("attributes " + ",".join(columns), by, "smote-nc", chash, n,
                             written, {str(k): int(v) for k, v in counts.items()})


def oversample_images_workspace(ws: Workspace, *, by: str = "label", target: Any = "auto",
                                filters: Any = None, n_components: float | int = 0.95,
                                n_mixture: int = 4, random_state: int = 0
                                ) -> OversampleSummary:
    """New images for the strata of ``ws`` short of ``target``, one PCA + GMM model per
    stratum fitted on its own images only (by default the real ones: ``filters`` picks).

    Rows are ``source=oversampled`` with their images; a re-run adds nothing. Strata with
    fewer than two images are skipped and named in the summary's ``skipped``.
    """
    by = with_label(by)
    filters = filters if filters is not None else [("source", "==", "real")]
    flat = ws.scalar_columns()
    frame = ws.to_pandas(flat, filters)
    frame = frame[frame["label"].notna()].reset_index(drop=True)
    if frame.empty:
        raise AnalysisError(f"no labelled samples to model in {ws.root}"
                            + (f" matching {filters}" if filters else ""))
    strata = stratum_keys(frame, by)
    deficits = stratum_deficits(strata.value_counts(), target)
    written = created = 0
    per_stratum: dict[str, int] = {}
    skipped: list[str] = []
    for key, lack in sorted(deficits.items()):
        members = frame[(strata == key).to_numpy()]
        if len(members) < 2:
            skipped.append(f"{key} ({len(members)} image)")
            continue
        images = [decode_bytes(ws.image_bytes(row), where=f"sample {row['sample_id']}").pixels
                  for row in ws.to_table(["sample_id", "image_bytes", "image_uri"],
                                         [("sample_id", "in", members["sample_id"].tolist())]
                                         ).to_pylist()]
        model = PcaGmmImageModel(n_components=n_components,
                                 n_mixture=min(n_mixture, len(images) // 2 or 1),
                                 random_state=random_state)
        table = oversampled_rows(images, members["label"].iloc[0], members["sample_id"].tolist(),
                                 model, n=lack, random_state=random_state)
        table = table.append_column("os_stratum", pa.array([str(key)] * table.num_rows))
        created += table.num_rows
        written += ws.append_samples(table)
        per_stratum[str(key)] = table.num_rows
    chash = config_hash(jsonable({"by": by, "target": target, "filters": filters,
                                  "n_components": n_components, "n_mixture": n_mixture,
                                  "random_state": random_state}))
    return OversampleSummary("images", by, "pca_gmm", chash, created, written, per_stratum,
                             skipped)
