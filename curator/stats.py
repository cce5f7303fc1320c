"""Statistics the report analyses share: bootstrap intervals, attribute discovery, binning.

Pure functions over numpy arrays and pandas frames; every random draw takes ``random_state``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from curator.errors import CuratorError
from curator.schema import CORE_COLUMNS
from curator.validation import check_scalar

#: Columns never analysed as attributes: ids, seeds, indices, hashes, lineage bookkeeping.
_NOT_ATTRIBUTES = re.compile(
    r"(^|_)(seed|index|id|ids|json|hash|variant)$|^gen_(classes|recipe|ablated|n_small)$")


class AnalysisError(CuratorError, ValueError):
    """An analysis cannot run on this input (no rows, unknown column, bad parameter)."""


# -- input checks shared by the report analyses --------------------------------------------
def check_frame(frame: Any, columns: Sequence[str] = ()) -> None:
    """Raise :class:`AnalysisError` unless ``frame`` is a non-empty DataFrame with ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise AnalysisError(f"expected a pandas DataFrame of samples, got "
                            f"{type(frame).__name__}")
    if len(frame) == 0:
        raise AnalysisError("the frame has no rows: nothing to analyse")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        shown = ", ".join(map(str, list(frame.columns)[:40]))
        more = f" (+{len(frame.columns) - 40} more)" if len(frame.columns) > 40 else ""
        raise AnalysisError(f"unknown column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(map(repr, missing))}; available: {shown}{more}")


def check_param(name: str, value: Any, ok: bool, expected: str) -> None:
    """Raise :class:`AnalysisError` naming ``name`` and its bad ``value`` unless ``ok``."""
    if not ok:
        raise AnalysisError(f"{name} must be {expected}, got {value!r}")


def label_codes(col: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer code per row (``-1`` where the label is missing) and the sorted label names."""
    codes = np.full(len(col), -1, np.int64)
    present = col.notna().to_numpy()
    found, names = pd.factorize(col[present].astype(str), sort=True)
    codes[present] = found
    return codes, [str(n) for n in names]



@dataclass(frozen=True)
class Interval:
    """A point estimate with a (1 - alpha) bootstrap percentile interval."""

    estimate: float
    lo: float
    hi: float

    def covers(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}": self.estimate, f"{prefix}_lo": self.lo, f"{prefix}_hi": self.hi} \
            if prefix else {"estimate": self.estimate, "lo": self.lo, "hi": self.hi}


def bootstrap_ci(statistic: Callable[..., float], *samples: np.ndarray, n_boot: int = 200,
                 alpha: float = 0.05, random_state: Any = 0) -> Interval:
    """Percentile bootstrap of ``statistic(*samples)``, each sample resampled independently.

    ``samples`` are arrays whose first axis is the sampling unit (rows of an embedding, per
    sample indicators). The point estimate is the statistic on the full samples.
    """
    check_scalar(alpha, "alpha", Real, min_val=0, max_val=1, closed="neither", error=AnalysisError)
    check_scalar(n_boot, "n_boot", min_val=1, error=AnalysisError)
    rng = check_random_state(random_state)
    estimate = float(statistic(*samples))
    values = np.empty(n_boot)
    for b in range(n_boot):
        draws = [s[rng.randint(0, len(s), len(s))] for s in samples]
        values[b] = statistic(*draws)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Interval(estimate, float("nan"), float("nan"))
    lo, hi = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(lo), float(hi))


def attribute_columns(frame: pd.DataFrame, *, exclude: Sequence[str] = (),
                      max_categories: int = 50) -> tuple[list[str], list[str]]:
    """``(numeric, categorical)`` attribute columns worth analysing in ``frame``.

    Skips core columns (ids, label, source, split, blobs), seeds/indices/hashes, columns that
    are entirely missing or constant, and string columns with more than ``max_categories``
    values (identifiers, paths).
    """
    numeric: list[str] = []
    categorical: list[str] = []
    for name in frame.columns:
        if name in CORE_COLUMNS or name in exclude or _NOT_ATTRIBUTES.search(name):
            continue
        col = frame[name]
        values = col.dropna()
        if values.empty or values.nunique() < 2:
            continue
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_object_dtype(col) \
                and values.map(type).eq(bool).all():
            categorical.append(name)
        elif pd.api.types.is_numeric_dtype(col):
            numeric.append(name)
        elif pd.api.types.is_string_dtype(col) or pd.api.types.is_object_dtype(col) \
                or isinstance(col.dtype, pd.CategoricalDtype):
            if values.map(lambda v: isinstance(v, str)).all() \
                    and values.nunique() <= max_categories:
                categorical.append(name)
    return numeric, categorical


def equal_width_edges(values: np.ndarray, n_bins: int, lo: float | None = None,
                      hi: float | None = None) -> np.ndarray:
    """``n_bins + 1`` equal-width edges over ``[lo, hi]`` (default: the finite values' range).

    Equal width, not quantiles: an under-populated region must show up as a thin bin.
    """
    check_scalar(n_bins, "n_bins", min_val=1, error=AnalysisError)
    finite = values[np.isfinite(values)]
    a = float(finite.min()) if lo is None and finite.size else float(lo or 0.0)
    b = float(finite.max()) if hi is None and finite.size else float(hi if hi is not None
                                                                      else 1.0)
    if b <= a:
        b = a + 1.0
    return np.linspace(a, b, n_bins + 1)


def bin_labels(edges: np.ndarray) -> list[str]:
    """``[lo,hi)`` labels for consecutive edges (the last bin closed)."""
    last = len(edges) - 2
    return [f"[{edges[i]:.4g},{edges[i + 1]:.4g}{']' if i == last else ')'}"
            for i in range(len(edges) - 1)]


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value (``-1`` for missing or outside the edges)."""
    v = np.asarray(values, dtype=np.float64)
    idx = np.searchsorted(edges, v, side="right") - 1
    idx[v == edges[-1]] = len(edges) - 2
    bad = ~np.isfinite(v) | (idx < 0) | (idx > len(edges) - 2)
    idx[bad] = -1
    return idx
