"""Attribute levels the report analyses share: which attributes to analyse and each one's
rows as level codes (equal-width bins for numbers, values for the rest), and count tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from curator.stats import (
    AnalysisError,
    attribute_columns,
    bin_index,
    bin_labels,
    check_frame,
    equal_width_edges,
    label_codes,
)


def resolve_attributes(frame: pd.DataFrame, label: str, attributes: Sequence[str] | str | None,
                       notes: list[str]) -> tuple[list[str], list[str]]:
    """``(numeric, categorical)`` attributes to analyse: the given ones (checked), or every
    attribute column of ``frame`` (:func:`curator.stats.attribute_columns`)."""
    if attributes is None:
        return attribute_columns(frame, exclude=(label,))
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    check_frame(frame, names)
    if label in names:
        raise AnalysisError(f"attribute {label!r} is the label column; pass the other "
                            "attributes only")
    numeric: list[str] = []
    categorical: list[str] = []
    for name in names:
        col = frame[name]
        if col.notna().sum() == 0:
            notes.append(f"{name}: no values, skipped")
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            numeric.append(name)
        else:
            categorical.append(name)
    return numeric, categorical


@dataclass(frozen=True)
class AttributeLevels:
    """One attribute's rows as level codes: equal-width bins for numbers, sorted values for
    the rest; ``codes`` is ``-1`` where the attribute is missing."""

    name: str
    numeric: bool
    codes: np.ndarray
    names: list[str]
    edges: np.ndarray | None = None
    discrete: bool = False  # a number with few distinct values, levelled by value

    @property
    def kind(self) -> str:
        return "numeric" if self.numeric else "discrete" if self.discrete else "categorical"

    @property
    def present(self) -> np.ndarray:
        return self.codes >= 0

    def counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        c = self.codes if rows is None else self.codes[rows]
        return np.bincount(c[c >= 0], minlength=len(self.names))

    def bounds(self, first: int, last: int | None = None) -> tuple[float, float]:
        """``(lo, hi)`` of bins ``first..last`` (numeric attributes only)."""
        assert self.edges is not None
        return float(self.edges[first]), float(self.edges[(first if last is None else last)
                                                          + 1])

    def range_text(self, first: int, last: int | None = None) -> str:
        """``"[20,40)"`` for bins ``first..last`` (closed on the right for the last bin)."""
        if self.edges is None:
            return self.names[first]
        lo, hi = self.bounds(first, last)
        closing = "]" if (first if last is None else last) == len(self.names) - 1 else ")"
        return f"[{lo:.4g},{hi:.4g}{closing}"


def attribute_levels(col: pd.Series, n_bins: int, numeric: bool | None = None
                     ) -> AttributeLevels:
    """Level codes of ``col``: numbers in ``n_bins`` equal-width bins over their observed
    range, anything else by value."""
    if numeric is None:
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric:
        v = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
        edges = equal_width_edges(v, n_bins)
        return AttributeLevels(str(col.name), True, bin_index(v, edges), bin_labels(edges),
                               edges)
    codes, names = label_codes(col)
    return AttributeLevels(str(col.name), False, codes, names)


def value_levels(col: pd.Series) -> AttributeLevels:
    """A numeric column levelled by its distinct values (in numeric order)."""
    v = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
    finite = np.isfinite(v)
    values, found = np.unique(v[finite], return_inverse=True)
    codes = np.full(len(v), -1, np.int64)
    codes[finite] = found
    return AttributeLevels(str(col.name), False, codes, [f"{x:.4g}" for x in values],
                           discrete=True)


def count_table(col: pd.Series, name: str) -> pd.DataFrame:
    """``name, count, share`` per value of ``col`` (most frequent first, ties by value)."""
    counts = col.dropna().astype(str).value_counts()
    table = pd.DataFrame({name: counts.index.astype(str), "count": counts.to_numpy(np.int64)})
    table = table.sort_values(["count", name], ascending=[False, True], ignore_index=True)
    table["share"] = table["count"] / max(1, int(table["count"].sum()))
    return table
