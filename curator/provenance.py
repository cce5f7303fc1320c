"""Which rows are which: real samples, recipe renders and the main synthetic set.

One home for the row-selection rules that the report, the experiments and the ratio planner
share, as pure masks over a samples frame (``source``, ``oversample_kind``, ``gen_ablated``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: ``gen_ablated`` values of a recipe's full output (no randomizer held); null counts too.
NOT_ABLATED = ("none", "")


def is_real(frame: pd.DataFrame) -> np.ndarray:
    """Rows with ``source == "real"``."""
    return (frame["source"] == "real").to_numpy()


def recipe_renders(frame: pd.DataFrame) -> np.ndarray:
    """Rendered samples that are a recipe's own output, not oversampling renders
    (``curator oversample --render``: a pool of their own, chosen for the minority)."""
    mask = (frame["source"] == "synthetic").to_numpy().copy()
    if "oversample_kind" in frame:
        mask &= frame["oversample_kind"].isna().to_numpy()
    return mask


def is_main_synthetic(frame: pd.DataFrame) -> np.ndarray:
    """The main synthetic set: :func:`recipe_renders` of the full recipes, without the
    ablation variants (``gen_ablated`` null, ``"none"`` or ``""``).

    Augmented and oversampled rows (``source`` other than ``synthetic``, or oversampling
    renders) are copies of their parents: the report and the experiments count neither.
    """
    mask = recipe_renders(frame)
    if "gen_ablated" in frame:
        ablated = frame["gen_ablated"]
        mask &= (ablated.isna() | ablated.isin(NOT_ABLATED)).to_numpy()
    return mask


def ablation_arm(frame: pd.DataFrame) -> np.ndarray:
    """Per row, the randomizer its recipe held (``gen_ablated``), ``"none"`` for the full
    recipe (null, ``""`` or ``"none"``, as :func:`is_main_synthetic` counts them)."""
    if "gen_ablated" not in frame:
        return np.full(len(frame), "none", dtype=object)
    ablated = frame["gen_ablated"]
    full = (ablated.isna() | ablated.isin(NOT_ABLATED)).to_numpy()
    return np.where(full, "none", ablated.astype(str).to_numpy()).astype(object)
