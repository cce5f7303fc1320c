"""Ratio planning over a workspace: the inputs of a mix, and saving the planned mix.

Reads the real samples and the main synthetic set with their vectors for
:mod:`curator.ratio_plan`, and writes the chosen mix as a subset and a manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from curator.provenance import is_main_synthetic, is_real
from curator.ratio_plan import MixInputs
from curator.select import SelectionError


def workspace_mix_inputs(ws: Any, embedding: str, *, by: str = "label") -> MixInputs:
    """Real samples and the full recipes' renders (no ablation variants, no oversampling
    renders) with a vector in ``embedding``, and their stratum keys (``--by``)."""
    from curator.embed import load_embedding
    from curator.strata import stratum_keys

    emb = load_embedding(ws, embedding)
    frame = ws.to_pandas(ws.scalar_columns())
    frame = frame[frame["sample_id"].isin(set(emb.ids.tolist()))]
    frame = frame.sort_values("sample_id", kind="stable").reset_index(drop=True)
    real = is_real(frame)
    syn = is_main_synthetic(frame)
    keep = real | syn
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        raise SelectionError(f"no real or synthetic samples with a vector in {embedding!r}")
    X = emb.vectors[emb.positions(frame["sample_id"].tolist())]
    return MixInputs(embedding, by, frame["sample_id"].to_numpy(), X,
                     stratum_keys(frame, by).astype(str).to_numpy(), real[keep], syn[keep])


def save_mix(ws: Any, name: str, inputs: MixInputs,
             synthetic_per_real: float | Mapping[str, float], *,
             n_total: int | Mapping[str, int] | None = None, random_state: int = 0,
             overwrite: bool = False, synthetic_weight: float | None = None
             ) -> tuple[str, Any]:
    """Select the planned mix (:func:`curator.select.select_mix`) and save it as subset
    ``name`` and as a manifest; returns ``(subset path, Manifest)``. With
    ``synthetic_weight`` each synthetic row weighs that much in both (a real row 1)."""
    from curator.manifest import write_manifest
    from curator.select import select_mix
    from curator.subsets import save_subset

    sel = select_mix(inputs.X, ids=inputs.ids, is_real=inputs.is_real,
                     is_synthetic=inputs.is_synthetic, strata=inputs.strata,
                     synthetic_per_real=synthetic_per_real, n_total=n_total,
                     random_state=random_state, synthetic_weight=synthetic_weight)
    config = {"method": "mix", "embedding": inputs.embedding, "by": inputs.by,
              "synthetic_per_real": synthetic_per_real, "n_total": n_total,
              "random_state": random_state}
    if synthetic_weight is not None:
        config["synthetic_weight"] = synthetic_weight
    path = save_subset(ws, name, sel, overwrite=overwrite, extra={"embedding": inputs.embedding,
                                                                 "by": inputs.by})
    weights = sel.frame["weight"] if "weight" in sel.frame else None
    return path, write_manifest(ws, name, sel.ids, weights=weights, config=config)
