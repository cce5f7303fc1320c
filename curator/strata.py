"""Strata: group samples by label and by binned attributes (``label × yaw bin``).

One stratum key per row, readable (``label=7|pose_yaw_deg=[-45,0)``), used by selection,
reports and oversampling alike, so "per stratum" means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from curator.errors import CuratorError
from curator.validation import check_scalar

#: A numeric column with more distinct values than this is binned; fewer are kept as is.
MAX_LEVELS = 12
MISSING = "∅"


class StrataError(CuratorError):
    """A stratum specification names an unknown column or asks for impossible bins."""


def parse_by(by: str | Sequence[str] | None) -> list[tuple[str, int | None]]:
    """``"label,pose_yaw_deg:4"`` -> ``[("label", None), ("pose_yaw_deg", 4)]``.

    ``column:N`` asks for N quantile bins; a bare numeric column with many values gets the
    default number of bins.
    """
    if by is None:
        return []
    items = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
    out: list[tuple[str, int | None]] = []
    for item in items:
        name, _, bins = item.partition(":")
        n_bins = None
        if bins:
            try:
                n_bins = int(bins)
            except ValueError:
                n_bins = -1
            check_scalar(n_bins, item, min_val=1, error=StrataError,
                         message="bad stratum {name!r}: write column:N with N >= 1 bins, "
                                 "e.g. pose_yaw_deg:4")
        out.append((name.strip(), n_bins))
    return out


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def bin_numeric(values: pd.Series, n_bins: int) -> pd.Series:
    """Quantile bins as ``[lo,hi)`` strings (the last bin closed); missing -> ``∅``."""
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    finite = v[np.isfinite(v)]
    out = pd.Series(MISSING, index=values.index, dtype=object)
    if finite.empty:
        return out
    edges = np.unique(np.quantile(finite.to_numpy(), np.linspace(0, 1, n_bins + 1)))
    if len(edges) == 1:
        out[np.isfinite(v)] = f"[{_fmt(edges[0])},{_fmt(edges[0])}]"
        return out
    idx = np.clip(np.searchsorted(edges, v[np.isfinite(v)].to_numpy(), side="right") - 1,
                  0, len(edges) - 2)
    labels = [f"[{_fmt(edges[i])},{_fmt(edges[i + 1])}{']' if i == len(edges) - 2 else ')'}"
              for i in range(len(edges) - 1)]
    out[np.isfinite(v)] = [labels[i] for i in idx]
    return out


def stratum_keys(frame: pd.DataFrame, by: str | Sequence[str] | None, *,
                 default_bins: int = 4) -> pd.Series:
    """One key per row of ``frame``: ``col=value`` parts joined by ``|`` (``"all"`` if
    ``by`` is empty). Numeric columns with more than :data:`MAX_LEVELS` values, or with
    ``:N`` given, are cut into quantile bins."""
    spec = parse_by(by)
    if not spec:
        return pd.Series("all", index=frame.index, dtype=object)
    parts = []
    for name, n_bins in spec:
        if name not in frame.columns:
            raise StrataError(f"unknown stratum column {name!r}; available: "
                              f"{', '.join(map(str, frame.columns))}")
        col = frame[name]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric and (n_bins is not None or col.nunique(dropna=True) > MAX_LEVELS):
            values = bin_numeric(col, n_bins or default_bins)
        elif n_bins is not None:
            raise StrataError(f"stratum column {name!r} is not numeric; it cannot be binned")
        else:
            values = col.astype(object).where(col.notna(), MISSING).astype(str)
        parts.append(name + "=" + values.astype(str))
    keys = parts[0]
    for p in parts[1:]:
        keys = keys + "|" + p
    return keys.astype(object)
